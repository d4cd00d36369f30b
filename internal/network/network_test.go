package network

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/uplink"
)

func TestABPUplinkDecrypt(t *testing.T) {
	d := abpDevice(1)
	tests := []struct {
		name    string
		fcnt    uint32
		fport   uint8
		payload []byte
	}{
		{"short", 0, 2, []byte{0x01, 0x02}},
		{"one block", 1, 10, []byte("0123456789abcdef")},
		{"two blocks", 2, 223, []byte("a payload longer than one AES block")},
	}
	e := newEnv(t, []device.Device{d}, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := abpFrame(d, tt.fcnt, tt.payload)
			f.fport = port(tt.fport)
			e.deliver(f.bytes(t))
			ups := e.up.all()
			require.Len(t, ups, i+1)
			up := ups[i]
			assert.Equal(t, d.DevEUI, up.DevEUI)
			assert.Equal(t, d.DevAddr, up.DevAddr)
			assert.Equal(t, tt.fcnt, up.FCnt)
			assert.Equal(t, tt.fport, up.FPort)
			assert.Equal(t, tt.payload, up.Payload)
			assert.False(t, up.Confirmed)
			assert.Equal(t, uint32(868100000), up.Frequency)
			assert.Equal(t, "SF7BW125", up.DataRate)
		})
	}
	assert.Equal(t, float64(len(tests)), e.uplinks(resultOK))
	assert.Empty(t, e.tx.all(), "unconfirmed uplinks without MAC commands need no downlink")
	info, ok := e.s.Session(d.DevEUI)
	require.True(t, ok)
	assert.True(t, info.ABP)
	assert.Equal(t, uint32(2), info.FCntUp)
}

// TestDedupMultiGateway runs the real loop: three gateways inside the window
// give one uplink; a fourth copy after the window is processed on its own
// and rejected as a retransmission.
func TestDedupMultiGateway(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.TickInterval = time.Millisecond })
	e.up.ch = make(chan uplink.Uplink, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	phy := abpFrame(d, 7, []byte{0x42}).bytes(t)
	send := func(r uplink.RxInfo) {
		r.ReceivedAt = e.clock.Now()
		e.s.HandleFrame(ctx, Frame{PHYPayload: phy, RxInfo: r})
	}
	send(rx(gw1, -2, 100))
	e.clock.Advance(50 * time.Millisecond)
	send(rx(gw2, 9.5, 200))
	e.clock.Advance(100 * time.Millisecond)
	send(rx(gw3, 3, 300))
	e.clock.Advance(100 * time.Millisecond) // 250 ms after the first copy

	var up uplink.Uplink
	select {
	case up = <-e.up.ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no uplink")
	}
	require.Len(t, up.RxInfo, 3)
	assert.Equal(t, []lorawan.EUI64{gw2, gw3, gw1}, []lorawan.EUI64{up.RxInfo[0].GatewayID, up.RxInfo[1].GatewayID, up.RxInfo[2].GatewayID}, "best SNR first")
	assert.Equal(t, []byte{0x42}, up.Payload)

	send(rx(gw1, 1, 400)) // outside the window: a new window
	e.clock.Advance(300 * time.Millisecond)
	require.Eventually(t, func() bool { return e.uplinks(resultRetransmission) == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, float64(1), e.uplinks(resultOK))
	assert.Equal(t, float64(2), testutil.ToFloat64(e.s.m.dedupMerged))
	select {
	case up := <-e.up.ch:
		t.Fatalf("late copy handed on: %+v", up)
	default:
	}
}

// TestDedupWindowFromFirstReception checks that a copy arriving after the
// window opened by the first reception is not merged even if the window was
// not processed yet.
func TestDedupWindowFromFirstReception(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	phy := abpFrame(d, 1, []byte{1}).bytes(t)
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: rx(gw1, 1, 1)})
	e.clock.Advance(250 * time.Millisecond)
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: rx(gw2, 5, 2)})
	e.flush()
	require.Len(t, e.up.all(), 1)
	assert.Len(t, e.up.all()[0].RxInfo, 1)
	assert.Equal(t, float64(1), e.uplinks(resultRetransmission))
	assert.Equal(t, float64(0), testutil.ToFloat64(e.s.m.dedupMerged))
}

func TestOTAAJoinThenData(t *testing.T) {
	d := otaaDevice(1, "1.0.3")
	e := newEnv(t, []device.Device{d}, func(o *Options) {
		o.RX1DROffset = 1
		o.RX2DataRate = "SF9BW125"
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

func TestConfirmedUplinkACK(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	f := abpFrame(d, 3, []byte{1, 2, 3})
	f.confirmed = true
	phy := f.bytes(t)
	e.deliver(phy, rx(gw1, 5, 4_000_000_000), rx(gw2, 8, 123))

	dls := e.tx.all()
	require.Len(t, dls, 1)
	dl := dls[0]
	assert.Equal(t, gw2, dl.GatewayID)
	assert.Equal(t, uint32(123+1_000_000), dl.Tmst, "RX1 = tmst + 1 s")
	assert.Equal(t, uint32(868100000), dl.Frequency)
	assert.Equal(t, "SF7BW125", dl.DataRate)
	down, mac := decodeDown(t, dl.PHYPayload, d.NwkSKey, d.AppSKey)
	assert.Equal(t, lorawan.UnconfirmedDataDown, down.MHDR.MType)
	assert.True(t, mac.FHDR.FCtrl.ACK)
	assert.Equal(t, uint32(0), mac.FHDR.FCnt)
	require.Len(t, e.up.all(), 1)
	assert.True(t, e.up.all()[0].Confirmed)
	e.s.HandleTxAck(dl.ID, nil) // the gateway took RX1: no RX2 copy
	e.s.tick(e.ctx)
	require.Len(t, e.tx.all(), 1)

	// The device missed the ACK and sends again: ACKed once more, not handed on.
	e.deliver(phy, rx(gw1, 5, 2_000_000))
	dls = e.tx.all()
	require.Len(t, dls, 2)
	_, mac = decodeDown(t, dls[1].PHYPayload, d.NwkSKey, d.AppSKey)
	assert.True(t, mac.FHDR.FCtrl.ACK)
	assert.Equal(t, uint32(1), mac.FHDR.FCnt, "NFCntDown advances")
	// A third copy is not answered.
	e.deliver(phy, rx(gw1, 5, 3_000_000))
	assert.Len(t, e.tx.all(), 2)
	assert.Len(t, e.up.all(), 1)
	assert.Equal(t, float64(2), e.uplinks(resultRetransmission))

	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, uint32(2), info.NFCntDown)
}

func TestForgedMICRejected(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	good := abpFrame(d, 5, []byte{9, 9}).bytes(t)
	tests := []struct {
		name  string
		phy   func() []byte
		count string
	}{
		{"flipped payload bit", func() []byte { b := append([]byte(nil), good...); b[len(b)-5] ^= 1; return b }, resultMICInvalid},
		{"flipped MIC bit", func() []byte { b := append([]byte(nil), good...); b[len(b)-1] ^= 0x80; return b }, resultMICInvalid},
		{"wrong key", func() []byte {
			f := abpFrame(d, 5, []byte{9, 9})
			f.nwk[0] ^= 0xff
			return f.bytes(t)
		}, resultMICInvalid},
		{"unknown devaddr", func() []byte {
			f := abpFrame(d, 5, []byte{9, 9})
			f.addr[3] ^= 0xff
			return f.bytes(t)
		}, resultUnknownDevAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.uplinks(tt.count)
			e.deliver(tt.phy())
			assert.Equal(t, before+1, e.uplinks(tt.count))
			assert.Empty(t, e.up.all())
		})
	}
	_, ok := e.s.Session(d.DevEUI)
	assert.False(t, ok, "no ABP session created by a forged frame")
	// The genuine frame with the same counter is still accepted.
	e.deliver(good)
	assert.Len(t, e.up.all(), 1)
}

func TestReplayedFCntRejected(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	frames := map[uint32][]byte{}
	for _, fc := range []uint32{10, 11, 12} {
		frames[fc] = abpFrame(d, fc, []byte{byte(fc)}).bytes(t)
		e.deliver(frames[fc])
	}
	require.Len(t, e.up.all(), 3)
	e.deliver(frames[10])
	e.deliver(frames[11])
	assert.Equal(t, float64(2), e.uplinks(resultReplay))
	assert.Len(t, e.up.all(), 3)
	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, uint32(12), info.FCntUp)
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

func TestFCntRollover(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	seq := []uint32{16000, 32000, 48000, 64000, 65534, 65535, 65536, 65537, 131072}
	var want []uint32
	for _, fc := range seq[:len(seq)-1] {
		e.deliver(abpFrame(d, fc, []byte{1}).bytes(t))
		want = append(want, fc)
	}
	var got []uint32
	for _, up := range e.up.all() {
		got = append(got, up.FCnt)
		assert.Equal(t, []byte{1}, up.Payload, "decrypted with the 32-bit counter %d", up.FCnt)
	}
	assert.Equal(t, want, got)
	// 65536 travels as 16-bit 0.
	assert.Equal(t, []byte{0x00, 0x00}, abpFrame(d, 65536, []byte{1}).bytes(t)[6:8])
	// Replay of 65535 after the rollover.
	e.deliver(abpFrame(d, 65535, []byte{1}).bytes(t))
	assert.Equal(t, float64(1), e.uplinks(resultReplay))
	// 131072 is more than MAX_FCNT_GAP ahead of 65537.
	e.deliver(abpFrame(d, 131072, []byte{1}).bytes(t))
	assert.Equal(t, float64(1), e.uplinks(resultFCntGap))
}

func TestMaxFCntGap(t *testing.T) {
	tests := []struct {
		name string
		next uint32
		want string
	}{
		{"at the gap", 10 + 16384, resultOK},
		{"past the gap", 10 + 16385, resultFCntGap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := abpDevice(1)
			e := newEnv(t, []device.Device{d}, nil)
			e.deliver(abpFrame(d, 10, []byte{1}).bytes(t))
			before := e.uplinks(tt.want)
			e.deliver(abpFrame(d, tt.next, []byte{1}).bytes(t))
			assert.Equal(t, before+1, e.uplinks(tt.want))
			info, _ := e.s.Session(d.DevEUI)
			if tt.want == resultOK {
				assert.Equal(t, tt.next, info.FCntUp)
			} else {
				assert.Equal(t, uint32(10), info.FCntUp)
			}
		})
	}
}

func TestRestartKeepsCounters(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	old := abpFrame(d, 41, []byte{1}).bytes(t)
	e.deliver(old)
	f := abpFrame(d, 42, []byte{2})
	f.confirmed = true
	last := f.bytes(t)
	e.deliver(last)
	require.Len(t, e.tx.all(), 1)

	e.restart()
	info, ok := e.s.Session(d.DevEUI)
	require.True(t, ok)
	assert.Equal(t, uint32(42), info.FCntUp)
	assert.Equal(t, uint32(1), info.NFCntDown)

	e.deliver(old)
	assert.Equal(t, float64(1), e.uplinks(resultReplay))
	e.deliver(last)
	assert.Equal(t, float64(1), e.uplinks(resultRetransmission))
	f = abpFrame(d, 43, []byte{3})
	f.confirmed = true
	e.deliver(f.bytes(t))
	assert.Equal(t, float64(1), e.uplinks(resultOK))
	dls := e.tx.all()
	_, mac := decodeDown(t, dls[len(dls)-1].PHYPayload, d.NwkSKey, d.AppSKey)
	assert.Equal(t, uint32(2), mac.FHDR.FCnt, "NFCntDown continues after restart (retransmission re-ACK used 1)")
}

// TestCommittedBeforeHandedOn reads the bbolt file from inside the handler:
// the counter of the uplink being handed on must already be there.
func TestCommittedBeforeHandedOn(t *testing.T) {
	d := abpDevice(1)
	db, err := bolt.Open(t.TempDir()+"/shared.db", 0o600, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	st, err := NewState(db)
	require.NoError(t, err)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.State = st; o.StatePath = "" })
	var stored []uint32
	e.up.hook = func(up uplink.Uplink) {
		require.NoError(t, db.View(func(tx *bolt.Tx) error {
			var ss session
			if err := ss.unmarshal(d.DevEUI[:], tx.Bucket(bucketSessions).Get(d.DevEUI[:])); err != nil {
				return err
			}
			stored = append(stored, ss.FCntUp)
			return nil
		}))
	}
	for _, fc := range []uint32{1, 2} {
		e.s.HandleFrame(e.ctx, Frame{PHYPayload: abpFrame(d, fc, []byte{1}).bytes(t), RxInfo: rx(gw1, 1, 1)})
	}
	e.flush() // both in one batch: one transaction
	assert.Equal(t, []uint32{2, 2}, stored)
}

func TestLinkCheckAndDeviceTime(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	gpsTime := time.Date(2026, 1, 15, 6, 29, 59, 500_000_000, time.UTC)
	tests := []struct {
		name  string
		fport *uint8
		fopts bool
	}{
		{"in FOpts", port(2), true},
		{"in FRMPayload on port 0", port(0), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds := []lorawan.Payload{&lorawan.MACCommand{CID: lorawan.LinkCheckReq}, &lorawan.MACCommand{CID: lorawan.DeviceTimeReq}}
			f := abpFrame(d, uint32(i), []byte{0xaa})
			f.fport = tt.fport
			if tt.fopts {
				f.fopts = cmds
			} else {
				f.payload = nil
				f.fport = port(0)
				var raw []byte
				for _, c := range cmds {
					b, err := c.MarshalBinary()
					require.NoError(t, err)
					raw = append(raw, b...)
				}
				f.payload = raw
			}
			r1 := rx(gw1, 5, 1000)
			r1.DataRate = "SF9BW125"
			r1.Time = &gpsTime
			r2 := rx(gw2, -3, 2000)
			r2.DataRate = "SF9BW125"
			before := len(e.tx.all())
			e.deliver(f.bytes(t), r1, r2)
			dls := e.tx.all()
			require.Len(t, dls, before+1)
			_, mac := decodeDown(t, dls[before].PHYPayload, d.NwkSKey, d.AppSKey)
			require.Len(t, mac.FHDR.FOpts, 2)
			lc := mac.FHDR.FOpts[0].(*lorawan.MACCommand)
			require.Equal(t, lorawan.LinkCheckAns, lc.CID)
			lca := lc.Payload.(*lorawan.LinkCheckAnsPayload)
			assert.Equal(t, uint8(17), lca.Margin, "5 dB SNR - (-12.5 dB) required at SF9")
			assert.Equal(t, uint8(2), lca.GwCnt)
			dt := mac.FHDR.FOpts[1].(*lorawan.MACCommand)
			require.Equal(t, lorawan.DeviceTimeAns, dt.CID)
			dta := dt.Payload.(*lorawan.DeviceTimeAnsPayload)
			// 2026-01-15T06:29:59.5Z is 1452493817 GPS seconds (18 leap seconds) + 128/256.
			assert.Equal(t, 1452493817*time.Second+500*time.Millisecond, dta.TimeSinceGPSEpoch)
		})
	}
	ups := e.up.all()
	require.Len(t, ups, 1, "port 0 MAC-only frames are not handed on")
}

func TestClassAQueue(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.DownlinkQueueSize = 2 })
	id1, err := e.s.EnqueueDownlink(d.DevEUI, 20, []byte{0x01, 0x00}, false)
	require.NoError(t, err)
	_, err = e.s.EnqueueDownlink(d.DevEUI, 21, []byte{0x02}, false)
	require.NoError(t, err)
	_, err = e.s.EnqueueDownlink(d.DevEUI, 22, []byte{0x03}, false)
	require.ErrorIs(t, err, ErrQueueFull)
	assert.Equal(t, float64(1), testutil.ToFloat64(e.s.m.queueDropped))
	_, err = e.s.EnqueueDownlink(lorawan.EUI64{9}, 1, nil, false)
	require.ErrorIs(t, err, ErrUnknownDevice)
	assert.NotEmpty(t, id1)

	e.s.sendClassC(e.ctx) // a Class A device is not sent to without an uplink
	assert.Empty(t, e.tx.all())

	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t), rx(gw1, 1, 50))
	dls := e.tx.all()
	require.Len(t, dls, 1)
	assert.Equal(t, uint32(50+1_000_000), dls[0].Tmst)
	_, mac := decodeDown(t, dls[0].PHYPayload, d.NwkSKey, d.AppSKey)
	require.NotNil(t, mac.FPort)
	assert.Equal(t, uint8(20), *mac.FPort)
	assert.Equal(t, []byte{0x01, 0x00}, mac.FRMPayload[0].(*lorawan.DataPayload).Bytes)
	assert.True(t, mac.FHDR.FCtrl.FPending, "one more item queued")
	assert.False(t, mac.FHDR.FCtrl.ACK)

	e.deliver(abpFrame(d, 2, []byte{1}).bytes(t), rx(gw1, 1, 60))
	dls = e.tx.all()
	require.Len(t, dls, 2)
	_, mac = decodeDown(t, dls[1].PHYPayload, d.NwkSKey, d.AppSKey)
	assert.Equal(t, uint8(21), *mac.FPort)
	assert.Equal(t, uint32(1), mac.FHDR.FCnt)
	assert.False(t, mac.FHDR.FCtrl.FPending)

	e.deliver(abpFrame(d, 3, []byte{1}).bytes(t))
	assert.Len(t, e.tx.all(), 2, "queue empty: no downlink")
}

func TestConfirmedDownlinkRetriedUntilACK(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	_, err := e.s.EnqueueDownlink(d.DevEUI, 3, []byte{0x07}, true)
	require.NoError(t, err)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	e.deliver(abpFrame(d, 2, []byte{1}).bytes(t)) // no ACK bit: sent again
	f := abpFrame(d, 3, []byte{1})
	f.ack = true
	e.deliver(f.bytes(t))
	dls := e.tx.all()
	require.Len(t, dls, 2)
	for i, dl := range dls {
		down, mac := decodeDown(t, dl.PHYPayload, d.NwkSKey, d.AppSKey)
		assert.Equal(t, lorawan.ConfirmedDataDown, down.MHDR.MType)
		assert.Equal(t, uint32(i), mac.FHDR.FCnt)
	}
	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, 0, info.QueueLen)
}

func TestClassCImmediate(t *testing.T) {
	d := abpDevice(1)
	d.Class = device.ClassC
	e := newEnv(t, []device.Device{d}, nil)
	_, err := e.s.EnqueueDownlink(d.DevEUI, 30, []byte{0xc1}, false)
	require.NoError(t, err)
	e.s.sendClassC(e.ctx)
	assert.Empty(t, e.tx.all(), "no gateway known before the first uplink")

	// The first uplink carries the queued item in RX1 like Class A.
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t), rx(gw3, 2, 10))
	require.Len(t, e.tx.all(), 1)

	_, err = e.s.EnqueueDownlink(d.DevEUI, 31, []byte{0xc2, 0xc3}, false)
	require.NoError(t, err)
	e.s.sendClassC(e.ctx)
	require.Len(t, e.tx.all(), 1, "held off while RX1/RX2 of the uplink may be in use")
	e.clock.Advance(classCHoldoff)
	e.s.sendClassC(e.ctx)
	dls := e.tx.all()
	require.Len(t, dls, 2)
	dl := dls[1]
	assert.True(t, dl.Immediately)
	assert.Equal(t, gw3, dl.GatewayID)
	assert.Equal(t, uint32(869525000), dl.Frequency)
	assert.Equal(t, "SF12BW125", dl.DataRate)
	assert.True(t, dl.InvertPolarity)
	_, mac := decodeDown(t, dl.PHYPayload, d.NwkSKey, d.AppSKey)
	assert.Equal(t, uint8(31), *mac.FPort)
	assert.Equal(t, []byte{0xc2, 0xc3}, mac.FRMPayload[0].(*lorawan.DataPayload).Bytes)
	assert.Equal(t, uint32(1), mac.FHDR.FCnt)

	e.restart()
	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, uint32(2), info.NFCntDown, "NFCntDown persisted")
}

func TestInputQueueDrops(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.QueueSize = 2 })
	for fc := range uint32(5) {
		e.s.HandleFrame(e.ctx, Frame{PHYPayload: abpFrame(d, fc, []byte{1}).bytes(t), RxInfo: rx(gw1, 1, 1)})
	}
	e.flush()
	assert.Equal(t, float64(3), e.uplinks(resultDropped))
	assert.Equal(t, float64(2), e.uplinks(resultOK))
}

func TestDevAddrSharedByTwoSessions(t *testing.T) {
	a, b := abpDevice(1), abpDevice(2)
	b.DevAddr = a.DevAddr
	e := newEnv(t, []device.Device{a, b}, nil)
	e.deliver(abpFrame(a, 1, []byte{0xa}).bytes(t))
	e.deliver(abpFrame(b, 1, []byte{0xb}).bytes(t))
	e.deliver(abpFrame(b, 2, []byte{0xb}).bytes(t))
	ups := e.up.all()
	require.Len(t, ups, 3)
	assert.Equal(t, []lorawan.EUI64{a.DevEUI, b.DevEUI, b.DevEUI}, []lorawan.EUI64{ups[0].DevEUI, ups[1].DevEUI, ups[2].DevEUI})
}

func TestDecodeErrorsCounted(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, b := range [][]byte{{}, {0x40}, {0x40, 1, 2, 3, 4, 5}, {0xe0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}} {
		e.deliver(b)
	}
	assert.Equal(t, float64(4), e.uplinks(resultDecodeError))
}

// TestRunShutdownFlushes stops the loop while a frame is still inside its
// dedup window: it is processed, not lost.
func TestRunShutdownFlushes(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.DedupWindow = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx) }()
	e.s.HandleFrame(ctx, Frame{PHYPayload: abpFrame(d, 1, []byte{1}).bytes(t), RxInfo: rx(gw1, 1, 1)})
	time.Sleep(10 * time.Millisecond) // usually lets the loop take it into the window; the drain covers the rest
	cancel()
	require.NoError(t, <-done)
	assert.Len(t, e.up.all(), 1)
	info, ok := e.s.Session(d.DevEUI)
	require.True(t, ok)
	assert.Equal(t, uint32(1), info.FCntUp)
}

func TestQueuedPayloadWaitsForDataRate(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	big := make([]byte, 100)
	_, err := e.s.EnqueueDownlink(d.DevEUI, 9, big, false)
	require.NoError(t, err)
	slow := rx(gw1, 1, 10)
	slow.DataRate = "SF12BW125" // 51 bytes at most
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t), slow)
	assert.Empty(t, e.tx.all())
	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, 1, info.QueueLen)

	fast := rx(gw1, 1, 20)
	fast.DataRate = "SF7BW125"
	e.deliver(abpFrame(d, 2, []byte{1}).bytes(t), fast)
	assert.Empty(t, e.tx.all(), "RX2 at SF12 still limits the payload")
}

func TestQueuedPayloadFits(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	// An ABP session keeps the band's RX2 at DR0: 51 bytes fit.
	_, err := e.s.EnqueueDownlink(d.DevEUI, 9, make([]byte, 51), false)
	require.NoError(t, err)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	require.Len(t, e.tx.all(), 1)
}

// TestCommitFailureNotHandedOn closes the bbolt file under the server: the
// frame must be counted as a store error and neither handed on nor answered.
func TestCommitFailureNotHandedOn(t *testing.T) {
	d := abpDevice(1)
	db, err := bolt.Open(t.TempDir()+"/shared.db", 0o600, nil)
	require.NoError(t, err)
	st, err := NewState(db)
	require.NoError(t, err)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.State = st; o.StatePath = "" })
	require.NoError(t, db.Close())
	f := abpFrame(d, 1, []byte{1})
	f.confirmed = true
	e.deliver(f.bytes(t))
	assert.Equal(t, float64(1), e.uplinks(resultStoreError))
	assert.Empty(t, e.up.all())
	assert.Empty(t, e.tx.all())
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

func TestSkipFCntCheckDeviceResets(t *testing.T) {
	d := abpDevice(1)
	d.SkipFCntCheck = true
	e := newEnv(t, []device.Device{d}, nil)
	for _, fc := range []uint32{100, 101, 0, 1} {
		e.deliver(abpFrame(d, fc, []byte{byte(fc)}).bytes(t))
	}
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	ups := e.up.all()
	require.Len(t, ups, 4)
	assert.Equal(t, []byte{0}, ups[2].Payload)
	assert.Equal(t, float64(1), e.uplinks(resultRetransmission))
}
