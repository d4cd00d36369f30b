package network

import (
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/roaming"
	"github.com/loraedge/loraedge/internal/uplink"
)

// frameRecorder is a FrameObserver that keeps what it hears.
type frameRecorder struct {
	mu  sync.Mutex
	evs []uplink.FrameEvent
}

func (r *frameRecorder) ObserveFrame(ev uplink.FrameEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
}

func (r *frameRecorder) all() []uplink.FrameEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uplink.FrameEvent(nil), r.evs...)
}

// The frame log shows a peer's frame as forwarded to its home (a data
// frame and a join request alike), and at the home which gateways were a
// peer's.
func TestRoamingFrameLog(t *testing.T) {
	foreign := abpDevice(1)
	foreign.DevAddr = lorawan.DevAddr{0x26, 0x40, 0x00, 0x01}
	joiner := otaaDevice(2, "1.0.3")
	own := abpDevice(3)
	rec := &frameRecorder{}
	fr := &fakeRoaming{peerDev: joiner.DevEUI}
	var err error
	fr.peer, err = roaming.ParseBlock("26400000/10")
	require.NoError(t, err)
	e := newEnv(t, []device.Device{foreign, joiner, own}, func(o *Options) {
		block, err := roaming.ParseBlock("26000000/10")
		require.NoError(t, err)
		o.Roaming, o.DevAddrBlocks, o.Frames = fr, []roaming.Block{block}, rec
		o.NetID = lorawan.NetID{0, 0, 0x13}
	})

	e.s.HandleFrame(e.ctx, Frame{PHYPayload: abpFrame(foreign, 1, []byte{1}).bytes(t), RxInfo: rx(gw1, 2, 10)})
	e.clock.Advance(defaultForwardWindow + time.Millisecond)
	e.s.tick(e.ctx)
	e.deliver(joinRequest(t, joiner, 1))
	evs := rec.all()
	require.Len(t, evs, 2)
	for _, ev := range evs {
		assert.Equal(t, uplink.ResultForwarded, ev.Result, ev.MType)
		assert.Equal(t, "forwarded to peer-b, the device's home", ev.Reason, ev.MType)
	}
	assert.Equal(t, "26400001", evs[0].DevAddr)
	assert.Equal(t, "JoinRequest", evs[1].MType)

	phy := abpFrame(own, 1, []byte{1}).bytes(t)
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: rx(gw1, 2, 10)})
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: rx(gw3, 8, 0), Remote: true, Peer: "kreis-c"})
	e.flush()
	evs = rec.all()
	require.Len(t, evs, 3)
	ev := evs[2]
	assert.Equal(t, uplink.ResultAccepted, ev.Result)
	require.Len(t, ev.Gateways, 2)
	assert.Equal(t, gw3.String(), ev.Gateways[0].ID, "best SNR first")
	assert.Equal(t, "kreis-c", ev.Gateways[0].Peer, "heard via the peer's gateway")
	assert.Empty(t, ev.Gateways[1].Peer, "a local gateway")
}
