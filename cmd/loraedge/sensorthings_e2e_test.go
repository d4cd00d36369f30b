package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// The daemon with the simulator's winter night delivers the road stations'
// measurements to a SensorThings server, with a Thing per device placed at
// its site's Location.
func TestDaemonForwardsToSensorThings(t *testing.T) {
	srv := testserver.StartSensorThings(t, "1.1")
	srv.User, srv.Password = "loraedge", "platform-secret"
	var logs syncBuffer
	defer runDaemon(t, []string{"--simulate", "--scenario", "winter-night", "--speed", "3000",
		"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "warn"},
		[]string{"LORAEDGE_SENSORTHINGS_ENABLED=true", "LORAEDGE_SENSORTHINGS_URL=" + srv.URL,
			"LORAEDGE_SENSORTHINGS_USERNAME=loraedge", "LORAEDGE_SENSORTHINGS_PASSWORD=platform-secret",
			"LORAEDGE_SENSORTHINGS_FLUSH_INTERVAL=100ms"}, &logs)()

	surface := func() int {
		n := 0
		names := map[int]bool{}
		for _, ds := range srv.Entities("Datastreams") {
			if strings.HasSuffix(ds["name"].(string), " road_surface_temperature") {
				names[ds["@iot.id"].(int)] = true
			}
		}
		for id, list := range srv.Observations() {
			if names[id] {
				n += len(list)
			}
		}
		return n
	}
	require.Eventually(t, func() bool { return surface() >= 6 }, 30*time.Second, 200*time.Millisecond,
		"surface temperatures on the server; logs:\n%s", logs.String())
	things := srv.Entities("Things")
	require.NotEmpty(t, things)
	for _, th := range things {
		p := th["properties"].(map[string]any)
		assert.NotEmpty(t, p["site"], "simulated devices have sites")
		assert.NotEmpty(t, p["profile"])
	}
	assert.NotEmpty(t, srv.Entities("Locations"))
	assert.Len(t, srv.Entities("HistoricalLocations"), len(things), "one per Thing placed at its site")
}
