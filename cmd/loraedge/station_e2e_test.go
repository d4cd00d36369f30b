package main

import (
	"context"
	"crypto/aes"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/basicstation/routertest"
	"github.com/loraedge/loraedge/internal/testserver"
)

// Through the whole daemon over wss:// on loopback with a client
// certificate: an OTAA join whose join-accept goes in its window and is
// confirmed by dntxed, a confirmed uplink stored and acknowledged in RX1,
// a router without valid credentials refused, and a frame heard by a GWMP
// gateway and a Station router at once processed and stored once.
func TestBasicStationEndToEnd(t *testing.T) {
	dir := t.TempDir()
	pki := testserver.NewPKI(t)
	router := lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0x00, 0x24, 0x01}
	cert, _, _ := pki.ClientCert(t, routertest.ID6(router))
	stranger, _, _ := testserver.NewPKI(t).ClientCert(t, routertest.ID6(router))
	appKey := lorawan.AES128Key{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	devEUI, joinEUI := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 0x24}, lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 0}
	lns := "127.0.0.1:" + strconv.Itoa(testserver.FreePort(t))
	file := filepath.Join(dir, "loraedge.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`devices:
  - {dev_eui: "%s", activation: otaa, mac_version: "1.0.3", profile: elsys/ers-co2, join_eui: "%s", app_key: "%s"}
basicstation:
  listen: "%s"
  tls: {cert_file: "%s", key_file: "%s", client_ca_file: "%s"}
  routers:
    - {id: "%s", name: Wasserwerk}
`, devEUI, joinEUI, appKey, lns, pki.ServerCertFile, pki.ServerKeyFile, pki.CAFile, router)), 0o600))
	d := startDaemon(t, file, dir)
	defer d.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	creds := func(c tls.Certificate) routertest.Credentials {
		return routertest.Credentials{TLS: &tls.Config{RootCAs: pki.CA, Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}}
	}
	_, err := routertest.Connect(ctx, lns, router, routertest.Credentials{TLS: &tls.Config{RootCAs: pki.CA, MinVersion: tls.VersionTLS12}})
	require.ErrorContains(t, err, "no_credentials")
	_, err = routertest.Connect(ctx, lns, router, creds(stranger))
	require.ErrorContains(t, err, "bad_credentials", "a certificate of another CA")
	d.waitMetric(`loraedge_basicstation_connections_refused_total{reason="no_credentials"}`, 1)
	d.waitMetric(`loraedge_basicstation_connections_refused_total{reason="bad_credentials"}`, 1)

	r, err := routertest.Connect(ctx, lns, router, creds(cert))
	require.NoError(t, err)
	defer r.Close()
	d.waitMetric(`loraedge_basicstation_routers_connected`, 1)

	// OTAA join: the join-accept answers in RX1, JOIN_ACCEPT_DELAY1 (5 s)
	// after the jreq's xtime, on its frequency and data rate.
	const nonce = 0x2424
	xt := int64(0x3000000000000) + 0xfff00000 // the low 32 bits wrap before the window
	require.NoError(t, r.Uplink(joinRequest(t, appKey, joinEUI, devEUI, nonce), routertest.Radio{DR: 5, Freq: 868300000, XTime: xt, RCtx: 3, RSSI: -80, SNR: 7}))
	dn, err := r.Next(ctx, "dnmsg")
	require.NoError(t, err)
	assertWindow(t, dn, xt, 5, 5, 868300000)
	assert.Equal(t, "70-b3-d5-7e-d0-00-00-24", dn["DevEui"])
	ja := decodeJoinAccept(t, dn, appKey)
	require.NoError(t, r.Dntxed(dn))
	d.waitMetric(`loraedge_network_joins_total{result="ok"}`, 1)
	d.waitMetric(`loraedge_basicstation_dntxed_total`, 1)

	// A confirmed uplink: stored, then acknowledged in RX1 (1 s).
	nwk, app := sessionKeys(t, appKey, ja, nonce)
	co2 := []byte{0x01, 0x00, 0xe2, 0x02, 0x29, 0x06, 0x01, 0xa4}
	xt += 20_000_000
	require.NoError(t, r.Uplink(dataFrame(t, lorawan.ConfirmedDataUp, ja.DevAddr, nwk, app, 1, co2), routertest.Radio{DR: 5, Freq: 868100000, XTime: xt, RCtx: 3, SNR: 7}))
	dn, err = r.Next(ctx, "dnmsg")
	require.NoError(t, err)
	assertWindow(t, dn, xt, 1, 5, 868100000)
	var down lorawan.PHYPayload
	require.NoError(t, down.UnmarshalText([]byte(mustBase64(t, dn["pdu"].(string)))))
	require.NoError(t, down.DecodeFOptsToMACCommands())
	assert.Equal(t, lorawan.UnconfirmedDataDown, down.MHDR.MType)
	assert.True(t, down.MACPayload.(*lorawan.MACPayload).FHDR.FCtrl.ACK, "the downlink acknowledges the uplink")
	require.NoError(t, r.Dntxed(dn))
	d.waitMetric(`loraedge_ingest_uplinks_total{result="stored"}`, 1)
	d.waitMetric(`loraedge_basicstation_dntxed_total`, 2)
	d.waitMetric(`loraedge_network_downlinks_total{result="sent",type="data"}`, 1)

	// The same frame over GWMP and over Station: processed and stored once.
	merged := mustMetric(t, d, `loraedge_network_dedup_merged_total`)
	gw := newGateway(t, d.udpAddr, lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 0x24})
	both := dataFrame(t, lorawan.UnconfirmedDataUp, ja.DevAddr, nwk, app, 2, co2)
	xt += 20_000_000
	gw.push(both)
	require.NoError(t, r.Uplink(both, routertest.Radio{DR: 5, Freq: 868100000, XTime: xt, SNR: 9}))
	d.waitMetric(`loraedge_network_uplinks_total{result="ok"}`, 2)
	d.waitMetric(`loraedge_network_dedup_merged_total`, merged+1)
	d.waitMetric(`loraedge_ingest_uplinks_total{result="stored"}`, 2)
	time.Sleep(300 * time.Millisecond)
	assert.InDelta(t, 2, mustMetric(t, d, `loraedge_ingest_uplinks_total{result="stored"}`), 0)
	assert.InDelta(t, 0, mustMetric(t, d, `loraedge_basicstation_messages_rejected_total{reason="bad_json"}`), 0)

	// The router is listed with the GWMP gateway, its dntxed as TX_ACKs.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.http+"/api/v1/gateways", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var list struct {
		Gateways []struct {
			ID           string `json:"id"`
			RXReceived   uint64 `json:"rx_received"`
			TXSent       uint64 `json:"tx_sent"`
			TXAcked      uint64 `json:"tx_acked"`
			TXAckMissing uint64 `json:"tx_ack_missing"`
		} `json:"gateways"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	require.Len(t, list.Gateways, 2)
	g := list.Gateways[1]
	assert.Equal(t, router.String(), g.ID)
	assert.Equal(t, uint64(3), g.RXReceived)
	assert.GreaterOrEqual(t, g.TXSent, uint64(2), "join-accept, ACK, and what answers the last uplink")
	assert.Equal(t, uint64(2), g.TXAcked)

	// A router too late for RX1 sends in RX2, which the dnmsg carries too
	// (869.525 MHz, DR0): the ACK is confirmed and not lost.
	xt += 20_000_000
	require.NoError(t, r.Uplink(dataFrame(t, lorawan.ConfirmedDataUp, ja.DevAddr, nwk, app, 3, co2), routertest.Radio{DR: 5, Freq: 868300000, XTime: xt, RCtx: 3, SNR: 7}))
	for {
		dn, err = r.Next(ctx, "dnmsg")
		require.NoError(t, err)
		if dn["xtime"] == json.Number(strconv.FormatInt(xt, 10)) {
			break // earlier dnmsgs answer the uplink heard over both transports
		}
	}
	assertWindow(t, dn, xt, 1, 5, 868300000)
	assert.Equal(t, json.Number("0"), dn["RX2DR"])
	assert.Equal(t, json.Number("869525000"), dn["RX2Freq"])
	down = lorawan.PHYPayload{}
	require.NoError(t, down.UnmarshalText([]byte(mustBase64(t, dn["pdu"].(string)))))
	assert.True(t, down.MACPayload.(*lorawan.MACPayload).FHDR.FCtrl.ACK, "the downlink acknowledges the uplink")
	require.NoError(t, r.DntxedRX2(dn))
	d.waitMetric(`loraedge_network_downlinks_total{result="rx2_fallback",type="data"}`, 1)
	d.waitMetric(`loraedge_ingest_uplinks_total{result="stored"}`, 3)
	assert.InDelta(t, 0, mustMetric(t, d, `loraedge_network_downlinks_total{result="failed",type="data"}`), 0)
}

// assertWindow checks a Class A dnmsg: the uplink's xtime, the delay in
// seconds, the RX1 data rate and frequency.
func assertWindow(t *testing.T, dn map[string]any, xtime int64, delay, dr int, freq uint32) {
	t.Helper()
	assert.Equal(t, json.Number("0"), dn["dC"])
	assert.Equal(t, json.Number(strconv.FormatInt(xtime, 10)), dn["xtime"])
	assert.Equal(t, json.Number("3"), dn["rctx"])
	assert.Equal(t, json.Number(strconv.Itoa(delay)), dn["RxDelay"])
	assert.Equal(t, json.Number(strconv.Itoa(dr)), dn["RX1DR"])
	assert.Equal(t, json.Number(strconv.FormatUint(uint64(freq), 10)), dn["RX1Freq"])
}

func mustBase64(t *testing.T, hexPDU string) string {
	t.Helper()
	b, err := hex.DecodeString(hexPDU)
	require.NoError(t, err)
	var p lorawan.PHYPayload
	require.NoError(t, p.UnmarshalBinary(b))
	text, err := p.MarshalText()
	require.NoError(t, err)
	return string(text)
}

func decodeJoinAccept(t *testing.T, dn map[string]any, appKey lorawan.AES128Key) *lorawan.JoinAcceptPayload {
	t.Helper()
	b, err := hex.DecodeString(dn["pdu"].(string))
	require.NoError(t, err)
	var phy lorawan.PHYPayload
	require.NoError(t, phy.UnmarshalBinary(b))
	require.Equal(t, lorawan.JoinAccept, phy.MHDR.MType)
	require.NoError(t, phy.DecryptJoinAcceptPayload(appKey))
	ok, err := phy.ValidateDownlinkJoinMIC(lorawan.JoinRequestType, lorawan.EUI64{}, lorawan.DevNonce(0), appKey)
	require.NoError(t, err)
	require.True(t, ok, "join-accept MIC")
	return phy.MACPayload.(*lorawan.JoinAcceptPayload)
}

// sessionKeys derives the LoRaWAN 1.0 session keys as the device does.
func sessionKeys(t *testing.T, appKey lorawan.AES128Key, ja *lorawan.JoinAcceptPayload, nonce uint16) (nwk, app lorawan.AES128Key) {
	t.Helper()
	block, err := aes.NewCipher(appKey[:])
	require.NoError(t, err)
	jn, err := ja.JoinNonce.MarshalBinary()
	require.NoError(t, err)
	nid, err := ja.HomeNetID.MarshalBinary()
	require.NoError(t, err)
	for _, k := range []struct {
		typ byte
		out *lorawan.AES128Key
	}{{0x01, &nwk}, {0x02, &app}} {
		var in [16]byte
		in[0] = k.typ
		copy(in[1:4], jn)
		copy(in[4:7], nid)
		in[7], in[8] = byte(nonce), byte(nonce>>8)
		block.Encrypt(k.out[:], in[:])
	}
	return nwk, app
}

func dataFrame(t *testing.T, mtype lorawan.MType, addr lorawan.DevAddr, nwk, app lorawan.AES128Key, fcnt uint32, payload []byte) []byte {
	t.Helper()
	fport := uint8(5)
	phy := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: mtype, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: addr, FCnt: fcnt}, FPort: &fport,
			FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: append([]byte(nil), payload...)}}},
	}
	require.NoError(t, phy.EncryptFRMPayload(app))
	require.NoError(t, phy.SetUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, nwk, nwk))
	b, err := phy.MarshalBinary()
	require.NoError(t, err)
	return b
}

// SIGHUP takes the basicstation routers anew: a router no longer listed is
// disconnected and refused, a new one with a token connects.
func TestBasicStationRoutersReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	pki := testserver.NewPKI(t)
	oldRouter, newRouter := lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0, 0x25, 1}, lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0, 0x25, 2}
	cert, _, _ := pki.ClientCert(t, routertest.ID6(oldRouter))
	tokenFile := filepath.Join(dir, "new.key")
	const token = "Bearer reloaded-router-token-0123456789"
	require.NoError(t, os.WriteFile(tokenFile, []byte("Authorization: "+token+"\n"), 0o600))
	lns := "127.0.0.1:" + strconv.Itoa(testserver.FreePort(t))
	file := filepath.Join(dir, "loraedge.yaml")
	write := func(routers string) {
		require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`basicstation:
  listen: "%s"
  tls: {cert_file: "%s", key_file: "%s", client_ca_file: "%s"}
  routers: [%s]
`, lns, pki.ServerCertFile, pki.ServerKeyFile, pki.CAFile, routers)), 0o600))
	}
	write(fmt.Sprintf(`{id: "%s"}`, oldRouter))
	d := startDaemon(t, file, dir)
	defer d.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	roots := &tls.Config{RootCAs: pki.CA, MinVersion: tls.VersionTLS12}
	withCert := routertest.Credentials{TLS: &tls.Config{RootCAs: pki.CA, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	r, err := routertest.Connect(ctx, lns, oldRouter, withCert)
	require.NoError(t, err)
	defer r.Close()
	_, err = routertest.Connect(ctx, lns, newRouter, routertest.Credentials{TLS: roots, Authorization: token})
	require.ErrorContains(t, err, "unknown_router")

	write(fmt.Sprintf(`{id: "%s", token_file: "%s"}`, newRouter, tokenFile))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	_, err = r.Next(ctx, "")
	require.Error(t, err, "the router no longer listed is disconnected")
	nr, err := routertest.Connect(ctx, lns, newRouter, routertest.Credentials{TLS: roots, Authorization: token})
	require.NoError(t, err)
	defer nr.Close()
	_, err = routertest.Connect(ctx, lns, oldRouter, withCert)
	require.ErrorContains(t, err, "unknown_router")
}
