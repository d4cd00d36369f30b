package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// sinkConfig is the daemon's YAML for the MQTT and InfluxDB sinks,
// retrying fast so that short runs converge.
func sinkConfig(mq *testserver.Mosquitto, ifx *testserver.InfluxDB) string {
	return fmt.Sprintf("mqtt:\n  enabled: true\n  url: %q\n  backoff_min: 100ms\n  backoff_max: 1s\n  publish_timeout: 5s\n  connect_timeout: 2s\n", mq.URL()) +
		fmt.Sprintf("influx:\n  enabled: true\n  url: %q\n  org: %q\n  bucket: %q\n  flush_interval: 100ms\n  max_backoff: 1s\n  timeout: 2s\n",
			ifx.URL, ifx.Org, ifx.Bucket)
}

// kill -9 at random moments under a steady load of uplinks with unique
// frame counters, restarting on the same data dir each time:
//   - every uplink the daemon counted as stored (its stored counter read
//     just before each kill) is in the store afterwards;
//   - everything that reached MQTT (published only from durable log
//     records) is in the store afterwards, with the values sent;
//   - the store passes store.Check (no corruption; a torn tail is fine);
//   - frames whose measurements were already published, replayed right
//     after a restart, are all rejected as replays: a crash reopens no
//     replay window;
//   - after a last clean run, InfluxDB holds exactly the store's
//     measurements and MQTT delivered every one at least once, each id
//     always with the same content.
func TestKillLoop(t *testing.T) {
	dur := soakDuration(t)
	mq := testserver.StartMosquitto(t)
	ifx := testserver.StartInfluxDB(t)
	h := newHarness(t, harnessOptions{devices: 50, extra: sinkConfig(mq, ifx)})
	col := newMQTTCollector(t, mq.URL())
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 9))
	t.Logf("seed %d, load time %s", seed, dur)

	h.start()
	fws := []*forwarder{newForwarder(t, h.udpPort, 1), newForwarder(t, h.udpPort, 2)}
	const rate = 40.0 // uplinks/s, 240 measurements/s
	ctx, stopLoad := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); h.fleet.load(ctx, rate, fws, nil) }()
	defer func() { stopLoad(); <-loadDone }()

	start := time.Now()
	kills, replayed := 0, 0
	// acked sums, over the daemon's lives, the uplinks it counted as
	// stored (Append returned after the fsync) just before each kill.
	acked := 0.0
	var down time.Duration
	for time.Since(start) < dur {
		// Up between 0.3 and 1.5 s: kills land in every phase (group
		// commit, seal, MQTT batch in flight, state commit).
		time.Sleep(300*time.Millisecond + time.Duration(rng.Int64N(int64(1200*time.Millisecond))))
		require.NoError(t, h.d.Alive(), "the daemon died on its own")
		acked += h.metric(mStored)
		h.kill()
		kills++
		t0 := time.Now()
		h.start()
		down += time.Since(t0)

		// Replay, for some devices, the newest frame whose measurements
		// were published: its FCnt was committed before it was stored.
		rep := newestPublished(h, col, 5, rng)
		before := h.metric(mReplay) + h.metric(mRetrans)
		for _, u := range rep {
			fws[0].push(u.phy, u.at)
		}
		want := before + float64(len(rep))
		h.waitFor("replayed frames rejected", 10*time.Second, func() float64 { return h.metric(mReplay) + h.metric(mRetrans) },
			func(v float64) bool { return v == want })
		replayed += len(rep)
	}
	stopLoad()
	<-loadDone
	h.waitQuiet(time.Second, 10*time.Second)
	acked += h.metric(mStored)
	h.kill() // the last stop is a crash too
	kills++
	sent := h.fleet.sentCount()

	st, rep := readStore(t, h.dataDir)
	h.fleet.checkAgainstSent(t, st, "store")
	require.GreaterOrEqual(t, float64(st.uplinks()), acked, "every uplink the daemon counted as stored before a kill survives it")
	pub := col.content()
	n, ex := pub.missingFrom(st, 5)
	require.Zero(t, n, "measurements published on MQTT but missing from the store after kill -9: %v", ex)
	t.Logf("%d kills (mean restart %s), %d uplinks sent at %.0f/s, %d stored (%.0f counted as stored before the kills; %d measurements; lost in flight at kills: %.1f%%), %d published before the end, %d replays rejected; store: %d segments, torn tail %v",
		kills, (down / time.Duration(max(1, kills-1))).Round(time.Millisecond), sent, rate, st.uplinks(), acked, st.points(),
		100*float64(sent-st.uplinks())/float64(sent), pub.points(), replayed, rep.Segments, rep.TornTail)

	// A clean last run drains the sinks from the log.
	h.start()
	checkDelivered(t, h, col, ifx, st)
	h.stop()
}

// newestPublished picks up to n devices at random and, for each, the
// uplink with the highest frame counter whose measurements reached MQTT.
func newestPublished(h *harness, col *mqttCollector, n int, rng *rand.Rand) []sentUplink {
	newest := map[int]sentUplink{}
	for dev, byT := range col.content() {
		for ns := range byT {
			u, ok := h.fleet.lookup(dev, time.Unix(0, ns).UTC())
			if ok && u.fcnt >= newest[u.dev].fcnt {
				newest[u.dev] = u
			}
		}
	}
	var out []sentUplink
	for _, u := range newest {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].dev < out[j].dev })
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// checkDelivered waits until InfluxDB holds exactly the store's
// measurements (same count, nothing missing, nothing extra) and MQTT has
// delivered each at least once.
func checkDelivered(t *testing.T, h *harness, col *mqttCollector, ifx *testserver.InfluxDB, st content) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		missMQTT, exMQTT := st.missingFrom(col.content(), 5)
		ic, rows := influxContent(t, ifx.URL, ifx.Database)
		missIfx, exIfx := st.missingFrom(ic, 5)
		extraIfx, _ := ic.missingFrom(st, 5)
		if missMQTT == 0 && missIfx == 0 && extraIfx == 0 && rows == st.points() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sinks did not converge: MQTT misses %d (%v); InfluxDB misses %d (%v), has %d extra, %d rows for %d stored",
				missMQTT, exMQTT, missIfx, exIfx, extraIfx, rows, st.points())
		}
		time.Sleep(200 * time.Millisecond)
	}
	ids, msgs, conflicts := col.stats()
	require.Empty(t, conflicts, "MQTT ids must be stable: the same id always names the same measurement")
	t.Logf("MQTT: %d distinct ids in %d messages (%d resent); InfluxDB: %d points", ids, msgs, msgs-ids, st.points())
}
