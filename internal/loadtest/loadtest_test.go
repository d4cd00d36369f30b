package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/testserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.RemoveDaemonBinary()
	os.Exit(code)
}

// buildDaemon builds cmd/loraedge once for every test of the package.
func buildDaemon(t *testing.T) string {
	t.Helper()
	return testserver.DaemonBinary(t)
}

// The whole daemon as a child process at one low rate: nothing is lost,
// every frame heard twice is merged, and the figures are plausible.
func TestRunLowRate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	bin := buildDaemon(t)
	var progress strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{
		Binary: bin, Devices: 100, Gateways: 3, Rates: []float64{300}, StepDuration: 3 * time.Second,
		Settle: time.Second, Progress: &progress,
	})
	require.NoError(t, err, progress.String())
	t.Log("\n" + rep.String())
	require.Len(t, rep.Steps, 1)
	s := rep.Steps[0]
	assert.Equal(t, 900, s.Uplinks)
	assert.EqualValues(t, 900, s.Stored, "every uplink stored")
	assert.EqualValues(t, 900, s.NetworkOK)
	assert.Zero(t, s.LossPercent)
	assert.Greater(t, s.Datagrams, s.Uplinks, "some uplinks were sent by two gateways")
	assert.EqualValues(t, s.Datagrams-s.Uplinks, s.DedupMerge, "every second copy was merged by dedup")
	assert.Equal(t, Drops{}, s.Drops)
	assert.Zero(t, s.SendErrors)
	assert.Greater(t, s.CPUMsPerUplink, 0.0)
	assert.Less(t, s.CPUMsPerUplink, 50.0)
	assert.Greater(t, rep.IdleRSSBytes, uint64(1<<20))
	assert.Greater(t, rep.IdleRSSAnonBytes, uint64(1<<20))
	assert.Less(t, rep.IdleCPUPercent, 50.0, "an idle daemon idles")
	assert.GreaterOrEqual(t, s.RSSPeakBytes, s.RSSBytes)
	assert.Greater(t, s.RSSBytes, uint64(1<<20))
	assert.EqualValues(t, 900, s.LatencySamples)
	assert.Greater(t, s.LatencyP50Ms, 0.0)
	assert.GreaterOrEqual(t, s.LatencyP99Ms, s.LatencyP50Ms)
	assert.Less(t, s.LatencyP99Ms, 3000.0)
	assert.InDelta(t, 300, s.SentRate, 15)
	// The target, or what a generator slowed by a busy machine sent.
	assert.InDelta(t, 300, rep.MaxSustainedRate, 15)

	b, err := rep.JSON()
	require.NoError(t, err)
	var back Report
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, rep.Steps[0].Stored, back.Steps[0].Stored)
	assert.Contains(t, rep.String(), fmt.Sprintf("max sustained rate (loss < 0.1 %%): %.0f uplinks/s", rep.MaxSustainedRate))
}

func TestRunRefusesBadOptions(t *testing.T) {
	for name, tc := range map[string]struct {
		o    Options
		want string
	}{
		"no binary":      {Options{}, "Binary"},
		"missing binary": {Options{Binary: filepath.Join(t.TempDir(), "nope")}, "no such file"},
		"bad rate":       {Options{Binary: os.Args[0], Rates: []float64{100, -1}}, "rate -1"},
		"dup above 1":    {Options{Binary: os.Args[0], DupFraction: 1.5}, "DupFraction"},
		"used data dir":  {Options{Binary: os.Args[0], DataDir: filepath.Dir(os.Args[0])}, "must be empty"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.o)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestQuantile(t *testing.T) {
	bs := []bucket{{0.1, 0}, {0.2, 50}, {0.4, 90}, {1, 100}, {math.Inf(1), 100}}
	for _, tc := range []struct {
		q, want float64
	}{
		{0.5, 0.2},   // exactly the top of the (0.1, 0.2] bucket
		{0.25, 0.15}, // half way into it
		{0.7, 0.3},
		{0.99, 0.94},
	} {
		assert.InDelta(t, tc.want, quantile(tc.q, bs), 1e-9, "q=%v", tc.q)
	}
	assert.True(t, math.IsNaN(quantile(0.5, nil)))
	assert.True(t, math.IsNaN(quantile(0.5, []bucket{{1, 0}, {math.Inf(1), 0}})))
	// Beyond the last finite bucket: the highest finite bound.
	assert.Equal(t, 1.0, quantile(0.99, []bucket{{1, 10}, {math.Inf(1), 100}}))
}

func TestParseMetricsAndHistogramDelta(t *testing.T) {
	text := func(b1, b2, inf, stored string) string {
		return `# HELP loraedge_ingest_latency_seconds x
# TYPE loraedge_ingest_latency_seconds histogram
loraedge_ingest_latency_seconds_bucket{le="0.1"} ` + b1 + `
loraedge_ingest_latency_seconds_bucket{le="0.25"} ` + b2 + `
loraedge_ingest_latency_seconds_bucket{le="+Inf"} ` + inf + `
loraedge_ingest_latency_seconds_sum 1.5
loraedge_ingest_uplinks_total{result="stored"} ` + stored + `
go_memstats_heap_inuse_bytes 1.2345e+06
odd line without value
`
	}
	prev, err := parseMetrics(strings.NewReader(text("1", "2", "2", "2")))
	require.NoError(t, err)
	cur, err := parseMetrics(strings.NewReader(text("1", "12", "13", "15")))
	require.NoError(t, err)
	assert.Equal(t, 13.0, cur.delta(prev, mStored))
	assert.Equal(t, 1.2345e6, cur[mHeapInuse])
	assert.Equal(t, []bucket{{0.1, 0}, {0.25, 10}, {math.Inf(1), 11}}, histogramDelta(prev, cur, latencyBucket))
}

func TestParseRates(t *testing.T) {
	rs, err := ParseRates("500, 1000,2500.5")
	require.NoError(t, err)
	assert.Equal(t, []float64{500, 1000, 2500.5}, rs)
	for _, bad := range []string{"", "100,x", "0", "-5", ","} {
		_, err := ParseRates(bad)
		assert.Error(t, err, bad)
	}
}

func TestJSONString(t *testing.T) {
	msg := []byte(`{"id":"42-3","device":"70b3","time":"2026-11-23T16:50:42.123456789Z"}`)
	assert.Equal(t, "42-3", jsonString(msg, "id"))
	assert.Equal(t, "2026-11-23T16:50:42.123456789Z", jsonString(msg, "time"))
	assert.Equal(t, "", jsonString([]byte(`{"device":"x"}`), "id"))
	assert.Equal(t, "", jsonString([]byte(`{"id":"unterminated`), "id"))
}

func TestReadProcSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	// Burn some CPU so that utime is above zero.
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i % 7
	}
	st, err := readProc(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, st.CPUTicks, uint64(0), x)
	assert.Greater(t, st.RSS, uint64(1<<20))
	assert.GreaterOrEqual(t, st.HWM, st.RSS)
	assert.Greater(t, st.RSSAnon, uint64(0))
	assert.Greater(t, st.RSSFile, uint64(0))
	assert.LessOrEqual(t, st.RSSAnon+st.RSSFile, st.RSS)
	assert.Greater(t, clockTicks(), 0.0)
}

// The generator's frames are real: each verifies and decrypts with its
// device's keys, FCnts rise per device, a share is heard by two gateways,
// and every gateway's datagrams are in time order.
func TestPlanBuildsRealFrames(t *testing.T) {
	devs := makeDevices(7)
	g := &generator{devs: devs, dup: 0.5, gwEUI: []lorawan.EUI64{{1}, {2}, {3}}, tokens: make([]uint16, 3), rnd: rand.New(rand.NewPCG(3, 4))}
	byAddr := map[lorawan.DevAddr]*simDevice{}
	for i := range devs {
		byAddr[devs[i].Addr] = &devs[i]
	}
	lastFCnt := map[lorawan.DevAddr]int64{}
	heard := map[string]int{}
	for step := 0; step < 2; step++ {
		p, err := g.plan(100, 200*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, 20, p.Uplinks)
		total := 0
		type rx struct {
			at   time.Duration
			phy  lorawan.PHYPayload
			data []byte
		}
		var all []rx
		for gw, sends := range p.perGW {
			for i, s := range sends {
				if i > 0 {
					require.GreaterOrEqual(t, s.at, sends[i-1].at)
				}
				var pd semtechudp.PushDataPacket
				require.NoError(t, pd.UnmarshalBinary(s.b))
				require.Equal(t, g.gwEUI[gw], pd.GatewayMAC)
				require.Len(t, pd.Payload.RXPK, 1)
				var phy lorawan.PHYPayload
				require.NoError(t, phy.UnmarshalBinary(pd.Payload.RXPK[0].Data))
				all = append(all, rx{s.at, phy, pd.Payload.RXPK[0].Data})
				heard[string(pd.Payload.RXPK[0].Data)]++
				total++
			}
		}
		assert.Equal(t, p.Datagrams, total)
		sort.Slice(all, func(i, j int) bool { return all[i].at < all[j].at })
		for _, r := range all {
			mac := r.phy.MACPayload.(*lorawan.MACPayload)
			d := byAddr[mac.FHDR.DevAddr]
			require.NotNil(t, d)
			ok, err := r.phy.ValidateUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, d.NwkSKey, d.NwkSKey)
			require.NoError(t, err)
			require.True(t, ok, "MIC")
			require.NoError(t, r.phy.DecryptFRMPayload(d.AppSKey))
			assert.Equal(t, roadPayload(mac.FHDR.FCnt), mac.FRMPayload[0].(*lorawan.DataPayload).Bytes)
			prev, seen := lastFCnt[d.Addr]
			if seen {
				// The same FCnt again is the second gateway's copy.
				require.Contains(t, []int64{prev, prev + 1}, int64(mac.FHDR.FCnt))
			} else {
				require.EqualValues(t, 0, mac.FHDR.FCnt)
			}
			lastFCnt[d.Addr] = int64(mac.FHDR.FCnt)
		}
	}
	twice := 0
	for _, n := range heard {
		require.LessOrEqual(t, n, 2)
		if n == 2 {
			twice++
		}
	}
	assert.Len(t, heard, 40, "40 distinct frames")
	assert.Greater(t, twice, 5)
	assert.Less(t, twice, 35)
}

// The MQTT counter counts measurement messages on the topic once each,
// however often the sink resends them.
func TestMQTTCounter(t *testing.T) {
	broker := testserver.StartMosquitto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mc, err := newMQTTCounter(ctx, broker.URL(), "loraedge/+/device/+/measurement")
	require.NoError(t, err)
	t.Cleanup(mc.close)

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("loadtest-pub"))
	require.NoError(t, waitToken(ctx, pub.Connect()))
	t.Cleanup(func() { pub.Disconnect(100) })
	for i, id := range []string{"1-0", "1-1", "1-2", "1-1" /* resent */, "2-0"} {
		topic := "loraedge/loadtest/device/70b3d57e10000001/measurement"
		require.NoError(t, waitToken(ctx, pub.Publish(topic, 1, false, fmt.Sprintf(`{"id":%q,"device":"70b3d57e10000001","value":%d}`, id, i))))
	}
	require.NoError(t, waitToken(ctx, pub.Publish("loraedge/loadtest/status", 1, false, `{"id":"9-9"}`)))
	require.Eventually(t, func() bool { return mc.count() == 4 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	assert.EqualValues(t, 4, mc.count(), "the resent id and the other topic are not counted")
	assert.EqualValues(t, 1, mc.dups.Load())
}

// With a broker, what the daemon publishes is counted per step, with its
// latency from UDP reception to the subscriber.
func TestRunLowRateMQTT(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	bin := buildDaemon(t)
	broker := testserver.StartMosquitto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Binary: bin, Devices: 50, Gateways: 2, Rates: []float64{100}, StepDuration: 2 * time.Second,
		Settle: 500 * time.Millisecond, MQTTURL: broker.URL()})
	require.NoError(t, err)
	t.Log("\n" + rep.String())
	require.Len(t, rep.Steps, 1)
	s := rep.Steps[0]
	assert.EqualValues(t, 200, s.Stored)
	require.NotNil(t, s.MQTTMeasurements)
	assert.EqualValues(t, 200*6, *s.MQTTMeasurements)
	assert.Equal(t, 200.0, s.MQTTUplinks)
	assert.Greater(t, s.MQTTLatencyP50Ms, 0.0)
	assert.GreaterOrEqual(t, s.MQTTLatencyP99Ms, s.MQTTLatencyP50Ms)
	assert.Less(t, s.MQTTLatencyP99Ms, 3000.0)
}
