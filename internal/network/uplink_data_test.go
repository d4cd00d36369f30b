package network

import (
	"context"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
