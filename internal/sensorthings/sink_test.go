package sensorthings

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

const (
	devA = "70b3d57ed0000001"
	devB = "70b3d57ed0000002"
)

// registry is a device registry the test can change (a device moved).
type registry struct {
	mu   sync.Mutex
	devs map[string]Device
}

func newRegistry() *registry {
	return &registry{devs: map[string]Device{
		devA: {Name: "K 23 km 4.2", Profile: "lufft/stars", Site: "k23"},
		devB: {Name: "K 23 km 7.9", Profile: "lufft/stars", Site: "k23"},
	}}
}

func (r *registry) device(eui string) (Device, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devs[eui]
	return d, ok
}

func (r *registry) move(eui, site string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.devs[eui]
	d.Site = site
	r.devs[eui] = d
}

var places = map[string]Place{
	"k23":  {ID: "k23", Name: "K 23 Brücke", Lat: 52.1234, Lon: 8.5678},
	"b239": {ID: "b239", Name: "B 239 Ortsausgang", Lat: 52.2, Lon: 8.6},
}

func place(id string) (Place, bool) { p, ok := places[id]; return p, ok }

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir, Config: store.Config{CommitInterval: 5 * time.Millisecond}})
	require.NoError(t, err)
	return st
}

func testConfig(srv *testserver.SensorThings) Config {
	c := DefaultConfig()
	c.Enabled = true
	c.URL, c.Version = srv.URL, srv.Version
	c.Username, c.Password, c.Token = srv.User, srv.Password, srv.Token
	c.FlushInterval = 30 * time.Millisecond
	c.Timeout = 2 * time.Second
	c.MaxBackoff = 200 * time.Millisecond
	c.BatchSize = 50
	return c
}

// runSink starts a sink; the returned stop cancels it and waits.
func runSink(t testing.TB, st *store.Store, cfg Config, reg prometheus.Registerer, devices func(string) (Device, bool)) func() {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := New(st, cfg, Options{Devices: devices, Places: place, Registerer: reg, MinBackoff: 10 * time.Millisecond, Logger: log})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// batch returns n measurements of two devices and two quantities, at
// unique whole seconds from offset i0.
func batch(i0, n int) []measurement.Measurement {
	ms := make([]measurement.Measurement, n)
	for k := range ms {
		i := i0 + k
		dev, q := devA, measurement.RoadSurfaceTemperature
		if i%2 == 1 {
			dev = devB
		}
		if i%4 >= 2 {
			q = measurement.RelativeHumidity
		}
		ms[k] = measurement.Measurement{Device: dev, Quantity: q, Value: float64(i) / 10, Unit: measurement.Units[q],
			Time: t0.Add(time.Duration(i) * time.Second)}
	}
	return ms
}

func totalObservations(srv *testserver.SensorThings) int { return srv.ObservationCount() }

// observationKeys returns "datastream name|phenomenonTime" of every
// observation, to find duplicates.
func observationKeys(t testing.TB, srv *testserver.SensorThings) map[string]int {
	t.Helper()
	names := map[int]string{}
	for _, ds := range srv.Entities("Datastreams") {
		names[ds["@iot.id"].(int)] = ds["name"].(string)
	}
	keys := map[string]int{}
	for ds, list := range srv.Observations() {
		for _, o := range list {
			keys[names[ds]+"|"+o["phenomenonTime"].(string)]++
		}
	}
	return keys
}

func waitObservations(t testing.TB, srv *testserver.SensorThings, want int) {
	t.Helper()
	require.Eventually(t, func() bool { return totalObservations(srv) >= want }, 20*time.Second, 10*time.Millisecond,
		"observations on the server: want %d", want)
	time.Sleep(100 * time.Millisecond) // and no more come
	require.Equal(t, want, totalObservations(srv))
}

func entityCounts(srv *testserver.SensorThings) map[string]int {
	out := map[string]int{}
	for _, c := range []string{"Things", "Locations", "HistoricalLocations", "Sensors", "ObservedProperties", "Datastreams"} {
		out[c] = len(srv.Entities(c))
	}
	return out
}

func TestSinkEntityModel(t *testing.T) {
	for _, version := range []string{"1.0", "1.1"} {
		t.Run(version, func(t *testing.T) {
			srv := testserver.StartSensorThings(t, version)
			srv.User, srv.Password = "loraedge", "s3cret"
			st := openStore(t, t.TempDir())
			defer st.Close()
			ms := batch(0, 40)
			ms = append(ms, measurement.Measurement{Device: devA, Quantity: measurement.PulseCount, Channel: 2, Value: 7,
				Unit: "1", Time: t0.Add(-time.Hour)}) // history value, keeps its time
			require.NoError(t, st.Append(context.Background(), ms))
			reg := newRegistry()
			stop := runSink(t, st, testConfig(srv), prometheus.NewRegistry(), reg.device)
			waitObservations(t, srv, len(ms))
			stop()

			assert.Equal(t, map[string]int{"Things": 2, "Locations": 1, "HistoricalLocations": 2, "Sensors": 1,
				"ObservedProperties": 3, "Datastreams": 5}, entityCounts(srv))
			things := srv.Entities("Things")
			props := things[0]["properties"].(map[string]any)
			assert.Equal(t, devA, props["devEUI"])
			assert.Equal(t, "lufft/stars", props["profile"])
			assert.Equal(t, "k23", props["site"])
			assert.Equal(t, "K 23 km 4.2", things[0]["name"])
			loc := srv.Entities("Locations")[0]
			assert.Equal(t, "application/geo+json", loc["encodingType"])
			assert.Equal(t, map[string]any{"type": "Point", "coordinates": []any{8.5678, 52.1234}}, loc["location"])
			if version == "1.0" {
				assert.NotContains(t, loc, "properties", "1.0 Locations have no properties")
			} else {
				assert.Equal(t, "location:k23", loc["properties"].(map[string]any)[keyProperty])
			}
			var ds map[string]any
			for _, d := range srv.Entities("Datastreams") {
				if d["name"] == devA+" road_surface_temperature" {
					ds = d
				}
			}
			require.NotNil(t, ds)
			assert.Equal(t, map[string]any{"name": "degree Celsius", "symbol": "°C", "definition": "http://qudt.org/vocab/unit/DEG_C"},
				ds["unitOfMeasurement"])
			assert.Equal(t, ObservationType, ds["observationType"])
			var defs []string
			for _, op := range srv.Entities("ObservedProperties") {
				defs = append(defs, op["definition"].(string))
			}
			assert.ElementsMatch(t, []string{"urn:loraedge:quantity:road_surface_temperature",
				"urn:loraedge:quantity:relative_humidity", "urn:loraedge:quantity:pulse_count"}, defs)
			keys := observationKeys(t, srv)
			assert.Equal(t, 1, keys[devA+" pulse_count channel 2|"+t0.Add(-time.Hour).Format(timeLayout)], "history value at its own time")
			assert.Equal(t, 1, keys[devB+" road_surface_temperature|"+t0.Add(5*time.Second).Format(timeLayout)])
			for k, n := range keys {
				require.Equal(t, 1, n, k)
			}
		})
	}
}

// A restart and a second gateway find the entities by their keys instead
// of creating them again; a device moved to another site gets a new
// Location link and so a HistoricalLocation.
func TestSinkEntitiesNotDuplicatedAndDeviceMoved(t *testing.T) {
	srv := testserver.StartSensorThings(t, "1.1")
	srv.Token = "platform-token"
	reg := newRegistry()
	st := openStore(t, t.TempDir())
	defer st.Close()
	require.NoError(t, st.Append(context.Background(), batch(0, 20)))
	stop := runSink(t, st, testConfig(srv), nil, reg.device)
	waitObservations(t, srv, 20)
	stop()
	before := entityCounts(srv)

	// A second gateway (its own store) with the same devices.
	st2 := openStore(t, t.TempDir())
	defer st2.Close()
	require.NoError(t, st2.Append(context.Background(), batch(100, 20)))
	stop = runSink(t, st2, testConfig(srv), nil, reg.device)
	waitObservations(t, srv, 40)
	stop()
	assert.Equal(t, before, entityCounts(srv), "no entity created twice")

	reg.move(devA, "b239")
	require.NoError(t, st2.Append(context.Background(), batch(200, 4)))
	stop = runSink(t, st2, testConfig(srv), nil, reg.device)
	waitObservations(t, srv, 44)
	stop()
	after := entityCounts(srv)
	assert.Equal(t, before["Locations"]+1, after["Locations"])
	assert.Equal(t, before["HistoricalLocations"]+1, after["HistoricalLocations"])
	assert.Equal(t, before["Things"], after["Things"])
	for _, th := range srv.Entities("Things") {
		p := th["properties"].(map[string]any)
		if p["devEUI"] == devA {
			assert.Equal(t, "b239", p["site"])
		}
	}
}

// An observation the server refuses is dropped and counted; the others of
// its request are delivered.
func TestSinkRejectedObservationIsolated(t *testing.T) {
	srv := testserver.StartSensorThings(t, "1.1")
	srv.Reject(func(_ int, result any) bool { return result == 1.3 })
	st := openStore(t, t.TempDir())
	defer st.Close()
	ms := batch(0, 30)
	ms = append(ms, measurement.Measurement{Device: devA, Quantity: measurement.AirTemperature, Value: math.NaN(), Unit: "degC", Time: t0})
	require.NoError(t, st.Append(context.Background(), ms))
	metrics := prometheus.NewRegistry()
	stop := runSink(t, st, testConfig(srv), metrics, newRegistry().device)
	waitObservations(t, srv, 29)
	assert.Equal(t, 1.0, metricValue(t, metrics, "loraedge_sensorthings_observations_rejected_total", "server"))
	assert.Equal(t, 1.0, metricValue(t, metrics, "loraedge_sensorthings_observations_rejected_total", "unrepresentable"))
	assert.Equal(t, 29.0, metricValue(t, metrics, "loraedge_sensorthings_observations_delivered_total", ""))
	assert.Zero(t, metricValue(t, metrics, "loraedge_sensorthings_batch_bisections_total", ""), "an \"error\" entry needs no bisection")
	stop()
	_, found := observationKeys(t, srv)[devB+" road_surface_temperature|"+t0.Add(13*time.Second).Format(timeLayout)]
	assert.False(t, found, "the refused observation is not there")
}

// A Datastream deleted on the platform while the sink runs is found gone
// when the server refuses observations for it, and created anew: nothing
// is lost.
func TestSinkDatastreamDeletedOnServer(t *testing.T) {
	srv := testserver.StartSensorThings(t, "1.1")
	st := openStore(t, t.TempDir())
	defer st.Close()
	require.NoError(t, st.Append(context.Background(), batch(0, 8)))
	reg := prometheus.NewRegistry()
	stop := runSink(t, st, testConfig(srv), reg, newRegistry().device)
	waitObservations(t, srv, 8)
	var victim int
	for _, ds := range srv.Entities("Datastreams") {
		if ds["name"] == devA+" road_surface_temperature" {
			victim = ds["@iot.id"].(int)
		}
	}
	require.NotZero(t, victim)
	srv.Delete("Datastreams", victim)
	before := totalObservations(srv)
	require.NoError(t, st.Append(context.Background(), batch(8, 8)))
	waitObservations(t, srv, before+8)
	assert.Zero(t, metricValue(t, reg, "loraedge_sensorthings_observations_rejected_total", "server"))
	assert.Equal(t, 5.0, metricValue(t, reg, "loraedge_sensorthings_entities_created_total", "Datastreams"),
		"the 4 Datastreams, and the deleted one once more")
	assert.Equal(t, 2.0, metricValue(t, reg, "loraedge_sensorthings_entities_created_total", "Things"), "Things found again, not created")
	stop()
	assert.Len(t, srv.Entities("Datastreams"), 4)
}

// A request whose answer is lost after the server created its
// observations, and a cursor replayed from the start (a crash before the
// commit), create no duplicates: the sink checks before resending.
func TestSinkReplayCreatesNoDuplicates(t *testing.T) {
	srv := testserver.StartSensorThings(t, "1.0")
	dir := t.TempDir()
	st := openStore(t, dir)
	defer st.Close()
	require.NoError(t, st.Append(context.Background(), batch(0, 30)))
	srv.DropReplies(1)
	reg := prometheus.NewRegistry()
	stop := runSink(t, st, testConfig(srv), reg, newRegistry().device)
	waitObservations(t, srv, 30)
	assert.Positive(t, metricValue(t, reg, "loraedge_sensorthings_retries_total", "network"), "the lost answer was retried")
	assert.Positive(t, metricValue(t, reg, "loraedge_sensorthings_observations_skipped_total", ""), "and found on the server")
	stop()

	require.NoError(t, st.RemoveCursor(CursorName)) // the commit never happened
	require.NoError(t, st.Append(context.Background(), batch(30, 10)))
	reg = prometheus.NewRegistry()
	stop = runSink(t, st, testConfig(srv), reg, newRegistry().device)
	waitObservations(t, srv, 40)
	assert.Equal(t, 30.0, metricValue(t, reg, "loraedge_sensorthings_observations_skipped_total", ""), "the replayed log was on the server")
	stop()
	for k, n := range observationKeys(t, srv) {
		require.Equal(t, 1, n, k)
	}
}

func TestSinkAuthFailureRetries(t *testing.T) {
	srv := testserver.StartSensorThings(t, "1.1")
	srv.User, srv.Password = "loraedge", "right"
	st := openStore(t, t.TempDir())
	defer st.Close()
	require.NoError(t, st.Append(context.Background(), batch(0, 4)))
	cfg := testConfig(srv)
	cfg.Password = "wrong"
	reg := prometheus.NewRegistry()
	stop := runSink(t, st, cfg, reg, nil)
	require.Eventually(t, func() bool {
		return metricValue(t, reg, "loraedge_sensorthings_retries_total", "client") >= 2
	}, 5*time.Second, 10*time.Millisecond)
	stop()
	assert.Zero(t, totalObservations(srv), "nothing without credentials")
	stop = runSink(t, st, testConfig(srv), nil, nil)
	waitObservations(t, srv, 4)
	stop()
	assert.Equal(t, "LoRaWAN device "+devA, srv.Entities("Things")[0]["name"], "a device not in the registry still gets a Thing")
}

// metricValue returns a counter's or gauge's value, of the series whose
// one label has the value label ("" for a metric without labels).
func metricValue(t testing.TB, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s{%s}", name, label)
	return 0
}
