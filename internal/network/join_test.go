package network

import (
	"errors"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
)

func TestOTAAJoinThenData(t *testing.T) {
	d := otaaDevice(1, "1.0.3")
	e := newEnv(t, []device.Device{d}, func(o *Options) {
		o.RX1DROffset = 1
		o.RX2DataRate = 3 // SF9BW125
		o.ExtraChannels = nil
	})
	const nonce = lorawan.DevNonce(0x1234)
	e.deliver(joinRequest(t, d, nonce), rx(gw2, -1, 5_000_000), rx(gw1, 4, 7_000_000))
	require.Equal(t, float64(1), e.joins(joinOK))

	dls := e.tx.all()
	require.Len(t, dls, 1)
	dl := dls[0]
	assert.Equal(t, gw1, dl.GatewayID, "best SNR gateway")
	assert.Equal(t, uint32(7_000_000+5_000_000), dl.Tmst, "JoinAcceptDelay1")
	assert.Equal(t, uint32(868100000), dl.Frequency)
	assert.Equal(t, "SF7BW125", dl.DataRate, "join-accept RX1 uses offset 0")
	assert.True(t, dl.InvertPolarity)
	assert.False(t, dl.Immediately)

	// The device decrypts and checks the join-accept with its AppKey.
	var phy lorawan.PHYPayload
	require.NoError(t, phy.UnmarshalBinary(dl.PHYPayload))
	require.Equal(t, lorawan.JoinAccept, phy.MHDR.MType)
	require.NoError(t, phy.DecryptJoinAcceptPayload(d.AppKey))
	ok, err := phy.ValidateDownlinkJoinMIC(lorawan.JoinRequestType, d.JoinEUI, nonce, d.AppKey)
	require.NoError(t, err)
	require.True(t, ok, "join-accept MIC")
	ja := phy.MACPayload.(*lorawan.JoinAcceptPayload)
	assert.Equal(t, testNetID, ja.HomeNetID)
	assert.True(t, ja.DevAddr.IsNetID(testNetID), "DevAddr %s carries the NwkID of %s", ja.DevAddr, testNetID)
	assert.Equal(t, uint8(1), ja.DLSettings.RX1DROffset)
	assert.Equal(t, uint8(3), ja.DLSettings.RX2DataRate, "SF9 is DR3")
	assert.Equal(t, uint8(1), ja.RXDelay)
	require.NotNil(t, ja.CFList)
	cf := ja.CFList.Payload.(*lorawan.CFListChannelPayload)
	assert.Equal(t, [5]uint32{867100000, 867300000, 867500000, 867700000, 867900000}, cf.Channels)

	nwk, app := deviceKeys(t, d.AppKey, ja, nonce)
	f := upFrame{addr: ja.DevAddr, nwk: nwk, app: app, fcnt: 0, fport: port(5), payload: []byte("hello"), confirmed: true}
	e.deliver(f.bytes(t), rx(gw1, 2, 10_000_000))
	ups := e.up.all()
	require.Len(t, ups, 1)
	assert.Equal(t, d.DevEUI, ups[0].DevEUI)
	assert.Equal(t, []byte("hello"), ups[0].Payload)

	// The ACK uses the session's RX settings: SF7 with offset 1 is SF8.
	dls = e.tx.all()
	require.Len(t, dls, 2)
	assert.Equal(t, "SF8BW125", dls[1].DataRate)
	assert.Equal(t, uint32(11_000_000), dls[1].Tmst)
	_, mac := decodeDown(t, dls[1].PHYPayload, nwk, app)
	assert.True(t, mac.FHDR.FCtrl.ACK)
}

func TestJoinRX2Fallback(t *testing.T) {
	tests := []struct {
		name      string
		immediate bool // the sender refuses RX1 at once instead of by TX_ACK
	}{
		{"tx_ack error", false},
		{"send error", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := otaaDevice(byte(i+1), "1.0.3")
			e := newEnv(t, []device.Device{d}, nil)
			if tt.immediate {
				e.tx.fail = func(d Downlink) error {
					if d.Frequency != 869525000 {
						return errors.New("TOO_LATE")
					}
					return nil
				}
			}
			e.deliver(joinRequest(t, d, 1), rx(gw1, 3, 1_000))
			if !tt.immediate {
				require.Len(t, e.tx.all(), 1)
				e.s.HandleTxAck(e.tx.all()[0].ID, errors.New("TOO_LATE"))
				e.s.tick(e.ctx)
			}
			dls := e.tx.all()
			require.Len(t, dls, 2)
			rx2 := dls[1]
			assert.Equal(t, dls[0].PHYPayload, rx2.PHYPayload)
			assert.Equal(t, uint32(869525000), rx2.Frequency)
			assert.Equal(t, "SF12BW125", rx2.DataRate)
			assert.Equal(t, uint32(1_000+6_000_000), rx2.Tmst)
			assert.Equal(t, 27, rx2.Power)
			assert.Equal(t, float64(1), testutil.ToFloat64(e.s.m.downlinks.WithLabelValues("join_accept", "rx2_fallback")))
			assert.Equal(t, float64(1), testutil.ToFloat64(e.s.m.downlinks.WithLabelValues("join_accept", "failed")))
		})
	}
}

func TestDevNonceReplay(t *testing.T) {
	tests := []struct {
		version string
		nonces  []lorawan.DevNonce
		want    []string
	}{
		{"1.0.3", []lorawan.DevNonce{500, 17, 900, 17, 500, 18}, []string{joinOK, joinOK, joinOK, joinDevNonceReuse, joinDevNonceReuse, joinOK}},
		{"1.0.2", []lorawan.DevNonce{3, 3}, []string{joinOK, joinDevNonceReuse}},
		{"1.0.4", []lorawan.DevNonce{0, 1, 5, 5, 4, 6}, []string{joinOK, joinOK, joinOK, joinDevNonceReuse, joinDevNonceReuse, joinOK}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			d := otaaDevice(1, tt.version)
			e := newEnv(t, []device.Device{d}, nil)
			var prevAddr lorawan.DevAddr
			for i, n := range tt.nonces {
				okBefore, replayBefore := e.joins(joinOK), e.joins(joinDevNonceReuse)
				e.deliver(joinRequest(t, d, n))
				switch tt.want[i] {
				case joinOK:
					assert.Equal(t, okBefore+1, e.joins(joinOK), "nonce %d", n)
					info, ok := e.s.Session(d.DevEUI)
					require.True(t, ok)
					assert.NotEqual(t, prevAddr, info.DevAddr)
					prevAddr = info.DevAddr
				default:
					assert.Equal(t, replayBefore+1, e.joins(joinDevNonceReuse), "nonce %d", n)
				}
			}
			// The history survives a restart.
			e.restart()
			e.deliver(joinRequest(t, d, tt.nonces[0]))
			assert.Equal(t, float64(1), e.joins(joinDevNonceReuse))
		})
	}
}

func TestJoinRejected(t *testing.T) {
	d := otaaDevice(1, "1.0.3")
	e := newEnv(t, []device.Device{d}, nil)
	forged := joinRequest(t, d, 7)
	forged[len(forged)-1] ^= 1
	e.deliver(forged)
	assert.Equal(t, float64(1), e.joins(joinMICInvalid))
	other := otaaDevice(2, "1.0.3")
	e.deliver(joinRequest(t, other, 7))
	assert.Equal(t, float64(1), e.joins(joinUnknownDevice))
	// The forged request did not burn the nonce.
	e.deliver(joinRequest(t, d, 7))
	assert.Equal(t, float64(1), e.joins(joinOK))
}

// joinAndKeys runs a join for d and returns what the device learns.
func (e *env) joinAndKeys(t *testing.T, d device.Device, nonce lorawan.DevNonce) (lorawan.DevAddr, lorawan.AES128Key, lorawan.AES128Key) {
	t.Helper()
	before := len(e.tx.all())
	e.deliver(joinRequest(t, d, nonce))
	dls := e.tx.all()
	require.Len(t, dls, before+1)
	var phy lorawan.PHYPayload
	require.NoError(t, phy.UnmarshalBinary(dls[before].PHYPayload))
	require.NoError(t, phy.DecryptJoinAcceptPayload(d.AppKey))
	ja := phy.MACPayload.(*lorawan.JoinAcceptPayload)
	nwk, app := deviceKeys(t, d.AppKey, ja, nonce)
	return ja.DevAddr, nwk, app
}

// TestPreviousSessionUntilNewOneUsed: a join-accept the device never got
// (or a replayed join-request) must not cut off its working session.
func TestPreviousSessionUntilNewOneUsed(t *testing.T) {
	d := otaaDevice(1, "1.0.3")
	e := newEnv(t, []device.Device{d}, nil)
	addr1, nwk1, app1 := e.joinAndKeys(t, d, 1)
	old := func(fc uint32) []byte {
		return upFrame{addr: addr1, nwk: nwk1, app: app1, fcnt: fc, fport: port(1), payload: []byte{byte(fc)}}.bytes(t)
	}
	e.deliver(old(0))
	addr2, nwk2, app2 := e.joinAndKeys(t, d, 2)
	e.deliver(old(1)) // the device missed the second join-accept
	require.Len(t, e.up.all(), 2)

	e.restart() // the previous session is durable too
	e.deliver(old(2))
	require.Len(t, e.up.all(), 3)

	e.deliver(upFrame{addr: addr2, nwk: nwk2, app: app2, fcnt: 0, fport: port(1), payload: []byte{0xee}}.bytes(t))
	require.Len(t, e.up.all(), 4)
	assert.Equal(t, []byte{0xee}, e.up.all()[3].Payload)

	// Now the old session is gone.
	e.deliver(old(3))
	assert.Len(t, e.up.all(), 4)
	e.restart()
	e.deliver(old(4))
	assert.Len(t, e.up.all(), 4)
	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, addr2, info.DevAddr)
}
