package ingest

import (
	"context"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/uplink"
)

var (
	roadEUI = lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 1}
	noProf  = lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 2}
)

type recorder struct {
	mu sync.Mutex
	ms []measurement.Measurement
}

func (r *recorder) Observe(ms []measurement.Measurement) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ms = append(r.ms, ms...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ms)
}

type fixture struct {
	ing   *Ingester
	store *store.Store
	obs   *recorder
	reg   *prometheus.Registry
}

func newFixture(t *testing.T, queue int) *fixture {
	t.Helper()
	codecs, err := all.NewRegistry()
	require.NoError(t, err)
	profiles, err := profile.Load(codecs, profile.Embedded())
	require.NoError(t, err)
	key := lorawan.AES128Key{1}
	devs, err := device.NewRegistry([]device.Device{
		{DevEUI: roadEUI, Activation: device.ABP, Profile: "generic/road-station", Site: "k23", DevAddr: lorawan.DevAddr{1, 2, 3, 4}, NwkSKey: key, AppSKey: key},
		{DevEUI: noProf, Activation: device.ABP, DevAddr: lorawan.DevAddr{1, 2, 3, 5}, NwkSKey: key, AppSKey: key},
	})
	require.NoError(t, err)
	st, err := store.Open(store.Options{Dir: t.TempDir(), Config: store.Config{CommitInterval: 10 * time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, obs: &recorder{}, reg: prometheus.NewRegistry()}
	f.ing, err = New(Options{Devices: devs, Profiles: profiles, Store: st, Observers: []Observer{f.obs}, QueueSize: queue, Registerer: f.reg})
	require.NoError(t, err)
	return f
}

func roadPayload(t *testing.T) []byte {
	// -1.25 degC surface, 0.50 degC air, 91.00 %, state 32 (wet), 0.150 mm, 3.600 V
	b, err := hex.DecodeString("ff83" + "0032" + "238c" + "20" + "00" + "0096" + "0e10")
	require.NoError(t, err)
	return b
}

func TestUplinkDecodedAndStored(t *testing.T) {
	f := newFixture(t, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ing.Run(ctx) }()

	at := time.Date(2026, 1, 12, 23, 0, 0, 0, time.UTC)
	require.NoError(t, f.ing.HandleUplink(ctx, uplink.Uplink{DevEUI: roadEUI, FPort: 10, Payload: roadPayload(t), Time: at}))
	require.Eventually(t, func() bool { return f.obs.count() == 6 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	key := measurement.Measurement{Device: roadEUI.String(), Quantity: measurement.RoadSurfaceTemperature}.SeriesKey()
	got, err := f.store.Range(context.Background(), []string{key}, at.Add(-time.Minute), at.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Len(t, got[0].Points, 1)
	assert.InDelta(t, -1.25, got[0].Points[0].Value, 1e-9)
	assert.True(t, got[0].Points[0].Time.Equal(at))
	for _, m := range f.obs.ms {
		assert.Equal(t, "k23", m.Meta["site"], "site of the device is attached")
	}
	assert.Equal(t, 1.0, testutil.ToFloat64(f.ing.uplinks.WithLabelValues("stored")))
}

func TestRejectionsAreCounted(t *testing.T) {
	f := newFixture(t, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ing.Run(ctx) }()
	now := time.Now()
	ups := []uplink.Uplink{
		{DevEUI: roadEUI, FPort: 10, Payload: []byte{1, 2, 3}, Time: now},   // truncated
		{DevEUI: roadEUI, FPort: 99, Payload: roadPayload(t), Time: now},    // wrong fPort
		{DevEUI: noProf, FPort: 1, Payload: []byte{1}, Time: now},           // no profile
		{DevEUI: lorawan.EUI64{9}, FPort: 1, Payload: []byte{1}, Time: now}, // removed device
		{DevEUI: roadEUI, FPort: 10, Payload: roadPayload(t), Time: now},    // good
	}
	for _, up := range ups {
		require.NoError(t, f.ing.HandleUplink(ctx, up))
	}
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(f.ing.uplinks.WithLabelValues("stored")) == 1 &&
			testutil.ToFloat64(f.ing.uplinks.WithLabelValues("decode_error")) == 2
	}, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, 1.0, testutil.ToFloat64(f.ing.uplinks.WithLabelValues("no_profile")))
	assert.Equal(t, 1.0, testutil.ToFloat64(f.ing.uplinks.WithLabelValues("unknown_device")))
	assert.Equal(t, 2.0, testutil.ToFloat64(f.ing.decodeErrors.WithLabelValues("generic/road-station")))
}

// A full queue drops and counts; what was queued is stored on shutdown.
func TestQueueFullAndDrainOnShutdown(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	up := uplink.Uplink{DevEUI: roadEUI, FPort: 10, Payload: roadPayload(t)}
	for i := 0; i < 3; i++ {
		up.Time = time.Unix(1_700_000_000+int64(i)*600, 0)
		require.NoError(t, f.ing.HandleUplink(ctx, up))
	}
	require.ErrorIs(t, f.ing.HandleUplink(ctx, up), ErrQueueFull)
	assert.Equal(t, 1.0, testutil.ToFloat64(f.ing.dropped))

	// Run with an already cancelled context: workers stop at once, the
	// drain still stores the three queued uplinks.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.NoError(t, f.ing.Run(cctx))
	assert.Equal(t, 18, f.obs.count())
}

// A DevStatusAns becomes battery_percent and demodulation_margin, also for
// frames without application payload and devices without a profile; next
// to a decoded payload both are stored.
func TestDevStatusMeasurements(t *testing.T) {
	f := newFixture(t, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ing.Run(ctx) }()
	at := time.Date(2026, 1, 12, 23, 0, 0, 0, time.UTC)
	ups := []uplink.Uplink{
		{DevEUI: noProf, FPort: 0, Time: at, MAC: &uplink.MACStatus{Battery: 128, Margin: -5}},
		{DevEUI: roadEUI, FPort: 10, Payload: roadPayload(t), Time: at, MAC: &uplink.MACStatus{Battery: 254, Margin: 12}},
		{DevEUI: noProf, FPort: 0, Time: at.Add(time.Minute), MAC: &uplink.MACStatus{Battery: 0, Margin: 3}},
	}
	for _, up := range ups {
		require.NoError(t, f.ing.HandleUplink(ctx, up))
	}
	require.Eventually(t, func() bool { return f.obs.count() == 2+8+1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	series := func(eui lorawan.EUI64, q measurement.Quantity) []float64 {
		key := measurement.Measurement{Device: eui.String(), Quantity: q}.SeriesKey()
		got, err := f.store.Range(context.Background(), []string{key}, at.Add(-time.Minute), at.Add(2*time.Minute))
		require.NoError(t, err)
		var out []float64
		for _, s := range got {
			for _, p := range s.Points {
				out = append(out, p.Value)
			}
		}
		return out
	}
	assert.Equal(t, []float64{50.2}, series(noProf, measurement.BatteryPercent), "(128-1)/253; none for external power")
	assert.Equal(t, []float64{-5, 3}, series(noProf, measurement.DemodulationMargin))
	assert.Equal(t, []float64{100}, series(roadEUI, measurement.BatteryPercent))
	assert.Equal(t, []float64{12}, series(roadEUI, measurement.DemodulationMargin))
	assert.Len(t, series(roadEUI, measurement.RoadSurfaceTemperature), 1, "the payload is decoded too")
}
