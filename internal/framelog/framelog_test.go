package framelog

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/uplink"
)

func up(dev string, fcnt uint32, gws ...string) uplink.FrameEvent {
	ev := uplink.FrameEvent{Time: time.Unix(1700000000, 0), Direction: uplink.Up, DevEUI: dev, MType: "UnconfirmedDataUp",
		FCnt: &fcnt, Size: 23, Result: uplink.ResultAccepted, DataRate: "SF7BW125", Frequency: 868100000}
	for _, g := range gws {
		ev.Gateways = append(ev.Gateways, uplink.FrameGateway{ID: g, RSSI: -90, SNR: 7.5})
	}
	return ev
}

func TestFramesByDeviceAndGateway(t *testing.T) {
	l, err := New(Config{PerDevice: 3, PerGateway: 4, MaxDevices: 10, MaxGateways: 2}, nil)
	require.NoError(t, err)
	for i := range 5 {
		l.ObserveFrame(up("d1", uint32(i), "g1"))
		l.ObserveFrame(up("d2", uint32(i), "g1", "g2"))
	}
	d1 := l.Frames(Query{Device: "d1"})
	require.Len(t, d1, 3, "the ring keeps 3 per device")
	assert.Equal(t, uint32(4), *d1[0].FCnt, "newest first")
	assert.Equal(t, uint32(2), *d1[2].FCnt)
	assert.Len(t, l.Frames(Query{Gateway: "g1"}), 4)
	g2 := l.Frames(Query{Gateway: "g2"})
	require.Len(t, g2, 4)
	for _, f := range g2 {
		assert.Equal(t, "d2", f.DevEUI)
	}
	assert.Len(t, l.Frames(Query{Device: "d2", Gateway: "g2", Limit: 2}), 2)
	assert.Empty(t, l.Frames(Query{Device: "nobody"}))
	all := l.Frames(Query{})
	assert.Len(t, all, 7, "3+3 device frames, and g1's ring adds d1's fcnt 3 once")
}

func TestResultAndTxAckAndStream(t *testing.T) {
	l, err := New(DefaultConfig(), nil)
	require.NoError(t, err)
	frames, cancel := l.Subscribe(Query{Device: "d1"})
	defer cancel()
	l.ObserveFrame(up("d1", 7, "g1"))
	l.ObserveFrame(up("d2", 1, "g1"))
	l.ObserveResult("d1", 7, uplink.ResultDecodeError, "payload too short: 3 bytes")
	l.ObserveFrame(uplink.FrameEvent{Direction: uplink.Down, DevEUI: "d1", MType: "UnconfirmedDataDown", Result: uplink.ResultSent,
		DownlinkID: 42, Gateways: []uplink.FrameGateway{{ID: "g1"}}})
	l.ObserveTxAck("g1", 42, errors.New("TOO_LATE"))

	got := l.Frames(Query{Device: "d1"})
	require.Len(t, got, 2)
	assert.Equal(t, "TOO_LATE", got[0].TxAck)
	assert.Equal(t, uplink.ResultDecodeError, got[1].Result)
	assert.Equal(t, "payload too short: 3 bytes", got[1].Reason)

	var stream []uplink.FrameEvent
	for range 4 {
		select {
		case f := <-frames:
			stream = append(stream, f)
		case <-time.After(time.Second):
			t.Fatal("stream stalled")
		}
	}
	assert.Equal(t, uplink.ResultAccepted, stream[0].Result)
	assert.Equal(t, uplink.ResultDecodeError, stream[1].Result, "the update is streamed with the same seq")
	assert.Equal(t, stream[0].Seq, stream[1].Seq)
	assert.Equal(t, uplink.Down, stream[2].Direction)
	assert.Equal(t, "TOO_LATE", stream[3].TxAck)
	select {
	case f := <-frames:
		t.Fatalf("d2's frame streamed to d1's subscriber: %+v", f)
	default:
	}
}

// A flood of frames from 200,000 random DevEUIs through 550 gateways keeps
// the log within its bounds: rings, frames and heap.
func TestFloodStaysBounded(t *testing.T) {
	cfg := DefaultConfig()
	l, err := New(cfg, nil)
	require.NoError(t, err)
	// A subscriber that never reads must not hold anything up.
	_, cancel := l.Subscribe(Query{})
	defer cancel()
	rng := rand.New(rand.NewPCG(1, 2))
	var ms runtime.MemStats
	heapAt := func() uint64 { runtime.GC(); runtime.ReadMemStats(&ms); return ms.HeapAlloc }
	base := heapAt()
	for i := range 200_000 {
		// First through 500 spoofed gateway ids, then through 50 gateways
		// that fill their rings.
		gws := 50
		if i < 100_000 {
			gws = 500
		}
		l.ObserveFrame(up(fmt.Sprintf("%016x", rng.Uint64()), uint32(i), fmt.Sprintf("gw%03d", rng.IntN(gws))))
	}
	devs, gws, frames := l.Len()
	assert.Equal(t, cfg.MaxDevices, devs)
	assert.Equal(t, cfg.MaxGateways, gws)
	assert.LessOrEqual(t, frames, cfg.MaxDevices*cfg.PerDevice+cfg.MaxGateways*cfg.PerGateway)
	grown := int64(heapAt()) - int64(base)
	t.Logf("after the flood: %d device rings, %d gateway rings, %d frames, heap +%d KiB", devs, gws, frames, grown/1024)
	assert.Less(t, grown, int64(16<<20), "heap growth")
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	err := Config{PerDevice: 0, PerGateway: 5, MaxDevices: 1, MaxGateways: 2000}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "frame_log.per_device: 0 is outside 1..1000")
	assert.Contains(t, err.Error(), "frame_log.max_gateways: 2000 is outside 1..1024")
}

func TestForwardOutcome(t *testing.T) {
	l, err := New(DefaultConfig(), nil)
	require.NoError(t, err)
	fwd := func(addr string, fcnt uint32, gws ...string) uplink.FrameEvent {
		ev := up("", fcnt, gws...)
		ev.DevAddr, ev.Result, ev.Reason = addr, uplink.ResultForwarded, "forwarded to kreis-b, the device's home"
		return ev
	}
	l.ObserveFrame(fwd("02000001", 5, "g1", "g2"))
	l.ObserveFrame(fwd("02000001", 6, "g1"))
	l.ObserveForward("g2", fwd("02000001", 5), "forwarded to kreis-b, the device's home: accepted")
	got := l.Frames(Query{Gateway: "g1"})
	require.Len(t, got, 2)
	assert.Equal(t, "forwarded to kreis-b, the device's home", got[0].Reason, "fcnt 6 has no answer yet")
	assert.Equal(t, "forwarded to kreis-b, the device's home: accepted", got[1].Reason)

	// The home answered before the network layer reported the frame.
	l.ObserveForward("g3", fwd("02000001", 7), "queued for kreis-b, which does not answer: sent when it is back")
	l.ObserveFrame(fwd("02000001", 7, "g3"))
	got = l.Frames(Query{Gateway: "g3"})
	require.Len(t, got, 1)
	assert.Equal(t, "queued for kreis-b, which does not answer: sent when it is back", got[0].Reason)
	assert.Empty(t, l.early, "an applied early outcome is not kept")

	for i := range maxEarly + 10 {
		l.ObserveForward("g4", fwd("02000002", uint32(i)), "x")
	}
	assert.Len(t, l.early, maxEarly, "early outcomes are bounded")
	assert.Len(t, l.earlyKeys, maxEarly)
}
