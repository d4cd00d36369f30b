package influx

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir, Config: store.Config{CommitInterval: 5 * time.Millisecond}})
	require.NoError(t, err)
	return st
}

func testConfig(db *testserver.InfluxDB) Config {
	c := DefaultConfig()
	c.Enabled = true
	c.URL, c.Token, c.Org, c.Bucket = db.URL, db.Token, db.Org, db.Bucket
	c.FlushInterval = 50 * time.Millisecond
	c.Timeout = 5 * time.Second
	c.MaxBackoff = 200 * time.Millisecond
	c.GatewayTag = true // the layout test reads the tag back
	return c
}

// runSink starts a sink on st; the returned stop cancels it and waits.
func runSink(t testing.TB, st *store.Store, cfg Config, reg prometheus.Registerer) (*Sink, func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(st, cfg, Options{GatewayID: "gw-test", Registerer: reg, MinBackoff: 20 * time.Millisecond, Logger: log})
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
	return s, stop
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func fluxCount(t testing.TB, db *testserver.InfluxDB, filter string) int64 {
	t.Helper()
	c := influxdb2.NewClient(db.URL, db.Token)
	defer c.Close()
	q := fmt.Sprintf(`from(bucket: %q) |> range(start: 2000-01-01T00:00:00Z) |> filter(fn: (r) => %s) |> group() |> count()`, db.Bucket, filter)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.QueryAPI(db.Org).Query(ctx, q)
	require.NoError(t, err)
	var n int64
	for res.Next() {
		n += res.Record().Value().(int64)
	}
	require.NoError(t, res.Err())
	return n
}

// waitCount polls until the count reaches want or the timeout passes, and
// returns the last count.
func waitCount(t testing.TB, db *testserver.InfluxDB, filter string, want int64, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := fluxCount(t, db, filter)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testLayout(t *testing.T, db *testserver.InfluxDB) {
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	ms := []measurement.Measurement{
		{Device: "a84041000181c061", Quantity: measurement.RoadSurfaceTemperature, Value: -1.25, Unit: "degC", Time: t0, Meta: map[string]string{"site": "B27 km 12,5"}},
		{Device: "a84041000181c061", Quantity: measurement.RoadSurfaceState, Value: 66, Unit: "tls", Time: t0, Meta: map[string]string{"site": "B27 km 12,5"}},
		{Device: "70b3d5e75e000001", Quantity: measurement.CO2, Value: 1234, Unit: "ppm", Time: t0.Add(time.Minute)},
		{Device: "70b3d5e75e000002", Quantity: measurement.PulseCount, Channel: 2, Value: 1e6, Unit: "1", Time: t0.Add(2 * time.Minute)},
		{Device: "70b3d5e75e000002", Quantity: measurement.LeakAlarm, Value: 1, Unit: "1", Time: t0.Add(3 * time.Minute)},
		{Device: "70b3d5e75e000002", Quantity: measurement.BatteryVoltage, Value: 3.6, Unit: "V", Time: t0.Add(4 * time.Minute)},
		{Device: "70b3d5e75e000002", Quantity: "made_up", Value: 7, Unit: "x", Time: t0.Add(5 * time.Minute)},
		{Device: "70b3d5e75e000002", Quantity: measurement.CO2, Value: math.NaN(), Unit: "ppm", Time: t0.Add(6 * time.Minute)},
	}
	require.NoError(t, st.Append(context.Background(), ms))
	reg := prometheus.NewRegistry()
	runSink(t, st, testConfig(db), reg)
	require.Equal(t, int64(7), waitCount(t, db, "true", 7, 10*time.Second))

	c := influxdb2.NewClient(db.URL, db.Token)
	t.Cleanup(c.Close)
	res, err := c.QueryAPI(db.Org).Query(context.Background(),
		fmt.Sprintf(`from(bucket: %q) |> range(start: 2000-01-01T00:00:00Z) |> group() |> sort(columns: ["_time", "_field"])`, db.Bucket))
	require.NoError(t, err)
	type row struct {
		Measurement, Field, Device, Site, Channel, Gateway, Unit string
		Value                                                    float64
		Time                                                     time.Time
	}
	str := func(v any) string { s, _ := v.(string); return s }
	var got []row
	for res.Next() {
		r := res.Record()
		got = append(got, row{r.Measurement(), r.Field(), str(r.ValueByKey("device")), str(r.ValueByKey("site")),
			str(r.ValueByKey("channel")), str(r.ValueByKey("gateway")), str(r.ValueByKey("unit")), r.Value().(float64), r.Time().UTC()})
	}
	require.NoError(t, res.Err())
	want := []row{
		{"road_weather", "road_surface_state", "a84041000181c061", "B27 km 12,5", "", "gw-test", "tls", 66, t0},
		{"road_weather", "road_surface_temperature", "a84041000181c061", "B27 km 12,5", "", "gw-test", "degC", -1.25, t0},
		{"air", "co2", "70b3d5e75e000001", "", "", "gw-test", "ppm", 1234, t0.Add(time.Minute)},
		{"meter", "pulse_count", "70b3d5e75e000002", "", "2", "gw-test", "1", 1e6, t0.Add(2 * time.Minute)},
		{"alarm", "leak_alarm", "70b3d5e75e000002", "", "", "gw-test", "1", 1, t0.Add(3 * time.Minute)},
		{"device", "battery_voltage", "70b3d5e75e000002", "", "", "gw-test", "V", 3.6, t0.Add(4 * time.Minute)},
		{"other", "made_up", "70b3d5e75e000002", "", "", "gw-test", "x", 7, t0.Add(5 * time.Minute)},
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 1.0, metricValue(t, reg, "loraedge_influx_points_dropped_total", "unrepresentable"))
	assert.Equal(t, 7.0, metricValue(t, reg, "loraedge_influx_points_sent_total", ""))
}

// metricValue returns the value of a counter or gauge, the one with label
// value lv when lv is not empty.
func metricValue(t testing.TB, g prometheus.Gatherer, name, lv string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			match := lv == ""
			for _, l := range m.Label {
				match = match || l.GetValue() == lv
			}
			if !match {
				continue
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("metric %s{%s} not found", name, lv)
	return 0
}

// TestInfluxDB runs the integration tests against one InfluxDB (starting
// it takes seconds), each in its own database.
func TestInfluxDB(t *testing.T) {
	srv := testserver.StartInfluxDB(t)
	n := 0
	fresh := func(t *testing.T) *testserver.InfluxDB {
		n++
		db := *srv
		db.Database = fmt.Sprintf("t%d", n)
		db.Bucket = db.Database + "/autogen"
		require.NoError(t, srv.Query1x("CREATE DATABASE "+db.Database))
		return &db
	}
	t.Run("layout", func(t *testing.T) { testLayout(t, fresh(t)) })
	t.Run("bad_point", func(t *testing.T) { testBadPoint(t, fresh(t)) })
	t.Run("reader", func(t *testing.T) { testReader(t, fresh(t)) })
	t.Run("outage", func(t *testing.T) { testOutage(t, fresh(t)) })
	t.Run("two_gateways_one_series", func(t *testing.T) { testTwoGatewaysOneSeries(t, fresh(t)) })
}

// Two instances writing the same readings with the default configuration
// (no gateway tag) make one series: a sum over the device counts each
// reading once.
func testTwoGatewaysOneSeries(t *testing.T, db *testserver.InfluxDB) {
	cfg := testConfig(db)
	cfg.GatewayTag = DefaultConfig().GatewayTag
	require.False(t, cfg.GatewayTag)
	ms := []measurement.Measurement{
		{Device: "70b3d5e75e000009", Quantity: measurement.WaterVolume, Value: 10, Unit: "m3", Time: t0},
		{Device: "70b3d5e75e000009", Quantity: measurement.WaterVolume, Value: 12, Unit: "m3", Time: t0.Add(time.Hour)},
	}
	for _, gw := range []string{"gw-a", "gw-b"} {
		st := openStore(t, t.TempDir())
		t.Cleanup(func() { st.Close() })
		require.NoError(t, st.Append(context.Background(), ms))
		s, err := New(st, cfg, Options{GatewayID: gw, Registerer: prometheus.NewRegistry(), MinBackoff: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		require.Eventually(t, func() bool { return s.cur.Position() == 1 }, 10*time.Second, 10*time.Millisecond)
		cancel()
		require.NoError(t, <-done)
	}
	c := influxdb2.NewClient(db.URL, db.Token)
	t.Cleanup(c.Close)
	res, err := c.QueryAPI(db.Org).Query(context.Background(), fmt.Sprintf(
		`from(bucket: %q) |> range(start: 2000-01-01T00:00:00Z) |> filter(fn: (r) => r.device == "70b3d5e75e000009") |> sum()`, db.Bucket))
	require.NoError(t, err)
	var tables, gateways int
	var sum float64
	for res.Next() {
		tables++
		sum += res.Record().Value().(float64)
		if res.Record().ValueByKey("gateway") != nil {
			gateways++
		}
	}
	require.NoError(t, res.Err())
	assert.Equal(t, 1, tables, "one series, not one per gateway")
	assert.Equal(t, 22.0, sum, "each reading counted once")
	assert.Zero(t, gateways, "no gateway tag")
}

// A field type conflict (HTTP 400) for one point in a batch: bisecting
// drops only that point, writes the rest and the sink goes on.
func testBadPoint(t *testing.T, db *testserver.InfluxDB) {
	c := influxdb2.NewClient(db.URL, db.Token)
	t.Cleanup(c.Close)
	// co2 becomes a string field in this shard, so a float co2 conflicts.
	require.NoError(t, c.WriteAPIBlocking(db.Org, db.Bucket).WriteRecord(context.Background(),
		fmt.Sprintf(`air,device=other co2="text" %d`, t0.UnixNano())))

	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	var ms []measurement.Measurement
	for i := range 100 {
		q := measurement.AirTemperature
		if i == 61 {
			q = measurement.CO2
		}
		ms = append(ms, measurement.Measurement{Device: "70b3d5e75e000003", Quantity: q, Value: float64(i), Unit: measurement.Units[q], Time: t0.Add(time.Duration(i) * time.Second)})
	}
	require.NoError(t, st.Append(context.Background(), ms))
	reg := prometheus.NewRegistry()
	s, _ := runSink(t, st, testConfig(db), reg)
	filter := `r.device == "70b3d5e75e000003"`
	require.Equal(t, int64(99), waitCount(t, db, filter, 99, 10*time.Second))
	require.Eventually(t, func() bool { return s.cur.Position() == 1 }, 5*time.Second, 10*time.Millisecond, "cursor committed past the bad batch")
	assert.Equal(t, 1.0, metricValue(t, reg, "loraedge_influx_points_dropped_total", reasonRejected))
	assert.Equal(t, 99.0, metricValue(t, reg, "loraedge_influx_points_sent_total", ""))
	assert.GreaterOrEqual(t, metricValue(t, reg, "loraedge_influx_batch_bisections_total", ""), 7.0) // log2(100) levels
	assert.Zero(t, fluxCount(t, db, filter+` and r._field == "co2"`))

	// The sink is not stuck: the next record arrives.
	require.NoError(t, st.Append(context.Background(), []measurement.Measurement{
		{Device: "70b3d5e75e000003", Quantity: measurement.RelativeHumidity, Value: 40, Unit: "%", Time: t0.Add(time.Hour)}}))
	assert.Equal(t, int64(100), waitCount(t, db, filter, 100, 10*time.Second))
}
