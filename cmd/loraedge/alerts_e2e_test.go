package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// Under the simulator the daemon runs its demo alert rules: the winter
// night raises ice alerts at the road stations; `loraedge alerts` lists
// them, acknowledges one and silences a site through the API.
func TestAlertsCLIAgainstDaemon(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
	const token = "test-admin-token-0123456789"
	env := []string{"LORAEDGE_HTTP_ADMIN_TOKEN=" + token}
	defer runDaemon(t, []string{"--simulate", "--scenario", "winter-night", "--speed", "3000",
		"--listen", "127.0.0.1:0", "--http", addr, "--data-dir", t.TempDir(), "--log-level", "warn"}, env, nil)()

	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append(args, "--url", "http://"+addr), env, &out, io.Discard)
		return out.String(), err
	}
	var list string
	require.Eventually(t, func() bool {
		list, _ = cli("alerts", "list")
		return strings.Contains(list, "glaette/k23-bridge") && strings.Contains(list, "firing")
	}, 40*time.Second, 200*time.Millisecond, "an ice alert at the bridge")

	out, err := cli("alerts", "ack", "glaette/k23-bridge", "--by", "Meisterei Nord")
	require.NoError(t, err)
	assert.Contains(t, out, "acknowledged by Meisterei Nord")
	list, err = cli("alerts", "list", "--state", "acknowledged")
	require.NoError(t, err)
	assert.Contains(t, list, "glaette/k23-bridge")
	assert.Contains(t, list, "Meisterei Nord")

	out, err = cli("alerts", "silence", "--match", "site=k23-valley", "--for", "4h", "--comment", "Sensorwartung")
	require.NoError(t, err)
	assert.Contains(t, out, "silence ")
	_, err = cli("alerts", "ack", "no/such-alert", "--by", "x")
	require.ErrorContains(t, err, "404")
	_, err = cli("alerts", "silence", "--match", "site", "--for", "1h")
	require.ErrorContains(t, err, "label=value")
}
