package soak

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clockJumps are the offsets the gateways' GPS clocks jump to, in turn:
// back and forth by hours and by more than a day.
var clockJumps = []time.Duration{0, -3 * time.Hour, 5 * time.Hour, -27 * time.Hour, 49 * time.Hour, -2 * time.Hour, 26 * time.Hour}

// The gateways' GPS time (rxpk.time, which dates the measurements) jumps
// back and forth by hours while every uplink is heard by two gateways that
// agree on the jumped time. The daemon's own clock is the system clock and
// is not moved: it is a static Go binary, so faketime's LD_PRELOAD cannot
// reach it, and moving the machine's clock would disturb everything else
// on it; what is tested is data time that jumps.
//   - the daemon stays up;
//   - every uplink is stored once, at its own (jumped) time, with the
//     values sent;
//   - dedup is unaffected: every second reception is merged;
//   - FCnt checks are unaffected: frames replayed after a jump, dated at
//     the newer time, are rejected, and the counters go on afterwards.
func TestDataClockJumps(t *testing.T) {
	dur := soakDuration(t)
	h := newHarness(t, harnessOptions{devices: 20})
	h.start()
	fws := []*forwarder{newForwarder(t, h.udpPort, 1), newForwarder(t, h.udpPort, 2)}

	const rate = 30.0
	phase := dur / time.Duration(len(clockJumps))
	start := time.Now()
	var replays []sentUplink
	n, jumps := 0, 0
	for time.Since(start) < dur {
		k := int(time.Since(start) / phase)
		if k >= len(clockJumps) {
			k = len(clockJumps) - 1
		}
		if k != jumps {
			jumps = k
			// Replay the last frame sent before the jump, dated after it.
			replays = append(replays, h.fleet.sent[len(h.fleet.sent)-1])
		}
		// The network's GPS clock: the run's own seconds plus the jump.
		at := h.fleet.base.Add(time.Duration(n)*time.Second + clockJumps[k])
		u := h.fleet.nextUplink(at)
		for _, fw := range fws {
			fw.push(u.phy, u.at)
		}
		n++
		time.Sleep(time.Second / rate)
	}
	sent := h.fleet.sentCount()
	h.waitMetric(mStored, 15*time.Second, func(v float64) bool { return v == float64(sent) }, "every uplink stored")
	merged := h.metric(`loraedge_network_dedup_merged_total`)
	require.Equal(t, float64(sent), merged, "every second reception merged")

	time.Sleep(300 * time.Millisecond) // past the dedup window
	for i, u := range replays {
		u.at = u.at.Add(time.Duration(i+1) * 7 * time.Hour)
		fws[0].push(u.phy, u.at)
	}
	h.waitFor("replays after clock jumps rejected", 10*time.Second, func() float64 { return h.metric(mReplay) + h.metric(mRetrans) },
		func(v float64) bool { return v == float64(len(replays)) })
	// And the devices go on.
	u := h.fleet.nextUplink(h.fleet.base.Add(-100 * time.Hour))
	fws[0].push(u.phy, u.at)
	h.waitMetric(mStored, 10*time.Second, func(v float64) bool { return v == float64(sent+1) }, "uplink after the replays stored")
	require.NoError(t, h.d.Alive())
	h.stop()

	st, _ := readStore(t, h.dataDir)
	h.fleet.checkAgainstSent(t, st, "store")
	require.Equal(t, sent+1, st.uplinks(), "every uplink stored once at its own time")
	require.Equal(t, (sent+1)*measurementsPerUplink, st.points())
	t.Logf("%d uplinks at %.0f/s, each heard by 2 gateways, GPS clock jumps %v; %d replays after jumps rejected",
		sent, rate, clockJumps[:jumps+1], len(replays))
}
