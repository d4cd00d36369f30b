package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/testserver"
)

// e2eDaemon runs the daemon from a configuration file with its UDP and
// HTTP ports known, until stop is called.
type e2eDaemon struct {
	t       *testing.T
	udpAddr string
	http    string
	token   string
	stop    func() // ends the daemon and checks it ended without an error
}

func startDaemon(t *testing.T, file, dataDir string, extraEnv ...string) *e2eDaemon {
	t.Helper()
	return startDaemonOn(t, file, dataDir, net.JoinHostPort("127.0.0.1", strconv.Itoa(freeUDPPort(t))), extraEnv...)
}

// startDaemonOn is startDaemon on a given UDP address, so that a restarted
// daemon is found by packet forwarders that keep sending to it.
func startDaemonOn(t *testing.T, file, dataDir, udpAddr string, extraEnv ...string) *e2eDaemon {
	t.Helper()
	d := &e2eDaemon{t: t, token: "test-admin-token-0123456789", udpAddr: udpAddr,
		http: net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))}
	d.stop = runDaemon(t, []string{"-c", file, "--listen", d.udpAddr, "--http", d.http, "--data-dir", dataDir, "--log-level", "error"},
		append([]string{"LORAEDGE_HTTP_ADMIN_TOKEN=" + d.token}, extraEnv...), nil)
	require.Eventually(t, func() bool { _, err := d.metric(""); return err == nil }, 10*time.Second, 20*time.Millisecond)
	return d
}

// metric returns the value of one metric line, e.g.
// `loraedge_network_uplinks_total{result="ok"}`; 0 if absent.
func (d *e2eDaemon) metric(name string) (float64, error) {
	req, _ := http.NewRequest("GET", "http://"+d.http+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok && name != "" {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, sc.Err()
}

func (d *e2eDaemon) waitMetric(name string, want float64) {
	d.t.Helper()
	var got float64
	ok := assert.Eventually(d.t, func() bool { got, _ = d.metric(name); return got == want }, 5*time.Second, 10*time.Millisecond)
	if !ok {
		d.t.Fatalf("%s = %v, want %v", name, got, want)
	}
}

func freeUDPPort(t *testing.T) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// gatewayConn is a test packet forwarder.
type gatewayConn struct {
	t    *testing.T
	conn net.Conn
	mac  lorawan.EUI64
	tok  uint16
}

func newGateway(t *testing.T, addr string, mac lorawan.EUI64) *gatewayConn {
	c, err := net.Dial("udp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &gatewayConn{t: t, conn: c, mac: mac}
}

func (g *gatewayConn) push(phy []byte) { g.pushAt(phy, time.Time{}) }

// pushAt sends phy with the GPS receive time at (none if zero), which the
// daemon takes as the time of the measurements: it lets a test play hours
// of 15-min readings in a second. tmst advances with at, as a concentrator
// that heard the frames at those times would count, so the daemon's GPS
// time check passes (the test's config must set ignore_host_clock for times
// in the past).
func (g *gatewayConn) pushAt(phy []byte, at time.Time) {
	g.tok++
	rx := semtechudp.RXPK{Tmst: uint32(g.tok) * 1000, Freq: 868.3, Chan: 1, Stat: 1, Modu: "LORA",
		DatR: semtechudp.DatR{LoRa: "SF9BW125"}, CodR: "4/5", RSSI: -97, LSNR: 3.5, Size: uint16(len(phy)), Data: phy}
	if !at.IsZero() {
		ct := semtechudp.CompactTime(at)
		rx.Time = &ct
		rx.Tmst = uint32(at.UnixMicro())
	}
	pd := semtechudp.PushDataPacket{ProtocolVersion: semtechudp.ProtocolVersion2, RandomToken: g.tok, GatewayMAC: g.mac,
		Payload: semtechudp.PushDataPayload{RXPK: []semtechudp.RXPK{rx}}}
	b, err := pd.MarshalBinary()
	require.NoError(g.t, err)
	_, err = g.conn.Write(b)
	require.NoError(g.t, err)
}

func joinRequest(t *testing.T, appKey lorawan.AES128Key, joinEUI, devEUI lorawan.EUI64, nonce uint16) []byte {
	phy := lorawan.PHYPayload{
		MHDR:       lorawan.MHDR{MType: lorawan.JoinRequest, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinRequestPayload{JoinEUI: joinEUI, DevEUI: devEUI, DevNonce: lorawan.DevNonce(nonce)},
	}
	require.NoError(t, phy.SetUplinkJoinMIC(appKey))
	b, err := phy.MarshalBinary()
	require.NoError(t, err)
	return b
}

// Over real UDP and through the whole daemon: a good ABP uplink, a forged
// MIC, a replayed FCnt and a replayed DevNonce are told apart and counted;
// the frame counter rolls over past 65535; a restart keeps the counters, so
// a replay stays a replay.
func TestUDPRejectionsAndRestart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "loraedge.yaml")
	nwk, app, addr := testABPKeys()
	appKey := lorawan.AES128Key{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	otaaEUI, joinEUI := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 0x22}, lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 0}
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`devices:
  - {dev_eui: "70b3d57ed0000011", activation: abp, profile: generic/road-station, dev_addr: "%s", nwk_s_key: "%s", app_s_key: "%s"}
  - {dev_eui: "%s", activation: otaa, mac_version: "1.0.3", profile: elsys/ers-co2, join_eui: "%s", app_key: "%s"}
`, addr, nwk, app, otaaEUI, joinEUI, appKey)), 0o600))
	payload := []byte{0xff, 0x83, 0, 0x32, 0x23, 0x8c, 0x20, 0, 0, 0x96, 0x0e, 0x10}
	const (
		ok       = `loraedge_network_uplinks_total{result="ok"}`
		mic      = `loraedge_network_uplinks_total{result="mic_invalid"}`
		replay   = `loraedge_network_uplinks_total{result="replay"}`
		retrans  = `loraedge_network_uplinks_total{result="retransmission"}`
		joinOK   = `loraedge_network_joins_total{result="ok"}`
		joinRepl = `loraedge_network_joins_total{result="devnonce_replay"}`
		stored   = `loraedge_ingest_uplinks_total{result="stored"}`
	)

	// Session keys are kept encrypted at rest across the restart below.
	kek := "LORAEDGE_KEYS_KEK=" + strings.Repeat("5a", 32)
	d := startDaemon(t, file, dir, kek)
	gw := newGateway(t, d.udpAddr, lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 1})
	gw2 := newGateway(t, d.udpAddr, lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 2})

	f1 := abpFrame(t, addr, nwk, app, 1, payload)
	gw.push(f1)
	gw2.push(f1) // the same frame at a second gateway: deduplicated
	d.waitMetric(ok, 1)
	d.waitMetric(stored, 1)

	forged := append([]byte(nil), abpFrame(t, addr, nwk, app, 2, payload)...)
	forged[len(forged)-1] ^= 0x01
	gw.push(forged)
	d.waitMetric(mic, 1)

	time.Sleep(300 * time.Millisecond) // past the dedup window
	gw.push(f1)                        // the same frame again, later: a retransmission, not handed on
	d.waitMetric(retrans, 1)
	gw.push(abpFrame(t, addr, nwk, app, 0, payload)) // an older counter: a replay
	d.waitMetric(replay, 1)

	// A jump beyond MAX_FCNT_GAP (16384) is refused.
	gw.push(abpFrame(t, addr, nwk, app, 40000, payload))
	d.waitMetric(`loraedge_network_uplinks_total{result="fcnt_gap"}`, 1)
	// Rollover of the 16-bit counter on air, in steps within the gap:
	// ..., 65535, then 65536 (0 on air).
	for i, fcnt := range []uint32{16000, 32000, 48000, 64000, 65535, 65536} {
		gw.push(abpFrame(t, addr, nwk, app, fcnt, payload))
		d.waitMetric(ok, float64(2+i))
	}

	gw.push(joinRequest(t, appKey, joinEUI, otaaEUI, 0x1234))
	d.waitMetric(joinOK, 1)
	time.Sleep(300 * time.Millisecond)
	gw.push(joinRequest(t, appKey, joinEUI, otaaEUI, 0x1234))
	d.waitMetric(joinRepl, 1)
	assert.EqualValues(t, 1, mustMetric(t, d, mic), "only the forged frame failed its MIC")
	d.stop()

	raw, err := os.ReadFile(filepath.Join(dir, "network.db"))
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, nwk[:]), "a session key is on disk in plain")

	// Restart: counters and DevNonce history are still there.
	d = startDaemon(t, file, dir, kek)
	gw = newGateway(t, d.udpAddr, lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 1})
	gw.push(abpFrame(t, addr, nwk, app, 65535, payload))
	d.waitMetric(replay, 1)
	gw.push(joinRequest(t, appKey, joinEUI, otaaEUI, 0x1234))
	d.waitMetric(joinRepl, 1)
	gw.push(abpFrame(t, addr, nwk, app, 65537, payload))
	d.waitMetric(ok, 1)
	d.waitMetric(stored, 1)
	d.stop()
}

func mustMetric(t *testing.T, d *e2eDaemon, name string) float64 {
	v, err := d.metric(name)
	require.NoError(t, err)
	return v
}
