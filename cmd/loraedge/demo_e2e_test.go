package main

import (
	"bufio"
	"context"
	"encoding/json"
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

// `make run` for 60 s (every scenario, 600x, the demo alert rules, as the
// Makefile starts it) raises no alert that resolves within its own repeat
// interval: the log shows only alerts the scenarios mean to raise, not
// rules that flap because data time and the daemon's clock are mixed.
func TestDemoRaisesNoFlappingAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 60 s")
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
	var logs syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := run(ctx, []string{"run", "--simulate", "--listen", "127.0.0.1:0", "--http", addr,
		"--data-dir", t.TempDir(), "--log-format", "json"},
		[]string{"LORAEDGE_HTTP_ADMIN_TOKEN=loraedge-demo-admin-token"}, io.Discard, &logs)
	require.NoError(t, err)

	const repeat = time.Hour // alert.repeat_interval's default, on the virtual clock
	firing := map[string]time.Time{}
	fired, stored := 0, 0
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Msg     string    `json:"msg"`
			AlertID string    `json:"alert_id"`
			At      time.Time `json:"at"`
			Values  string    `json:"values"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), sc.Text())
		switch l.Msg {
		case "stored":
			stored++
			assert.NotRegexp(t, `\de[+-]\d`, l.Values, "values in plain decimal")
		case "alert firing":
			fired++
			firing[l.AlertID] = l.At
		case "alert resolved":
			since, ok := firing[l.AlertID]
			if ok && l.At.Sub(since) < repeat {
				t.Errorf("%s fired at %s and resolved at %s, within the repeat interval", l.AlertID, since, l.At)
			}
			delete(firing, l.AlertID)
		}
	}
	require.NoError(t, sc.Err())
	assert.Greater(t, stored, 300, "the demo's devices sent data all along")
	assert.Positive(t, fired, "the winter night raises its ice warnings")
	t.Logf("%d uplinks stored, %d alerts fired", stored, fired)
}
