package influx

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

// source is what a report needs; the store and the Reader both provide it.
type source interface {
	Range(ctx context.Context, keys []string, from, to time.Time) ([]store.Series, error)
	Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateSeries, error)
}

var (
	_ source = (*Reader)(nil)
	_ source = (*store.Store)(nil)
)

// The Reader answers like the store over the same data: raw ranges and
// aggregates by equal windows and by calendar months, counter resets in
// Increase, and a point a second gateway also wrote counted once.
func testReader(t *testing.T, db *testserver.InfluxDB) {
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	const meter, room = "0004a30b001a2b3c", "a81758fffe0312ab"
	var ms []measurement.Measurement
	start := time.Date(2026, 1, 28, 0, 0, 0, 0, time.UTC)
	counter := 1000.0
	for i := range 24 * 12 { // 12 days, hourly
		tm := start.Add(time.Duration(i) * time.Hour)
		counter += float64(i % 7)
		if i == 100 {
			counter = 3 // meter replaced: reset
		}
		ms = append(ms,
			measurement.Measurement{Device: meter, Quantity: measurement.HeatEnergy, Value: counter, Unit: "kWh", Time: tm},
			measurement.Measurement{Device: meter, Quantity: measurement.PulseCount, Channel: 2, Value: float64(i * 10), Unit: "1", Time: tm},
			measurement.Measurement{Device: room, Quantity: measurement.AirTemperature, Value: 20 + math.Sin(float64(i)/5), Unit: "degC", Time: tm.Add(17 * time.Minute)},
		)
	}
	// A day without any data.
	ms = append(ms[:3*24*3:3*24*3], ms[3*24*4:]...)
	require.NoError(t, st.Append(context.Background(), ms))
	runSink(t, st, testConfig(db), nil)
	require.Equal(t, int64(len(ms)), waitCount(t, db, "true", int64(len(ms)), 15*time.Second))

	// The same heat_energy points from another gateway: no double count.
	c := influxdb2.NewClient(db.URL, db.Token)
	t.Cleanup(c.Close)
	var dup []string
	for _, m := range ms[:30] {
		b, ok := appendLine(nil, m, "gw-other")
		require.True(t, ok)
		dup = append(dup, string(b))
	}
	require.NoError(t, c.WriteAPIBlocking(db.Org, db.Bucket).WriteRecord(context.Background(), dup...))

	cfg := testConfig(db)
	r, err := NewReader(cfg)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	ctx := context.Background()
	keys := []string{room + "/air_temperature", meter + "/heat_energy", meter + "/pulse_count/2", "ffffffffffffffff/co2"}
	from, to := start.Add(5*time.Hour), start.Add(10*24*time.Hour)

	want, err := st.Range(ctx, keys, from, to)
	require.NoError(t, err)
	got, err := r.Range(ctx, keys, from, to)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, want, got)

	for _, q := range []store.AggregateQuery{
		{Keys: keys, From: from, To: to, Every: 6 * time.Hour},
		{Keys: keys, From: from, To: to, Every: 6 * time.Hour, Lookback: -1},
		{Keys: keys, From: from, To: to, Every: 6 * time.Hour, Lookback: 2 * time.Hour},
		{Keys: keys, From: from, To: to.Add(-time.Minute), Every: 24 * time.Hour}, // short last bucket
		{Keys: keys, Bounds: store.MonthBounds(start, start.Add(12*24*time.Hour), time.UTC)},
		{Keys: keys, Bounds: []time.Time{from, from.Add(time.Hour), from.Add(50 * time.Hour), from.Add(51 * time.Hour), to}},
	} {
		t.Run(fmt.Sprintf("every=%s,bounds=%d,lookback=%s", q.Every, len(q.Bounds), q.Lookback), func(t *testing.T) {
			want, err := st.Aggregate(ctx, q)
			require.NoError(t, err)
			got, err := r.Aggregate(ctx, q)
			require.NoError(t, err)
			require.Len(t, got, len(want)) // the unknown key is left out by both
			for i := range want {
				if i >= len(got) {
					break
				}
				assert.Equal(t, want[i].SeriesInfo, got[i].SeriesInfo)
				require.Len(t, got[i].Buckets, len(want[i].Buckets))
				for j, wb := range want[i].Buckets {
					gb := got[i].Buckets[j]
					msg := fmt.Sprintf("%s bucket %d", want[i].Key, j)
					assert.True(t, wb.Start.Equal(gb.Start) && wb.End.Equal(gb.End), msg)
					assert.Equal(t, wb.Count, gb.Count, msg)
					for _, p := range [][3]any{{"min", wb.Min, gb.Min}, {"max", wb.Max, gb.Max}, {"sum", wb.Sum, gb.Sum},
						{"mean", wb.Mean, gb.Mean}, {"first", wb.First, gb.First}, {"last", wb.Last, gb.Last}, {"increase", wb.Increase, gb.Increase}} {
						w, g := p[1].(float64), p[2].(float64)
						if math.IsNaN(w) {
							assert.True(t, math.IsNaN(g), "%s %s: want NaN, got %v", msg, p[0], g)
							continue
						}
						assert.InDelta(t, w, g, 1e-9*math.Max(1, math.Abs(w)), "%s %s", msg, p[0])
					}
				}
			}
		})
	}
}
