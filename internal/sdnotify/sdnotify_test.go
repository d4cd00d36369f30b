package sdnotify

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func listen(t *testing.T) (*net.UnixConn, string) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn, path
}

func read(t *testing.T, conn *net.UnixConn) string {
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(2*time.Second)))
	buf := make([]byte, 256)
	n, err := conn.Read(buf)
	require.NoError(t, err)
	return string(buf[:n])
}

func TestReadyAndStopping(t *testing.T) {
	conn, path := listen(t)
	t.Setenv("NOTIFY_SOCKET", path)
	n := New()
	require.True(t, n.Enabled())
	require.NoError(t, n.Ready())
	assert.Equal(t, "READY=1", read(t, conn))
	require.NoError(t, n.Stopping())
	assert.Equal(t, "STOPPING=1", read(t, conn))
}

func TestWatchdogOnlyWhileHealthy(t *testing.T) {
	conn, path := listen(t)
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "20000")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = New().Watchdog(ctx, func() error { return nil }) }()
	assert.Equal(t, "WATCHDOG=1", read(t, conn))
	cancel()

	conn2, path2 := listen(t)
	t.Setenv("NOTIFY_SOCKET", path2)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { _ = New().Watchdog(ctx2, func() error { return context.DeadlineExceeded }) }()
	require.NoError(t, conn2.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
	_, err := conn2.Read(make([]byte, 16))
	require.Error(t, err, "an unhealthy daemon sends no keep-alive")
}

func TestWithoutSystemdNothingHappens(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n := New()
	assert.False(t, n.Enabled())
	require.NoError(t, n.Ready())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	require.NoError(t, n.Watchdog(ctx, nil))
}
