package sim

import (
	"crypto/aes"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nsKeys derives 1.0.x session keys the way a network server does, written
// out here independently of the device code.
func nsKeys(t *testing.T, appKey lorawan.AES128Key, joinNonce uint32, netID lorawan.NetID, devNonce uint16) (nwk, app lorawan.AES128Key) {
	t.Helper()
	c, err := aes.NewCipher(appKey[:])
	require.NoError(t, err)
	mk := func(typ byte) lorawan.AES128Key {
		in := []byte{typ, byte(joinNonce), byte(joinNonce >> 8), byte(joinNonce >> 16),
			netID[2], netID[1], netID[0], byte(devNonce), byte(devNonce >> 8), 0, 0, 0, 0, 0, 0, 0}
		var out lorawan.AES128Key
		c.Encrypt(out[:], in)
		return out
	}
	return mk(1), mk(2)
}

// joinAcceptFor plays the network server: it parses and checks the
// join-request and answers with an encrypted join-accept.
func joinAcceptFor(t *testing.T, appKey lorawan.AES128Key, joinReq []byte, devAddr lorawan.DevAddr, joinNonce uint32, netID lorawan.NetID) ([]byte, lorawan.DevNonce) {
	t.Helper()
	var req lorawan.PHYPayload
	require.NoError(t, req.UnmarshalBinary(joinReq))
	ok, err := req.ValidateUplinkJoinMIC(appKey)
	require.NoError(t, err)
	require.True(t, ok, "join-request MIC")
	jr := req.MACPayload.(*lorawan.JoinRequestPayload)

	acc := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: lorawan.JoinAccept, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinAcceptPayload{
			JoinNonce: lorawan.JoinNonce(joinNonce), HomeNetID: netID, DevAddr: devAddr,
			DLSettings: lorawan.DLSettings{RX2DataRate: 0}, RXDelay: 1,
		},
	}
	require.NoError(t, acc.SetDownlinkJoinMIC(lorawan.JoinRequestType, jr.JoinEUI, jr.DevNonce, appKey))
	require.NoError(t, acc.EncryptJoinAcceptPayload(appKey))
	b, err := acc.MarshalBinary()
	require.NoError(t, err)
	return b, jr.DevNonce
}

func TestOTAAJoinRoundTrip(t *testing.T) {
	for _, mac := range []string{"1.0.3", "1.0.4"} {
		t.Run(mac, func(t *testing.T) {
			dev := otaaDevice(0x7f, 1, "test", ProfileRoadStation, "x", mac)
			n := newNode(&simDevice{dev: dev, sensor: newRoadModel(roadSite{})}, time.Now())
			now := time.Now()
			req, err := n.joinRequest(now)
			require.NoError(t, err)

			// A join-accept for another key must not be taken.
			other, _ := joinAcceptFor(t, dev.AppKey, req, lorawan.DevAddr{1, 2, 3, 4}, 7, lorawan.NetID{0, 0, 1})
			tampered := append([]byte(nil), other...)
			tampered[len(tampered)-1] ^= 0xff
			assert.False(t, n.acceptJoin(tampered, now, time.Minute), "bad MIC accepted")

			devAddr := lorawan.DevAddr{0x01, 0x23, 0x45, 0x67}
			netID := lorawan.NetID{0x00, 0x00, 0x13}
			ja, devNonce := joinAcceptFor(t, dev.AppKey, req, devAddr, 0x0a0b0c, netID)
			require.True(t, n.acceptJoin(ja, now, time.Minute))
			wantNwk, wantApp := nsKeys(t, dev.AppKey, 0x0a0b0c, netID, uint16(devNonce))
			st := n.state()
			assert.True(t, st.Joined)
			assert.Equal(t, devAddr, st.DevAddr)
			assert.Equal(t, wantNwk, n.nwkSKey)
			assert.Equal(t, wantApp, n.appSKey)

			// The first data uplink verifies and decrypts with the server's keys.
			up, err := n.dataUplink(FPortRoadStation, []byte{1, 2, 3}, false, now)
			require.NoError(t, err)
			var phy lorawan.PHYPayload
			require.NoError(t, phy.UnmarshalBinary(up))
			ok, err := phy.ValidateUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, wantNwk, wantNwk)
			require.NoError(t, err)
			assert.True(t, ok, "uplink MIC with server NwkSKey")
			require.NoError(t, phy.DecryptFRMPayload(wantApp))
			mp := phy.MACPayload.(*lorawan.MACPayload)
			assert.Equal(t, []byte{1, 2, 3}, mp.FRMPayload[0].(*lorawan.DataPayload).Bytes)
			assert.Equal(t, uint32(0), mp.FHDR.FCnt)
			assert.Equal(t, devAddr, mp.FHDR.DevAddr)
		})
	}
}

func TestDevNonceCounterFor104(t *testing.T) {
	dev := otaaDevice(0x7f, 2, "test", ProfileRoadStation, "x", "1.0.4")
	n := newNode(&simDevice{dev: dev, sensor: newRoadModel(roadSite{})}, time.Now())
	var last lorawan.DevNonce
	for i := range 3 {
		b, err := n.joinRequest(time.Now())
		require.NoError(t, err)
		var p lorawan.PHYPayload
		require.NoError(t, p.UnmarshalBinary(b))
		dn := p.MACPayload.(*lorawan.JoinRequestPayload).DevNonce
		if i > 0 {
			assert.Equal(t, last+1, dn)
		}
		last = dn
	}
}

// serverDownlink builds a data downlink as a network server would.
func serverDownlink(t testing.TB, devAddr lorawan.DevAddr, nwk, app lorawan.AES128Key, fCnt uint32, ack, confirmed bool, fport uint8, data []byte) []byte {
	t.Helper()
	mtype := lorawan.UnconfirmedDataDown
	if confirmed {
		mtype = lorawan.ConfirmedDataDown
	}
	mp := &lorawan.MACPayload{FHDR: lorawan.FHDR{DevAddr: devAddr, FCnt: fCnt, FCtrl: lorawan.FCtrl{ACK: ack}}}
	if fport > 0 {
		mp.FPort = &fport
		mp.FRMPayload = []lorawan.Payload{&lorawan.DataPayload{Bytes: data}}
	}
	phy := lorawan.PHYPayload{MHDR: lorawan.MHDR{MType: mtype, Major: lorawan.LoRaWANR1}, MACPayload: mp}
	if fport > 0 {
		require.NoError(t, phy.EncryptFRMPayload(app))
	}
	require.NoError(t, phy.SetDownlinkDataMIC(lorawan.LoRaWAN1_0, 0, nwk))
	b, err := phy.MarshalBinary()
	require.NoError(t, err)
	return b
}

func TestValveDownlinkAndAck(t *testing.T) {
	b := newBuilding(time.Time{})
	dev := abpDevice(0x7f, 3, "valve", ProfileValve, "x", "1.0.3")
	n := newNode(&simDevice{dev: dev, sensor: &valveActuator{b: b, batteryMV: 3600}, confirmed: true}, time.Now())
	now := time.Now()
	_, err := n.dataUplink(FPortValve, []byte{1, 0x0e, 0x10}, true, now)
	require.NoError(t, err)

	raw := serverDownlink(t, dev.DevAddr, dev.NwkSKey, dev.AppSKey, 0, true, false, FPortValve, []byte{ValveCmdClose})
	var phy lorawan.PHYPayload
	require.NoError(t, phy.UnmarshalBinary(raw))
	res, ok := n.handleData(phy, now, time.Minute, 5)
	require.True(t, ok)
	assert.True(t, res.ack)
	assert.NoError(t, res.cmdError)
	assert.False(t, b.ValveOpen(), "valve closed by command")
	st := n.state()
	require.NotNil(t, st.ValveOpen)
	assert.False(t, *st.ValveOpen)
	assert.Equal(t, uint64(1), st.Acks)

	// Replay of the same downlink counter is refused.
	require.NoError(t, phy.UnmarshalBinary(raw))
	_, ok = n.handleData(phy, now, time.Minute, 5)
	assert.False(t, ok, "replayed downlink accepted")

	// Wrong key: refused.
	bad := serverDownlink(t, dev.DevAddr, simKey("x", dev.DevEUI), dev.AppSKey, 1, false, false, FPortValve, []byte{ValveCmdOpen})
	require.NoError(t, phy.UnmarshalBinary(bad))
	_, ok = n.handleData(phy, now, time.Minute, 5)
	assert.False(t, ok)
	assert.False(t, b.ValveOpen())

	// Outside the class A receive window: not heard.
	open := serverDownlink(t, dev.DevAddr, dev.NwkSKey, dev.AppSKey, 1, false, false, FPortValve, []byte{ValveCmdOpen})
	require.NoError(t, phy.UnmarshalBinary(open))
	_, ok = n.handleData(phy, now.Add(2*time.Minute), time.Minute, 5)
	assert.False(t, ok)
	require.NoError(t, phy.UnmarshalBinary(open))
	_, ok = n.handleData(phy, now, time.Minute, 5)
	assert.True(t, ok)
	assert.True(t, b.ValveOpen())

	// The next uplink reports the state.
	fport, payload, err := n.sd.sensor.reading(now)
	require.NoError(t, err)
	assert.Equal(t, FPortValve, fport)
	assert.Equal(t, byte(1), payload[0])
}
