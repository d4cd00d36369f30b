package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// TestRunWritesScheduledReports: with energy_schedule.monthly on, the
// daemon writes last month's report into <data_dir>/reports at start
// and the API lists and serves it.
func TestRunWritesScheduledReports(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
	const token = "test-admin-token-0123456789"
	dir := t.TempDir()
	conf := filepath.Join(dir, "loraedge.yaml")
	require.NoError(t, os.WriteFile(conf, []byte("energy_schedule:\n  monthly: true\n  language: en\n"), 0o600))
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var out, errw bytes.Buffer
		done <- run(ctx, []string{"run", "-c", conf, "--listen", "127.0.0.1:0", "--http", addr, "--data-dir", data, "--log-level", "warn"},
			[]string{"LORAEDGE_HTTP_ADMIN_TOKEN=" + token}, &out, &errw)
	}()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	get := apiGet(t, addr, token)
	now := time.Now()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.Local)
	if now.Day() == 1 && now.Hour() < 7 {
		month = month.AddDate(0, -1, 0) // around the due hour either month may be the last
	}
	name := "energiebericht-" + month.AddDate(0, -1, 0).Format("2006-01") + ".pdf"
	require.Eventually(t, func() bool {
		code, body := get("/api/v1/reports/scheduled")
		return code == http.StatusOK && bytes.Contains([]byte(body), []byte(name))
	}, 30*time.Second, 100*time.Millisecond, "last month's report listed")
	code, body := get("/api/v1/reports/scheduled/" + name)
	require.Equal(t, http.StatusOK, code)
	assert.True(t, bytes.HasPrefix([]byte(body), []byte("%PDF-")))
	_, err := os.Stat(filepath.Join(data, "reports", name))
	assert.NoError(t, err)
}

// apiGet returns a GET with the bearer token against the daemon at addr:
// the status and body, or 0 and the error while it is not up.
func apiGet(t *testing.T, addr, token string) func(path string) (int, string) {
	return func(path string) (int, string) {
		req, err := http.NewRequest("GET", "http://"+addr+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}
