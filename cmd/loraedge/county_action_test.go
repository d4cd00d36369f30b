package main

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/roaming"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/testserver"
)

// countyKeys are the session keys of the ABP devices of the action tests.
var countyKeys = struct{ nwk, app lorawan.AES128Key }{
	nwk: lorawan.AES128Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c},
	app: lorawan.AES128Key{0x3c, 0x4f, 0xcf, 0x09, 0x88, 0x15, 0xf7, 0xab, 0xa6, 0xd2, 0xae, 0x28, 0x16, 0x15, 0x7e, 0x2b},
}

// The leak rule at a closes the valve homed at b. The action goes through
// a's outbox to b, which queues "close" once as a confirmed downlink; the
// valve's next uplink takes it, the one after ACKs it, and a's alert ends
// with the action acknowledged by the device, which a notifies. With b down (its port a
// black hole), the next leak's action waits in a's outbox while a's other
// alerts fire on time; b back, it is delivered once and acknowledged. A
// request to b's action endpoint without valid credentials is refused and
// counted.
func TestCountyRemoteAction(t *testing.T) {
	meter1, meter2, co2 := lorawan.DevAddr{0x00, 0x00, 0x0a, 0x01}, lorawan.DevAddr{0x00, 0x00, 0x0a, 0x02}, lorawan.DevAddr{0x00, 0x00, 0x0a, 0x03}
	valveAddr := lorawan.DevAddr{0x00, 0x40, 0x0b, 0x01} // in b's block
	const valve = "70b3d57ed0000b01"                     // homed at b by the peer table
	abp := func(eui, profile string, addr lorawan.DevAddr) string {
		return fmt.Sprintf("  - {dev_eui: %q, activation: abp, profile: %s, dev_addr: %q, nwk_s_key: %q, app_s_key: %q}\n",
			eui, profile, addr, countyKeys.nwk, countyKeys.app)
	}
	hook := &iceHook{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	broker := testserver.StartMosquitto(t)
	// zero_hour_in 1s: water flowing for more than a second is a leak, so
	// two meter readings 1.2 s apart raise it.
	nodes := startCounty(t, broker.URL(), map[string]string{
		"a": abp("70b3d57ed0000a01", "milesight/em300-di", meter1) + abp("70b3d57ed0000a02", "milesight/em300-di", meter2) +
			abp("70b3d57ed0000a03", "elsys/ers-co2", co2),
		"b": abp(valve, "generic/valve-actuator", valveAddr),
		"c": "  []\n",
	}, map[string]string{"a": fmt.Sprintf(`alert:
  enabled: true
  eval_interval: 50ms
  receivers: [{name: hausmeister, type: webhook, url: %q}]
  default_receivers: [hausmeister]
  rules:
    - {name: leak, kind: leak, select: {profiles: [milesight/em300-di]}, zero_hour_in: 1s, action: {command: close, devices: [%q], confirmed: true}}
    - {name: co2, kind: co2, select: {profiles: [elsys/ers-co2]}}
`, srv.URL, valve)})
	a, b, c := nodes["a"], nodes["b"], nodes["c"]
	t.Cleanup(func() { a.d.stop(); b.d.stop(); c.d.stop() })
	var fcnt sync.Map // per DevAddr
	up := func(n *countyNode, addr lorawan.DevAddr, port uint8, payload []byte, ack bool) {
		v, _ := fcnt.LoadOrStore(addr, new(uint32))
		f := v.(*uint32)
		*f++
		n.gw.push(deviceUplink(t, addr, *f, port, payload, ack), 5, *f*10_000_000)
	}
	leak := func(addr lorawan.DevAddr) {
		up(a, addr, 85, pulses(1000), false)
		time.Sleep(1200 * time.Millisecond)
		up(a, addr, 85, pulses(1060), false)
	}
	// closeAndAck has the valve take the close command at its next uplink
	// and ACK it at the one after.
	closeAndAck := func() {
		t.Helper()
		up(b, valveAddr, 20, []byte{0x01, 0x0e, 0x10}, false)
		var closes int
		for _, tx := range b.gw.downlinks(3 * time.Second) {
			var phy lorawan.PHYPayload
			require.NoError(t, phy.UnmarshalBinary(tx.Data))
			mac, ok := phy.MACPayload.(*lorawan.MACPayload)
			if !ok || mac.FPort == nil || *mac.FPort != 20 {
				continue
			}
			assert.Equal(t, lorawan.ConfirmedDataDown, phy.MHDR.MType, "the action asks for an ACK")
			require.NoError(t, phy.DecryptFRMPayload(countyKeys.app))
			require.Len(t, mac.FRMPayload, 1)
			data, ok := mac.FRMPayload[0].(*lorawan.DataPayload)
			require.True(t, ok)
			assert.Equal(t, []byte{0x00}, data.Bytes, "close")
			closes++
		}
		require.Equal(t, 1, closes, "b sends the close command to the valve")
		up(b, valveAddr, 20, []byte{0x00, 0x0e, 0x10}, true)
	}

	leak(meter1)
	leak1 := "leak/70b3d57ed0000a01"
	waitAction(t, a, leak1, notify.ActionQueued)
	b.d.waitMetric(`loraedge_roaming_action_requests_total{kind="new",peer="a"}`, 1)
	closeAndAck()
	got := waitAction(t, a, leak1, notify.ActionAcknowledged)
	assert.Equal(t, "b", got.Peer)
	assert.Equal(t, valve, got.Device)
	a.d.waitMetric(`loraedge_roaming_action_outbox{peer="b"}`, 0)
	assert.Equal(t, 1.0, b.metric(t, `loraedge_roaming_action_requests_total{kind="new",peer="a"}`), "queued once, however often a asked")
	require.Eventually(t, func() bool {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		return len(hook.alerts) > 0
	}, 10*time.Second, 20*time.Millisecond, "a's leak alert")
	hook.mu.Lock()
	first := hook.alerts[0]
	hook.mu.Unlock()
	assert.Equal(t, valve+":close:pending", first.ActionDone, "the firing notification does not wait for b")
	assert.Contains(t, first.Text, "close → "+valve+": wartet auf die Verbindung zum Heimat-Gateway (über b)")
	require.Eventually(t, func() bool {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		return slices.ContainsFunc(hook.alerts, func(n notify.WebhookAlert) bool {
			return n.ID == leak1 && strings.Contains(n.Text, "close → "+valve+": ausgeführt (vom Gerät bestätigt) (über b)")
		})
	}, 10*time.Second, 20*time.Millisecond, "the valve's ACK is notified")

	// b down, its port a black hole that never answers.
	roamingAddr := listenAddr(t, b.file)
	b.d.stop()
	hole := blackHole(t, roamingAddr)
	leak(meter2)
	leak2 := "leak/70b3d57ed0000a02"
	waitAction(t, a, leak2, notify.ActionPending)
	a.d.waitMetric(`loraedge_roaming_action_outbox{peer="b"}`, 1)
	sent := time.Now()
	up(a, co2, 5, []byte{0x01, 0x00, 0xe2, 0x02, 0x29, 0x06, 0x08, 0x34}, false) // Elsys: 2100 ppm
	waitAlert(t, a, "co2/70b3d57ed0000a03:co2", 1800*time.Millisecond)
	t.Logf("CO2 alert %v after its uplink, with b silent", time.Since(sent))
	assert.Equal(t, notify.ActionPending, alertOf(t, a, leak2).Actions[0].State, "still waiting for b")

	hole.close()
	b.d = startDaemonOn(t, b.file, b.dir, b.d.udpAddr, "LORAEDGE_ROAMING_TOKEN="+b.token)
	t.Cleanup(b.d.stop)
	b.gw.send(&semtechudp.PullDataPacket{ProtocolVersion: 2, RandomToken: 2, GatewayMAC: b.gw.mac})
	b.d.waitMetricWithin(`loraedge_roaming_action_requests_total{kind="new",peer="a"}`, 1, 20*time.Second)
	waitAction(t, a, leak2, notify.ActionQueued)
	closeAndAck()
	waitAction(t, a, leak2, notify.ActionAcknowledged)
	a.d.waitMetric(`loraedge_roaming_action_outbox{peer="b"}`, 0)
	assert.Equal(t, 1.0, b.metric(t, `loraedge_roaming_action_requests_total{kind="new",peer="a"}`), "delivered once")
	assert.Zero(t, b.metric(t, `loraedge_roaming_action_requests_total{kind="requeued",peer="a"}`))
	assert.Equal(t, notify.ActionAcknowledged, alertOf(t, a, leak1).Actions[0].State, "the first action keeps its outcome")

	// Without a's client certificate and with a wrong token, b refuses.
	body, _ := json.Marshal(roaming.ActionReq{SenderNSID: a.nsid, DevEUI: mustEUI(t, valve), Command: "open"})
	req, _ := http.NewRequest(http.MethodPost, "https://"+roamingAddr+roaming.ActionPath, bytes.NewReader(body))
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
	assert.Equal(t, 1.0, b.metric(t, `loraedge_roaming_action_requests_total{kind="new",peer="a"}`), "the refused request queued nothing")
}

// deviceUplink builds a data uplink of an ABP device of the action tests
// on port, with the ACK bit when ack.
func deviceUplink(t *testing.T, addr lorawan.DevAddr, fcnt uint32, port uint8, payload []byte, ack bool) []byte {
	t.Helper()
	phy := lorawan.PHYPayload{MHDR: lorawan.MHDR{MType: lorawan.UnconfirmedDataUp, Major: lorawan.LoRaWANR1}, MACPayload: &lorawan.MACPayload{
		FHDR: lorawan.FHDR{DevAddr: addr, FCnt: fcnt, FCtrl: lorawan.FCtrl{ACK: ack}}, FPort: &port,
		FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: payload}}}}
	require.NoError(t, phy.EncryptFRMPayload(countyKeys.app))
	require.NoError(t, phy.SetUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, countyKeys.nwk, countyKeys.nwk))
	b, err := phy.MarshalBinary()
	require.NoError(t, err)
	return b
}

// pulses is an EM300-DI uplink with the pulse counter at n.
func pulses(n uint32) []byte {
	return binary.LittleEndian.AppendUint32([]byte{0x05, 0xc8}, n)
}

// alertOf reads one alert from the node's alert API; zero when absent.
func alertOf(t *testing.T, n *countyNode, id string) alert.Alert {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+n.d.http+"/api/v1/alerts", nil)
	req.Header.Set("Authorization", "Bearer "+n.d.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var v struct{ Alerts []alert.Alert }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	for _, a := range v.Alerts {
		if a.ID == id {
			return a
		}
	}
	return alert.Alert{}
}

// waitAction waits until the alert's first action target is in state and
// returns it.
func waitAction(t *testing.T, n *countyNode, id, state string) notify.ActionTarget {
	t.Helper()
	var last []notify.ActionTarget
	ok := assert.Eventually(t, func() bool {
		last = alertOf(t, n, id).Actions
		return len(last) == 1 && last[0].State == state
	}, 20*time.Second, 20*time.Millisecond)
	if !ok {
		t.Fatalf("%s: actions %+v, want %s", id, last, state)
	}
	return last[0]
}

func waitAlert(t *testing.T, n *countyNode, id string, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return alertOf(t, n, id).State == alert.StateFiring }, within, 10*time.Millisecond, "%s firing", id)
}

// listenAddr is the roaming listen address of a daemon's configuration.
func listenAddr(t *testing.T, file string) string {
	t.Helper()
	conf, err := os.ReadFile(file)
	require.NoError(t, err)
	m := regexp.MustCompile(`listen: "([^"]+)"`).FindSubmatch(conf)
	require.NotNil(t, m)
	return string(m[1])
}

// hole accepts connections and never answers, as a peer whose backhaul
// stalls.
type hole struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

func blackHole(t *testing.T, addr string) *hole {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	h := &hole{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	t.Cleanup(h.close)
	return h
}

func (h *hole) close() {
	_ = h.ln.Close()
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		_ = c.Close()
	}
	h.conns = nil
}

func mustEUI(t *testing.T, s string) lorawan.EUI64 {
	t.Helper()
	var e lorawan.EUI64
	require.NoError(t, e.UnmarshalText([]byte(s)))
	return e
}
