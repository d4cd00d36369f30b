package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// extraConfig is startCounty's extra configuration of daemon n.
func extraConfig(extra []map[string]string, n string) string {
	if len(extra) == 0 {
		return ""
	}
	return extra[0][n]
}

// countyHooks are one webhook per daemon, at the path of its name.
type countyHooks map[string]*iceHook

func (h countyHooks) count() map[string]int {
	out := map[string]int{}
	for from, hook := range h {
		hook.mu.Lock()
		if n := len(hook.alerts); n > 0 {
			out[from] = n
		}
		hook.mu.Unlock()
	}
	return out
}

// Each alert is raised once in the county network: a classroom CO2 sensor
// homed at b, heard by all three gateways, crosses 2000 ppm twice; every
// daemon has the same CO2 rule and a webhook, yet the alert fires once, at
// b, and the forwarders a and c raise nothing.
func TestCountyAlertOnce(t *testing.T) {
	nwk := lorawan.AES128Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	app := lorawan.AES128Key{0x3c, 0x4f, 0xcf, 0x09, 0x88, 0x15, 0xf7, 0xab, 0xa6, 0xd2, 0xae, 0x28, 0x16, 0x15, 0x7e, 0x2b}
	addr := lorawan.DevAddr{0x00, 0x40, 0x0b, 0x02} // in b's block
	hook := countyHooks{}
	mux := http.NewServeMux()
	alerting := map[string]string{}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, n := range []string{"a", "b", "c"} {
		hook[n] = &iceHook{}
		mux.Handle("/"+n, hook[n])
		alerting[n] = fmt.Sprintf(`alert:
  enabled: true
  eval_interval: 50ms
  retry_min: 10ms
  retry_max: 100ms
  receivers: [{name: hausmeister, type: webhook, url: "%s/%s"}]
  default_receivers: [hausmeister]
  rules: [{name: co2, kind: co2, select: {profiles: [elsys/ers-co2]}}]
`, srv.URL, n)
	}
	broker := testserver.StartMosquitto(t)
	nodes := startCounty(t, broker.URL(), map[string]string{
		"a": "  []\n",
		"b": fmt.Sprintf("  - {dev_eui: \"70b3d57ed0000b01\", activation: abp, profile: elsys/ers-co2, dev_addr: %q, nwk_s_key: %q, app_s_key: %q}\n", addr, nwk, app),
		"c": "  []\n",
	}, alerting)
	a, b, c := nodes["a"], nodes["b"], nodes["c"]
	t.Cleanup(func() { a.d.stop(); b.d.stop(); c.d.stop() })

	payload := []byte{0x01, 0x00, 0xe2, 0x02, 0x29, 0x06, 0x08, 0x34} // Elsys: 22.6 degC, 41 %, 2100 ppm
	for fcnt := range uint32(2) {
		frame := abpUplink(t, addr, nwk, app, fcnt+1, false, payload)
		tmst := (fcnt + 1) * 10_000_000
		a.gw.push(frame, 2, tmst)
		b.gw.push(frame, 1, tmst)
		c.gw.push(frame, 3, tmst)
		b.d.waitMetric(`loraedge_ingest_uplinks_total{result="stored"}`, float64(fcnt+1))
	}
	a.d.waitMetric(`loraedge_network_uplinks_total{result="forwarded"}`, 2)
	c.d.waitMetric(`loraedge_network_uplinks_total{result="forwarded"}`, 2)
	require.Eventually(t, func() bool { return hook.count()["b"] >= 1 }, 10*time.Second, 20*time.Millisecond, "b's CO2 alert")
	time.Sleep(500 * time.Millisecond) // ten evaluation rounds: room for a second alert to show
	assert.Equal(t, map[string]int{"b": 1}, hook.count(), "one alert, from the home only")
	hook["b"].mu.Lock()
	got := hook["b"].alerts[0]
	hook["b"].mu.Unlock()
	assert.Equal(t, "firing", got.Notification)
	assert.Equal(t, "co2", got.Kind)
	assert.InDelta(t, 2100, got.Value, 0.5)
}
