package sim

import (
	"net"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/semtechudp"
)

// FuzzGatewayHandle feeds arbitrary datagrams "from the daemon" to a
// gateway wired to the building scenario's devices: nothing may panic,
// whatever the bytes.
func FuzzGatewayHandle(f *testing.F) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(f, err)
	f.Cleanup(func() { pc.Close() })

	sim, err := New(Options{Target: pc.LocalAddr().String(), Config: Config{Scenario: "building-meters"}})
	require.NoError(f, err)
	a := newAir(sim.nodes, *sim.opts.Link, linkMeans(sim.nodes, 1, *sim.opts.Link, 1), time.Minute, time.Minute, &sim.stats, sim.opts.Logger, 1)
	g, err := newGateway(0, pc.LocalAddr().(*net.UDPAddr), &sim.opts, NewClock(sim.opts.Start, 600), a, &sim.stats, 1)
	require.NoError(f, err)
	f.Cleanup(func() { g.conn.Close() })
	a.gateways = []*gateway{g}

	// Seeds: acks, a PULL_RESP with a valve downlink, one with garbage.
	klax := sim.nodes[0] // ABP: has a session without a join
	_, err = klax.dataUplink(FPortKLAX, []byte{0}, true, time.Now())
	require.NoError(f, err)
	d := klax.sd.dev
	down := serverDownlink(f, d.DevAddr, d.NwkSKey, d.AppSKey, 0, true, true, 7, []byte{1, 2})
	sess := &testSession{nwk: d.NwkSKey, app: d.AppSKey, fCntDown: 1}
	macFOpts := macDown(f, d.DevAddr, sess, macDownlink{cmds: []lorawan.MACCommand{linkADRReq(5, 2, 1, 0, 1, 2), {CID: lorawan.DevStatusReq}}})
	sess.fCntDown++
	macPort0 := macDown(f, d.DevAddr, sess, macDownlink{port0: true, cmds: []lorawan.MACCommand{
		{CID: lorawan.RXTimingSetupReq, Payload: &lorawan.RXTimingSetupReqPayload{Delay: 3}}}})
	for _, p := range []interface{ MarshalBinary() ([]byte, error) }{
		&semtechudp.PushAckPacket{ProtocolVersion: 2, RandomToken: 1},
		&semtechudp.PullAckPacket{ProtocolVersion: 1, RandomToken: 2},
		&semtechudp.PullRespPacket{ProtocolVersion: 2, RandomToken: 3, Payload: semtechudp.PullRespPayload{TXPK: semtechudp.TXPK{
			Data: []byte{0x20, 1, 2, 3}, Size: 4}}},
		&semtechudp.PullRespPacket{ProtocolVersion: 2, RandomToken: 4, Payload: semtechudp.PullRespPayload{TXPK: semtechudp.TXPK{
			Data: down, Size: uint16(len(down))}}},
		&semtechudp.PullRespPacket{ProtocolVersion: 2, RandomToken: 5, Payload: semtechudp.PullRespPayload{TXPK: semtechudp.TXPK{
			Data: macFOpts, Size: uint16(len(macFOpts))}}},
		&semtechudp.PullRespPacket{ProtocolVersion: 2, RandomToken: 6, Payload: semtechudp.PullRespPayload{TXPK: semtechudp.TXPK{
			Data: macPort0, Size: uint16(len(macPort0))}}},
	} {
		b, err := p.MarshalBinary()
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{2, 0, 0, 3, '{', '}'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		g.handle(b)
	})
}
