package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/roaming"
	"github.com/loraedge/loraedge/internal/testserver"
)

// An alert action on a device homed at a peer goes to that home: a CO2
// alert at a closes the valve homed at b; b queues "close" on the valve's
// downlink queue, and a's alert records b's answer. A request to b's
// action endpoint without valid credentials is refused and counted.
func TestCountyRemoteAction(t *testing.T) {
	nwk := lorawan.AES128Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	app := lorawan.AES128Key{0x3c, 0x4f, 0xcf, 0x09, 0x88, 0x15, 0xf7, 0xab, 0xa6, 0xd2, 0xae, 0x28, 0x16, 0x15, 0x7e, 0x2b}
	sensorAddr := lorawan.DevAddr{0x00, 0x00, 0x0a, 0x01} // in a's block
	valveAddr := lorawan.DevAddr{0x00, 0x40, 0x0b, 0x01}  // in b's block
	const valve = "70b3d57ed0000b01"                      // homed at b by the peer table
	hook := &iceHook{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	broker := testserver.StartMosquitto(t)
	nodes := startCounty(t, broker.URL(), map[string]string{
		"a": fmt.Sprintf("  - {dev_eui: \"70b3d57ed0000a01\", activation: abp, profile: elsys/ers-co2, dev_addr: %q, nwk_s_key: %q, app_s_key: %q}\n", sensorAddr, nwk, app),
		"b": fmt.Sprintf("  - {dev_eui: %q, activation: abp, profile: generic/valve-actuator, dev_addr: %q, nwk_s_key: %q, app_s_key: %q}\n", valve, valveAddr, nwk, app),
		"c": "  []\n",
	}, map[string]string{"a": fmt.Sprintf(`alert:
  enabled: true
  eval_interval: 50ms
  receivers: [{name: hausmeister, type: webhook, url: %q}]
  default_receivers: [hausmeister]
  rules: [{name: co2, kind: co2, select: {profiles: [elsys/ers-co2]}, action: {command: close, devices: [%q]}}]
`, srv.URL, valve)})
	a, b, c := nodes["a"], nodes["b"], nodes["c"]
	t.Cleanup(func() { a.d.stop(); b.d.stop(); c.d.stop() })

	payload := []byte{0x01, 0x00, 0xe2, 0x02, 0x29, 0x06, 0x08, 0x34} // Elsys: 22.6 degC, 41 %, 2100 ppm
	for fcnt := range uint32(2) {
		a.gw.push(abpUplink(t, sensorAddr, nwk, app, fcnt+1, false, payload), 2, (fcnt+1)*10_000_000)
		a.d.waitMetric(`loraedge_ingest_uplinks_total{result="stored"}`, float64(fcnt+1))
	}
	require.Eventually(t, func() bool {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		return len(hook.alerts) > 0
	}, 10*time.Second, 20*time.Millisecond, "a's CO2 alert")
	hook.mu.Lock()
	got := hook.alerts[0]
	hook.mu.Unlock()
	assert.Equal(t, "firing", got.Notification)
	assert.Equal(t, valve+":close:queued", got.ActionDone, "a's alert shows b's answer")
	b.d.waitMetric(`loraedge_roaming_requests_received_total{peer="a",result="queued",type="Action"}`, 1)
	// The valve's next uplink at b takes the close command (fport 20,
	// payload 00) in its RX1 window, through b's gateway.
	b.gw.push(abpUplink(t, valveAddr, nwk, app, 1, false, []byte{0x01}), 5, 50_000_000)
	var closes int
	for _, tx := range b.gw.downlinks(3 * time.Second) {
		var phy lorawan.PHYPayload
		require.NoError(t, phy.UnmarshalBinary(tx.Data))
		mac, ok := phy.MACPayload.(*lorawan.MACPayload)
		if !ok || mac.FPort == nil || *mac.FPort != 20 {
			continue
		}
		require.NoError(t, phy.DecryptFRMPayload(app))
		require.Len(t, mac.FRMPayload, 1)
		data, ok := mac.FRMPayload[0].(*lorawan.DataPayload)
		require.True(t, ok)
		assert.Equal(t, []byte{0x00}, data.Bytes, "close")
		closes++
	}
	assert.Equal(t, 1, closes, "b sends the close command to the valve")

	// Without a's client certificate and with a wrong token, b refuses.
	conf, err := os.ReadFile(b.file)
	require.NoError(t, err)
	m := regexp.MustCompile(`listen: "([^"]+)"`).FindSubmatch(conf)
	require.NotNil(t, m)
	body, _ := json.Marshal(roaming.ActionReq{SenderNSID: a.nsid, DevEUI: mustEUI(t, valve), Command: "open"})
	req, _ := http.NewRequest(http.MethodPost, "https://"+string(m[1])+roaming.ActionPath, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer not-the-token")
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // test of the refusal
	resp, err := cl.Do(req)
	require.NoError(t, err)
	var ans roaming.ActionAns
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ans))
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, roaming.ActionRefused, ans.Result)
	b.d.waitMetric(`loraedge_roaming_requests_refused_total{reason="unauthenticated"}`, 1)
	assert.Equal(t, 1.0, b.metric(t, `loraedge_roaming_requests_received_total{peer="a",result="queued",type="Action"}`), "the refused request queued nothing")
}

func mustEUI(t *testing.T, s string) lorawan.EUI64 {
	t.Helper()
	var e lorawan.EUI64
	require.NoError(t, e.UnmarshalText([]byte(s)))
	return e
}
