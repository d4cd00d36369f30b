package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// The daemon with the simulator forwards what it stores to a real
// InfluxDB 1.8: road stations' surface temperatures arrive as the
// road_weather measurement, tagged with device and (influx.gateway_tag on)
// gateway.
func TestDaemonForwardsToInfluxDB(t *testing.T) {
	db := testserver.StartInfluxDB(t)
	var logs syncBuffer
	defer runDaemon(t, []string{"--simulate", "--scenario", "winter-night", "--speed", "3000",
		"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "warn"},
		[]string{"LORAEDGE_GATEWAY_ID=rathaus", "LORAEDGE_INFLUX_ENABLED=true", "LORAEDGE_INFLUX_GATEWAY_TAG=true", "LORAEDGE_INFLUX_URL=" + db.URL,
			"LORAEDGE_INFLUX_BUCKET=" + db.Bucket}, &logs)()

	count := func() float64 {
		q := url.Values{"db": {db.Database}, "q": {`SELECT count(road_surface_temperature) FROM road_weather WHERE gateway = 'rathaus'`}}
		resp, err := http.Get(db.URL + "/query?" + q.Encode())
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		var out struct {
			Results []struct {
				Series []struct{ Values [][]any }
			}
		}
		if json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Results) == 0 || len(out.Results[0].Series) == 0 {
			return 0
		}
		v, _ := out.Results[0].Series[0].Values[0][1].(float64)
		return v
	}
	require.Eventually(t, func() bool { return count() >= 6 }, 30*time.Second, 200*time.Millisecond,
		"surface temperatures in InfluxDB; logs:\n%s", logs.String())
}
