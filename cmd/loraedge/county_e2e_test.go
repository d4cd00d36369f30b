package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/testserver"
)

// countyNode is one loraedge of a test county network with its packet
// forwarder.
type countyNode struct {
	name, nsid, token string
	file, dir         string
	d                 *e2eDaemon
	gw                *countyGateway
}

// countyGateway is a test packet forwarder that keeps its PULL_DATA path
// open, so it receives downlinks.
type countyGateway struct {
	t    *testing.T
	conn *net.UDPConn
	mac  lorawan.EUI64
	tok  uint16
}

func dialGateway(t *testing.T, addr string, mac lorawan.EUI64) *countyGateway {
	t.Helper()
	server, err := net.ResolveUDPAddr("udp", addr)
	require.NoError(t, err)
	c, err := net.DialUDP("udp", nil, server)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	g := &countyGateway{t: t, conn: c, mac: mac}
	g.send(&semtechudp.PullDataPacket{ProtocolVersion: 2, RandomToken: 1, GatewayMAC: mac})
	return g
}

func (g *countyGateway) send(p semtechudp.Packet) {
	b, err := p.MarshalBinary()
	require.NoError(g.t, err)
	_, err = g.conn.Write(b)
	require.NoError(g.t, err)
}

// push sends phy as heard with the given SNR at concentrator time tmst.
func (g *countyGateway) push(phy []byte, snr float64, tmst uint32) {
	g.tok++
	rx := semtechudp.RXPK{Tmst: tmst, Freq: 868.3, Chan: 1, Stat: 1, Modu: "LORA", DatR: semtechudp.DatR{LoRa: "SF9BW125"},
		CodR: "4/5", RSSI: -97, LSNR: snr, Size: uint16(len(phy)), Data: phy}
	g.send(&semtechudp.PushDataPacket{ProtocolVersion: 2, RandomToken: g.tok, GatewayMAC: g.mac,
		Payload: semtechudp.PushDataPayload{RXPK: []semtechudp.RXPK{rx}}})
}

// downlinks reads for wait and returns the PULL_RESPs, answering each
// with a TX_ACK.
func (g *countyGateway) downlinks(wait time.Duration) []semtechudp.TXPK {
	var out []semtechudp.TXPK
	buf := make([]byte, 65535)
	deadline := time.Now().Add(wait)
	for {
		_ = g.conn.SetReadDeadline(deadline)
		n, err := g.conn.Read(buf)
		if err != nil {
			return out
		}
		p, err := semtechudp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		if r, ok := p.(*semtechudp.PullRespPacket); ok {
			out = append(out, r.Payload.TXPK)
			g.send(&semtechudp.TxAckPacket{ProtocolVersion: 2, RandomToken: r.RandomToken, GatewayMAC: g.mac})
		}
	}
}

func tokenSum(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// startCounty starts three federated daemons a, b, c on loopback, each
// with its own packet forwarder, and the devices each is home of.
// extra[name], when given, is appended to that daemon's configuration.
func startCounty(t *testing.T, brokerURL string, devices map[string]string, extra ...map[string]string) map[string]*countyNode {
	t.Helper()
	dir := t.TempDir()
	ca := testserver.NewNodeCA(t, dir, "county-ca")
	names := []string{"a", "b", "c"}
	blocks := map[string]string{"a": "00000000/10", "b": "00400000/10", "c": "00800000/10"}
	homed := map[string]string{"b": `["70b3d57ed0000b01"]`, "c": `["70b3d57ed0000c01"]`, "a": `["70b3d57ed0000a01", "70b3d57ed0000a02", "70b3d57ed0000a03"]`}
	nodes := map[string]*countyNode{}
	var table strings.Builder
	table.WriteString("net_id: \"000000\"\npeers:\n")
	ports := map[string]int{}
	for i, n := range names {
		ports[n] = testserver.FreePort(t)
		node := &countyNode{name: n, nsid: fmt.Sprintf("0016c001ff1000%02x", i+1), token: "token-of-" + n, dir: filepath.Join(dir, n)}
		require.NoError(t, os.MkdirAll(node.dir, 0o700))
		nodes[n] = node
		fmt.Fprintf(&table, "  - {nsid: %q, name: %s, url: \"https://127.0.0.1:%d\", dev_addr_blocks: [%q], devices: %s, auth: {token_sha256: %q, ca_file: county-ca.pem}}\n",
			node.nsid, n, ports[n], blocks[n], homed[n], tokenSum(node.token))
	}
	peers := filepath.Join(dir, "peers.yaml")
	require.NoError(t, os.WriteFile(peers, []byte(table.String()), 0o600))
	for i, n := range names {
		node := nodes[n]
		_, certFile, keyFile := ca.Issue(t, node.nsid)
		node.file = filepath.Join(node.dir, "loraedge.yaml")
		require.NoError(t, os.WriteFile(node.file, []byte(fmt.Sprintf(`gateway_id: %s
# The home's dedup window must cover the forward window (20 ms) and a peer
# hop; 600 ms leaves room for a loaded test machine.
network: {duty_cycle: "off", dedup_window: 600ms}
mqtt: {enabled: true, url: %q}
roaming:
  enabled: true
  nsid: %q
  peers_file: %s
  listen: "127.0.0.1:%d"
  cert_file: %s
  key_file: %s
devices:
%s%s`, n, brokerURL, node.nsid, peers, ports[n], certFile, keyFile, devices[n], extraConfig(extra, n))), 0o600))
		node.d = startDaemon(t, node.file, node.dir, "LORAEDGE_ROAMING_TOKEN="+node.token)
		node.gw = dialGateway(t, node.d.udpAddr, lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, byte(i + 1)})
	}
	return nodes
}

func (n *countyNode) metric(t *testing.T, name string) float64 {
	t.Helper()
	v, err := n.d.metric(name)
	require.NoError(t, err)
	return v
}

// Three loraedge daemons on loopback make one network: an ABP device of b
// heard by all three gateways is stored once, at b; a confirmed uplink is
// ACKed once, through the gateway with the best SNR even when that is a
// peer's; a join request of c's device heard only by a's gateway gets one
// join-accept, through a's gateway; a forged and a replayed forwarded frame
// are rejected and counted; while b is down a keeps b's frames and
// delivers them when b is back, none twice; MQTT carries each measurement
// once, from the home.
func TestCountyNetwork(t *testing.T) {
	nwk := lorawan.AES128Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	app := lorawan.AES128Key{0x3c, 0x4f, 0xcf, 0x09, 0x88, 0x15, 0xf7, 0xab, 0xa6, 0xd2, 0xae, 0x28, 0x16, 0x15, 0x7e, 0x2b}
	appKey := lorawan.AES128Key{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	abpAddr := lorawan.DevAddr{0x00, 0x40, 0x0b, 0x01} // in b's block
	otaaEUI, joinEUI := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x0c, 0x01}, lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 0}
	broker := testserver.StartMosquitto(t)
	var mu sync.Mutex
	published := map[string][]string{} // measurement id -> topics
	mc := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("county-observer"))
	require.True(t, mc.Connect().WaitTimeout(5*time.Second))
	defer mc.Disconnect(100)
	require.True(t, mc.Subscribe("loraedge/+/device/+/measurement", 1, func(_ paho.Client, m paho.Message) {
		var v struct{ ID string }
		if json.Unmarshal(m.Payload(), &v) == nil {
			mu.Lock()
			published[v.ID] = append(published[v.ID], m.Topic())
			mu.Unlock()
		}
	}).WaitTimeout(5*time.Second))
	nodes := startCounty(t, broker.URL(), map[string]string{
		"a": "  []\n",
		"b": fmt.Sprintf("  - {dev_eui: \"70b3d57ed0000b01\", activation: abp, profile: elsys/ers-co2, dev_addr: %q, nwk_s_key: %q, app_s_key: %q}\n", abpAddr, nwk, app),
		"c": fmt.Sprintf("  - {dev_eui: %q, activation: otaa, mac_version: \"1.0.3\", profile: elsys/ers-co2, join_eui: %q, app_key: %q}\n", otaaEUI, joinEUI, appKey),
	})
	a, b, c := nodes["a"], nodes["b"], nodes["c"]
	t.Cleanup(func() { a.d.stop(); c.d.stop() })
	payload := []byte{0x01, 0x00, 0xe2, 0x02, 0x29, 0x06, 0x01, 0x90} // Elsys: 22.6 degC, 41 %, 400 ppm
	const (
		ok        = `loraedge_network_uplinks_total{result="ok"}`
		forwarded = `loraedge_network_uplinks_total{result="forwarded"}`
	)

	// Heard by all three gateways: stored once, at b.
	frame := abpUplink(t, abpAddr, nwk, app, 1, false, payload)
	a.gw.push(frame, 2, 1_000_000)
	b.gw.push(frame, 1, 1_000_000)
	c.gw.push(frame, 3, 1_000_000)
	b.d.waitMetric(ok, 1)
	a.d.waitMetric(forwarded, 1)
	c.d.waitMetric(forwarded, 1)
	b.d.waitMetric(`loraedge_roaming_frames_received_total{peer="a",result="ok"}`, 1)
	b.d.waitMetric(`loraedge_roaming_frames_received_total{peer="c",result="ok"}`, 1)
	assert.Zero(t, a.metric(t, ok))
	assert.Zero(t, c.metric(t, ok))
	b.d.waitMetric(`loraedge_ingest_uplinks_total{result="stored"}`, 1)
	// b's MAC commands for the new ABP session (RXTimingSetupReq for the
	// county's RX delay, ...) go once, through c's gateway, which heard best.
	gotC := c.gw.downlinks(2 * time.Second)
	require.Len(t, gotC, 1)
	assert.Equal(t, uint32(2_000_000), *gotC[0].Tmst, "RX1 of an ABP device: 1 s")
	assert.Empty(t, a.gw.downlinks(100*time.Millisecond))
	assert.Empty(t, b.gw.downlinks(100*time.Millisecond))

	// Confirmed, best heard by a's gateway: one ACK, through a's gateway,
	// at a's counter plus the RX1 delay (an ABP device starts with the
	// band's 1 s until it accepts the county's RXTimingSetupReq).
	frame = abpUplink(t, abpAddr, nwk, app, 2, true, payload)
	a.gw.push(frame, 9, 5_000_000)
	b.gw.push(frame, -4, 7_000_000)
	b.d.waitMetric(ok, 2)
	gotA, gotB := a.gw.downlinks(3*time.Second), b.gw.downlinks(200*time.Millisecond)
	gotC = c.gw.downlinks(100 * time.Millisecond)
	require.Len(t, gotA, 1, "one ACK through the best gateway")
	assert.Empty(t, gotB)
	assert.Empty(t, gotC)
	assert.Equal(t, uint32(6_000_000), *gotA[0].Tmst)
	var down lorawan.PHYPayload
	require.NoError(t, down.UnmarshalBinary(gotA[0].Data))
	valid, err := down.ValidateDownlinkDataMIC(lorawan.LoRaWAN1_0, 0, nwk)
	require.NoError(t, err)
	require.True(t, valid)
	assert.True(t, down.MACPayload.(*lorawan.MACPayload).FHDR.FCtrl.ACK)
	b.d.waitMetric(`loraedge_roaming_requests_sent_total{peer="a",result="Success",type="XmitDataReq"}`, 1)
	checkCountyFrameLog(t, a, b, abpAddr, "70b3d57ed0000b01")

	// A join request of c's device heard only by a's gateway: one
	// join-accept, through a's gateway, JOIN_ACCEPT_DELAY1 after it.
	a.gw.push(joinRequest(t, appKey, joinEUI, otaaEUI, 0x1234), 5, 20_000_000)
	c.d.waitMetric(`loraedge_network_joins_total{result="ok"}`, 1)
	gotA = a.gw.downlinks(3 * time.Second)
	require.Len(t, gotA, 1)
	assert.Equal(t, byte(0x20), gotA[0].Data[0], "MHDR of a join-accept")
	assert.Equal(t, uint32(25_000_000), *gotA[0].Tmst)
	assert.Empty(t, b.gw.downlinks(100*time.Millisecond))
	assert.Empty(t, c.gw.downlinks(100*time.Millisecond))
	assert.Equal(t, 1.0, a.metric(t, `loraedge_network_joins_total{result="forwarded"}`))

	// A forged frame and a replay, forwarded by a: rejected at b, counted.
	forged := abpUplink(t, abpAddr, nwk, app, 3, false, payload)
	forged[len(forged)-1] ^= 0xff
	a.gw.push(forged, 5, 30_000_000)
	a.gw.push(abpUplink(t, abpAddr, nwk, app, 1, false, payload), 5, 31_000_000)
	b.d.waitMetric(`loraedge_roaming_frames_received_total{peer="a",result="mic_invalid"}`, 1)
	b.d.waitMetric(`loraedge_roaming_frames_received_total{peer="a",result="replay"}`, 1)
	assert.Equal(t, 2.0, b.metric(t, ok), "nothing injected")

	// b is down: a keeps its frames; b back: they arrive, none twice.
	b.d.stop()
	for n := uint32(3); n <= 5; n++ {
		a.gw.push(abpUplink(t, abpAddr, nwk, app, n, false, payload), 5, 40_000_000+n)
	}
	a.d.waitMetric(`loraedge_roaming_queue_depth{peer="b"}`, 3)
	b.d = startDaemonOn(t, b.file, b.dir, b.d.udpAddr, "LORAEDGE_ROAMING_TOKEN="+b.token)
	t.Cleanup(b.d.stop)
	b.d.waitMetricWithin(`loraedge_network_uplinks_total{result="ok"}`, 3, 10*time.Second)
	a.d.waitMetric(`loraedge_roaming_queue_depth{peer="b"}`, 0)
	a.gw.push(abpUplink(t, abpAddr, nwk, app, 5, false, payload), 5, 50_000_000) // once more
	b.d.waitMetric(`loraedge_roaming_frames_received_total{peer="a",result="retransmission"}`, 1)
	assert.Equal(t, 3.0, b.metric(t, ok), "after the restart: the three queued frames, once")
	assert.Empty(t, b.gw.downlinks(100*time.Millisecond), "no late downlink")

	// MQTT: each of the five stored uplinks' three measurements once, from
	// the home only.
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(published) >= 15 }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show
	mu.Lock()
	assert.Len(t, published, 15)
	for id, topics := range published {
		assert.Equal(t, []string{"loraedge/b/device/70b3d57ed0000b01/measurement"}, topics, id)
	}
	mu.Unlock()

	// The peers API: every instance, a's figures for b, no secrets.
	req, _ := http.NewRequest("GET", "http://"+a.d.http+"/api/v1/peers", nil)
	req.Header.Set("Authorization", "Bearer "+a.d.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var peers []struct {
		Name  string `json:"name"`
		Self  bool   `json:"self"`
		Sent  uint64 `json:"requests_sent"`
		Queue int    `json:"queue_depth"`
	}
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(body, &peers), "%s", body)
	require.Len(t, peers, 3)
	assert.True(t, peers[0].Self)
	assert.Equal(t, "b", peers[1].Name)
	assert.GreaterOrEqual(t, peers[1].Sent, uint64(6))
	assert.Zero(t, peers[1].Queue)
	assert.NotContains(t, string(body), tokenSum(b.token))
}

// abpUplink builds a data uplink of an ABP device.
func abpUplink(t *testing.T, addr lorawan.DevAddr, nwk, app lorawan.AES128Key, fcnt uint32, confirmed bool, payload []byte) []byte {
	t.Helper()
	mtype := lorawan.UnconfirmedDataUp
	if confirmed {
		mtype = lorawan.ConfirmedDataUp
	}
	fport := uint8(2)
	phy := lorawan.PHYPayload{MHDR: lorawan.MHDR{MType: mtype, Major: lorawan.LoRaWANR1}, MACPayload: &lorawan.MACPayload{
		FHDR: lorawan.FHDR{DevAddr: addr, FCnt: fcnt}, FPort: &fport,
		FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: append([]byte(nil), payload...)}}}}
	require.NoError(t, phy.EncryptFRMPayload(app))
	require.NoError(t, phy.SetUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, nwk, nwk))
	b, err := phy.MarshalBinary()
	require.NoError(t, err)
	return b
}

func (d *e2eDaemon) waitMetricWithin(name string, want float64, wait time.Duration) {
	d.t.Helper()
	var got float64
	if !assert.Eventually(d.t, func() bool { got, _ = d.metric(name); return got == want }, wait, 20*time.Millisecond) {
		d.t.Fatalf("%s = %v, want %v", name, got, want)
	}
}
