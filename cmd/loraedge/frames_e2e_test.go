package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/loraedge/loraedge/internal/uplink"
)

// frames asks the daemon's API for its frame log.
func (d *e2eDaemon) frames(t *testing.T, query string) []uplink.FrameEvent {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+d.http+"/api/v1/frames?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct{ Frames []uplink.FrameEvent }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out.Frames
}

// Over real UDP, one frame of each result kind goes through the whole
// daemon; each is in the frame log, through the API and the CLI, with its
// reason: stored, duplicate, bad MIC, replay, unknown DevAddr, decode
// error with the codec's message, join accepted (and its join-accept
// downlink with the gateway's TX_ACK) and join rejected.
func TestFrameLogOverUDP(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "loraedge.yaml")
	nwk, app, addr := testABPKeys()
	appKey := lorawan.AES128Key{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	const abpEUI = "70b3d57ed0000011"
	otaaEUI, joinEUI := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 0x22}, lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 0}
	strangerEUI := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 0x99}
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`devices:
  - {dev_eui: "%s", activation: abp, profile: generic/road-station, dev_addr: "%s", nwk_s_key: "%s", app_s_key: "%s"}
  - {dev_eui: "%s", activation: otaa, mac_version: "1.0.3", profile: elsys/ers-co2, join_eui: "%s", app_key: "%s"}
`, abpEUI, addr, nwk, app, otaaEUI, joinEUI, appKey)), 0o600))
	payload := []byte{0xff, 0x83, 0, 0x32, 0x23, 0x8c, 0x20, 0, 0, 0x96, 0x0e, 0x10}
	d := startDaemon(t, file, dir)
	defer d.stop()

	mac := lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 1}
	gw, _ := dialForwarder(t, d.udpAddr, mac)
	conn := gw.conn
	wait := func(metric string, n float64) { d.waitMetric(metric, n) }
	// The forwarder confirms every downlink it is handed, as a real one does.
	go func() {
		buf := make([]byte, 65535)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if p, err := semtechudp.Unmarshal(buf[:n]); err == nil {
				if r, ok := p.(*semtechudp.PullRespPacket); ok {
					// A concentrator answers once it has scheduled the
					// frame, milliseconds later; the bridge learns the
					// token only when its send returns.
					time.Sleep(20 * time.Millisecond)
					b, _ := (&semtechudp.TxAckPacket{ProtocolVersion: 2, RandomToken: r.RandomToken, GatewayMAC: mac}).MarshalBinary()
					_, _ = conn.Write(b)
				}
			}
		}
	}()

	f1 := abpFrame(t, addr, nwk, app, 1, payload)
	gw.push(f1)
	wait(`loraedge_ingest_uplinks_total{result="stored"}`, 1)
	forged := abpFrame(t, addr, nwk, app, 2, payload)
	forged[len(forged)-1] ^= 0x01
	gw.push(forged)
	wait(`loraedge_network_uplinks_total{result="mic_invalid"}`, 1)
	time.Sleep(300 * time.Millisecond) // past the dedup window
	gw.push(f1)
	wait(`loraedge_network_uplinks_total{result="retransmission"}`, 1)
	gw.push(abpFrame(t, addr, nwk, app, 0, payload))
	wait(`loraedge_network_uplinks_total{result="replay"}`, 1)
	gw.push(abpFrame(t, lorawan.DevAddr{0x26, 0x0b, 0, 7}, nwk, app, 5, payload))
	wait(`loraedge_network_uplinks_total{result="unknown_devaddr"}`, 1)
	gw.push(abpFrame(t, addr, nwk, app, 2, []byte{0x01}))
	wait(`loraedge_ingest_uplinks_total{result="decode_error"}`, 1)
	gw.push(joinRequest(t, appKey, joinEUI, otaaEUI, 0x1234))
	wait(`loraedge_network_joins_total{result="ok"}`, 1)
	wait(`loraedge_network_downlinks_total{result="sent",type="join_accept"}`, 1)
	gw.push(joinRequest(t, appKey, joinEUI, strangerEUI, 0x0001))
	wait(`loraedge_network_joins_total{result="unknown_device"}`, 1)

	var byGW, ups, downs []uplink.FrameEvent
	if !assert.Eventually(t, func() bool {
		byGW = d.frames(t, "gateway="+mac.String())
		ups, downs = nil, nil
		for i := len(byGW) - 1; i >= 0; i-- {
			if byGW[i].Direction == uplink.Up {
				ups = append(ups, byGW[i])
			} else if byGW[i].TxAck != "" {
				downs = append(downs, byGW[i])
			}
		}
		return len(ups) == 8 && len(downs) == len(byGW)-8 && len(downs) > 0
	}, 5*time.Second, 20*time.Millisecond, "8 uplinks, and downlinks with their TX_ACK") {
		b, _ := json.MarshalIndent(byGW, "", " ")
		t.Fatalf("frames: %s", b)
	}
	type row struct{ dev, result, reason string }
	var got []row
	for _, f := range ups {
		got = append(got, row{f.DevEUI, f.Result, f.Reason})
		assert.NotEmpty(t, f.MType)
		assert.Positive(t, f.Size)
		assert.Equal(t, "SF9BW125", f.DataRate)
		assert.Equal(t, uint32(868300000), f.Frequency)
		require.Len(t, f.Gateways, 1)
		assert.Equal(t, -97, f.Gateways[0].RSSI)
		assert.InDelta(t, 3.5, f.Gateways[0].SNR, 1e-9)
	}
	assert.Equal(t, []row{
		{abpEUI, "stored", ""},
		{"", "mic_invalid", "the MIC matches no session of DevAddr 26011bda: wrong NwkSKey, or the device joined another network"},
		{abpEUI, "duplicate", "FCnt 1 was already received: a retransmission"},
		{abpEUI, "replay", "FCnt 0 is not above the last one received: a replay, or a device that restarted without a new join"},
		{"", "unknown_devaddr", "no session has DevAddr 260b0007: the device has not joined here, or belongs to another network"},
		{abpEUI, "decode_error", "profile generic/road-station: payload truncated: 1 bytes, layout needs 12"},
		{otaaEUI.String(), "join_accepted", ""},
		{strangerEUI.String(), "join_rejected", "DevEUI " + strangerEUI.String() + " is not provisioned on this network server"},
	}, got)
	assert.Equal(t, "UnconfirmedDataUp", ups[0].MType)
	assert.Equal(t, uint32(1), *ups[0].FCnt)
	assert.Equal(t, uint8(10), *ups[0].FPort)
	var joinAccept *uplink.FrameEvent
	for i, f := range downs {
		assert.Equal(t, "ok", f.TxAck, "every downlink confirmed")
		assert.Equal(t, uplink.ResultSent, f.Result)
		if f.MType == "JoinAccept" {
			joinAccept = &downs[i]
		}
	}
	require.NotNil(t, joinAccept, "the join-accept is in the log")
	assert.Equal(t, otaaEUI.String(), joinAccept.DevEUI)

	dev := d.frames(t, "device="+abpEUI)
	var devResults []string
	for _, f := range dev {
		if f.Direction == uplink.Up {
			devResults = append(devResults, f.Result)
		}
	}
	assert.Equal(t, []string{"decode_error", "replay", "duplicate", "stored"}, devResults, "the ABP device's own uplinks, newest first")
	assert.Len(t, d.frames(t, "device="+otaaEUI.String()+"&limit=1"), 1)

	// The CLI shows the same, and --follow streams new frames.
	var out bytes.Buffer
	env := []string{"LORAEDGE_HTTP_READ_TOKEN=" + d.token}
	require.NoError(t, run(context.Background(), []string{"frames", "--url", "http://" + d.http, "--gateway", mac.String()}, env, &out, io.Discard))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, len(byGW))
	assert.Contains(t, lines[0], abpEUI+" aa55000000000001(-97dBm/3.5dB) SF9BW125 868.3MHz fcnt=1 fport=10 UnconfirmedDataUp 25B stored")
	assert.Contains(t, out.String(), "?260b0007")
	assert.Regexp(t, "down "+otaaEUI.String()+" .* JoinAccept .* sent tx_ack=ok", out.String())

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"frames", "--url", "http://" + d.http, "--device", abpEUI, "--follow"}, env, pw, io.Discard)
		pw.Close()
	}()
	time.Sleep(200 * time.Millisecond) // subscribed
	gw.push(abpFrame(t, addr, nwk, app, 3, payload))
	lineCh := make(chan string, 4)
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := pr.Read(b)
			if err != nil {
				close(lineCh)
				return
			}
			lineCh <- string(b[:n])
		}
	}()
	var streamed string
	require.Eventually(t, func() bool {
		select {
		case s := <-lineCh:
			streamed += s
		default:
		}
		return strings.Contains(streamed, "fcnt=3") && strings.Contains(streamed, "stored")
	}, 5*time.Second, 10*time.Millisecond, "streamed: %q", streamed)
	assert.NotContains(t, streamed, otaaEUI.String(), "only the device asked for")
	cancel()
	require.NoError(t, <-done)
}
