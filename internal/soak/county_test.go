package soak

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A county network of two daemons, each a child process: the forwarder
// hears the home's devices only. The home is killed with SIGKILL while
// idle and the forwarder keeps sending; the frames wait in the forwarder's
// durable queue, and after the home's restart every uplink is stored
// exactly once (replays of delivered frames are rejected) and the queue is
// empty.
func TestCountyHomeKilled(t *testing.T) {
	c := newCounty(t, 4, "")
	home, fwd := c.home, c.fwd
	radio := newForwarder(t, fwd.udpPort, 1)
	const queued = `loraedge_roaming_queue_depth{peer="home"}`

	send := func(n int) {
		for range n {
			u := home.fleet.nextUplink(time.Time{})
			radio.push(u.phy, u.at)
			time.Sleep(5 * time.Millisecond)
		}
	}
	send(20)
	home.waitMetric(mStored, 20*time.Second, func(v float64) bool { return v == 20 }, "the first 20 uplinks stored at the home")
	require.Equal(t, 20.0, fwd.metric(`loraedge_network_uplinks_total{result="forwarded"}`))
	require.Zero(t, fwd.metric(mNetOK), "nothing processed at the forwarder")

	home.kill()
	send(20)
	fwd.waitMetric(queued, 20*time.Second, func(v float64) bool { return v == 20 }, "20 frames queued for the dead home")
	home.start()
	home.waitMetric(mNetOK, 30*time.Second, func(v float64) bool { return v == 20 }, "the queued frames stored after the restart")
	fwd.waitMetric(queued, 10*time.Second, func(v float64) bool { return v == 0 }, "the queue drained")
	home.waitMetric(mStored, 10*time.Second, func(v float64) bool { return v == 20 }, "stored")

	// Replays of frames the home already has: rejected, none stored twice.
	for i := range 10 {
		u, ok := home.fleet.sentAt(i)
		require.True(t, ok)
		radio.push(u.phy, u.at)
	}
	home.waitMetric(mReplay, 10*time.Second, func(v float64) bool { return v == 10 }, "replays rejected")
	require.Equal(t, 20.0, home.metric(mStored))
	require.Zero(t, home.metric(mMIC))
}
