package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/semtechudp"
)

// testABPKeys are the session keys (the AES test vectors) and the DevAddr
// of the ABP road station in the UDP end-to-end tests.
func testABPKeys() (nwk, app lorawan.AES128Key, addr lorawan.DevAddr) {
	nwk = lorawan.AES128Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	app = lorawan.AES128Key{0x3c, 0x4f, 0xcf, 0x09, 0x88, 0x15, 0xf7, 0xab, 0xa6, 0xd2, 0xae, 0x28, 0x16, 0x15, 0x7e, 0x2b}
	return nwk, app, lorawan.DevAddr{0x26, 0x01, 0x1b, 0xda}
}

// dialForwarder is a packet forwarder that pulls downlinks: it has sent
// PULL_DATA, send writes further packets. The connection closes with t.
func dialForwarder(t *testing.T, udpAddr string, mac lorawan.EUI64) (*gatewayConn, func(semtechudp.Packet)) {
	t.Helper()
	server, err := net.ResolveUDPAddr("udp", udpAddr)
	require.NoError(t, err)
	conn, err := net.DialUDP("udp", nil, server)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	send := func(p semtechudp.Packet) {
		b, err := p.MarshalBinary()
		require.NoError(t, err)
		_, err = conn.Write(b)
		require.NoError(t, err)
	}
	send(&semtechudp.PullDataPacket{ProtocolVersion: 2, RandomToken: 1, GatewayMAC: mac})
	return &gatewayConn{t: t, conn: conn, mac: mac}, send
}

// postDownlink queues a downlink through the API and returns its answer.
func (d *e2eDaemon) postDownlink(t *testing.T, devEUI, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+d.http+"/api/v1/devices/"+devEUI+"/downlinks", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", out)
	return out
}

// A downlink queued over the API survives a restart of the daemon: the
// device's first uplink after it gets the downlink, and a downlink queued
// after the restart gets a new id.
func TestDownlinkQueueSurvivesDaemonRestart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "loraedge.yaml")
	nwk, app, addr := testABPKeys()
	const devEUI = "70b3d57ed0000011"
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`devices:
  - {dev_eui: "%s", activation: abp, profile: generic/road-station, dev_addr: "%s", nwk_s_key: "%s", app_s_key: "%s"}
`, devEUI, addr, nwk, app)), 0o600))
	payload := []byte{0xff, 0x83, 0, 0x32, 0x23, 0x8c, 0x20, 0, 0, 0x96, 0x0e, 0x10}

	d := startDaemon(t, file, dir)
	first := d.postDownlink(t, devEUI, `{"f_port": 42, "hex": "c0ffee", "expiry": "1h"}`)
	require.NotEmpty(t, first["id"])
	require.NotEmpty(t, first["expires_at"])
	d.stop()

	d = startDaemonOn(t, file, dir, d.udpAddr)
	defer d.stop()
	second := d.postDownlink(t, devEUI, `{"f_port": 43, "hex": "01"}`)
	assert.NotEqual(t, first["id"], second["id"], "ids stay unique across the restart")

	mac := lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 1}
	gw, send := dialForwarder(t, d.udpAddr, mac)
	conn := gw.conn
	gw.push(abpFrame(t, addr, nwk, app, 1, payload))

	// The forwarder reads the daemon's PULL_RESP and confirms it.
	var fport uint8
	var got []byte
	buf := make([]byte, 65535)
	deadline := time.Now().Add(5 * time.Second)
	for fport == 0 && time.Now().Before(deadline) {
		_ = conn.SetReadDeadline(deadline)
		n, err := conn.Read(buf)
		require.NoError(t, err, "no downlink after the restart")
		p, err := semtechudp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		r, ok := p.(*semtechudp.PullRespPacket)
		if !ok {
			continue
		}
		send(&semtechudp.TxAckPacket{ProtocolVersion: 2, RandomToken: r.RandomToken, GatewayMAC: mac})
		var phy lorawan.PHYPayload
		require.NoError(t, phy.UnmarshalBinary(r.Payload.TXPK.Data))
		require.NoError(t, phy.DecryptFRMPayload(app))
		mp, ok := phy.MACPayload.(*lorawan.MACPayload)
		require.True(t, ok)
		if mp.FPort != nil && *mp.FPort != 0 {
			fport = *mp.FPort
			got = mp.FRMPayload[0].(*lorawan.DataPayload).Bytes
		}
	}
	assert.Equal(t, uint8(42), fport, "the item queued before the restart comes first")
	assert.Equal(t, []byte{0xc0, 0xff, 0xee}, got)
	d.waitMetric(`loraedge_network_downlinks_total{result="sent",type="data"}`, 1)
}
