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
)

// fakeRoaming homes DevAddrs of one block and one device at a peer.
type fakeRoaming struct {
	mu      sync.Mutex
	peer    roaming.Block
	peerDev lorawan.EUI64
	got     []roaming.Frame
}

func (f *fakeRoaming) ForeignDevAddr(a lorawan.DevAddr) bool { return f.peer.Contains(a) }
func (f *fakeRoaming) ForeignJoin(_, dev lorawan.EUI64) bool { return dev == f.peerDev }
func (f *fakeRoaming) Forward(fw roaming.Frame) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, fw)
	return "peer-b"
}

func roamingEnv(t *testing.T, devs []device.Device, peerDev lorawan.EUI64) (*env, *fakeRoaming) {
	t.Helper()
	own, err := roaming.ParseBlock("26000000/10")
	require.NoError(t, err)
	peer, err := roaming.ParseBlock("26400000/10")
	require.NoError(t, err)
	fr := &fakeRoaming{peer: peer, peerDev: peerDev}
	e := newEnv(t, devs, func(o *Options) {
		o.Roaming, o.DevAddrBlocks = fr, []roaming.Block{own}
		o.NetID = lorawan.NetID{0, 0, 0x13}
	})
	return e, fr
}

// A peer's frame goes to Roaming with every local reception, best SNR
// first, after the short forward window, and is not processed here.
func TestRoamingForwardsPeerFrames(t *testing.T) {
	foreign := abpDevice(1)
	foreign.DevAddr = lorawan.DevAddr{0x26, 0x40, 0x00, 0x01}
	joiner := otaaDevice(2, "1.0.3")
	e, fr := roamingEnv(t, []device.Device{foreign, joiner}, joiner.DevEUI)
	var results []string
	done := func(r string) { results = append(results, r) }

	phy := abpFrame(foreign, 1, []byte{1}).bytes(t)
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: rx(gw1, 2, 10), Done: done})
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: rx(gw2, 9, 20)})
	e.clock.Advance(defaultForwardWindow + time.Millisecond)
	e.s.tick(e.ctx)
	require.Len(t, fr.got, 1, "forwarded once the forward window closed, well before the dedup window")
	assert.Equal(t, phy, fr.got[0].PHYPayload)
	require.Len(t, fr.got[0].RxInfo, 2)
	assert.Equal(t, gw2, fr.got[0].RxInfo[0].GatewayID, "best SNR first")
	assert.False(t, fr.got[0].Join)
	assert.Equal(t, []string{ResultForwarded}, results)
	assert.Equal(t, 1.0, e.uplinks(ResultForwarded))
	assert.Empty(t, e.up.all(), "not processed here")

	e.deliver(joinRequest(t, joiner, 1))
	require.Len(t, fr.got, 2)
	assert.True(t, fr.got[1].Join)
	assert.Equal(t, 1.0, e.joins(ResultForwarded))
	assert.Empty(t, e.tx.all(), "no join-accept from a forwarder")

	// A frame that came from a peer (as this instance is its home) is never
	// forwarded again: here it is an unknown DevAddr.
	results = nil
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: abpFrame(foreign, 2, []byte{1}).bytes(t), RxInfo: rx(gw3, 2, 10), Remote: true, Done: done})
	e.flush()
	assert.Len(t, fr.got, 2)
	assert.Equal(t, []string{ResultUnknownDevAddr}, results)
}

// OTAA joins draw DevAddrs from this instance's block only.
func TestRoamingDevAddrFromOwnBlock(t *testing.T) {
	devs := make([]device.Device, 40)
	for i := range devs {
		devs[i] = otaaDevice(byte(i+1), "1.0.3")
	}
	e, _ := roamingEnv(t, devs, lorawan.EUI64{})
	own, _ := roaming.ParseBlock("26000000/10")
	for _, d := range devs {
		addr, _, _ := e.joinAndKeys(t, d, 1)
		assert.True(t, own.Contains(addr), "%s", addr)
	}
}

// A home processes a forwarded copy with its local ones in one dedup window
// (once), tells each sender the result, and a replayed forwarded copy is
// rejected; a late copy (from a peer's outage queue) is stored but answered
// with no downlink.
func TestRoamingHomeMergesAndChecks(t *testing.T) {
	d := abpDevice(3)
	e, _ := roamingEnv(t, []device.Device{d}, lorawan.EUI64{})
	var local, remote []string
	phy := abpFrame(d, 1, []byte{1}).bytes(t)
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: rx(gw1, 2, 10), Done: func(r string) { local = append(local, r) }})
	e.clock.Advance(150 * time.Millisecond)
	far := rx(gw3, 8, 0)
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: far, Remote: true, Done: func(r string) { remote = append(remote, r) }})
	e.flush()
	assert.Equal(t, []string{ResultOK}, local)
	assert.Equal(t, []string{ResultOK}, remote)
	ups := e.up.all()
	require.Len(t, ups, 1, "stored once")
	require.Len(t, ups[0].RxInfo, 2)
	assert.Equal(t, gw3, ups[0].RxInfo[0].GatewayID, "the peer's gateway heard it best")

	// The same frame again from the peer: a replay, rejected and reported.
	remote = nil
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: far, Remote: true, Done: func(r string) { remote = append(remote, r) }})
	e.flush()
	assert.Equal(t, []string{ResultRetransmission}, remote)
	assert.Len(t, e.up.all(), 1)

	// A forged frame from a peer fails the MIC.
	forged := abpFrame(d, 2, []byte{1}).bytes(t)
	forged[len(forged)-1] ^= 0xff
	remote = nil
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: forged, RxInfo: far, Remote: true, Done: func(r string) { remote = append(remote, r) }})
	e.flush()
	assert.Equal(t, []string{ResultMICInvalid}, remote)

	// A late confirmed frame: stored, no ACK (its windows passed).
	before := len(e.tx.all())
	late := abpFrame(d, 3, []byte{1})
	late.confirmed = true
	e.s.HandleFrame(e.ctx, Frame{PHYPayload: late.bytes(t), RxInfo: far, Remote: true, Late: true})
	e.flush()
	assert.Len(t, e.up.all(), 2)
	assert.Len(t, e.tx.all(), before, "no downlink for a late frame")
}
