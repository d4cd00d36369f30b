package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Config.CommitInterval == 0 {
		opts.Config.CommitInterval = 2 * time.Millisecond
	}
	s, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func meas(dev string, q measurement.Quantity, ch int, v float64, at time.Time) measurement.Measurement {
	return measurement.Measurement{Device: dev, Quantity: q, Channel: ch, Value: v, Unit: measurement.Units[q], Time: at}
}

func TestChunkRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(n int, f func(i int) point) []point {
		pts := make([]point, n)
		for i := range pts {
			pts[i] = f(i)
		}
		return pts
	}
	base := t0.UnixNano()
	cases := map[string][]point{
		"single":     {{T: base, V: 1.5}},
		"regular":    gen(500, func(i int) point { return point{base + int64(i)*int64(15*time.Minute), float64(i) * 0.25} }),
		"noisy-0.01": gen(500, func(i int) point { return point{base + int64(i)*6e11, math.Round((5+rng.NormFloat64())*100) / 100} }),
		"mul-scale":  gen(300, func(i int) point { return point{base + int64(i)*6e11, float64(rng.IntN(4000)-2000) * 0.01} }),
		"floats":     gen(300, func(i int) point { return point{base + int64(i)*1e9 + rng.Int64N(1e6), rng.Float64() * 1e6} }),
		"special":    {{base, math.Inf(1)}, {base + 1, math.NaN()}, {base + 2, math.Copysign(0, -1)}, {base + 3, math.MaxFloat64}, {base + 4, math.SmallestNonzeroFloat64}},
		"negative-t": gen(50, func(i int) point { return point{-1e18 + int64(i)*7, float64(-i)} }),
		"big-ints":   gen(50, func(i int) point { return point{base + int64(i), float64(int64(1)<<52 - int64(i)*1e12)} }),
		"ns-jitter":  gen(400, func(i int) point { return point{base + int64(i)*6e11 + rng.Int64N(1e9), float64(rng.IntN(3))} }),
	}
	for name, pts := range cases {
		t.Run(name, func(t *testing.T) {
			b := encodeChunk(pts)
			got, err := decodeChunk(nil, b)
			require.NoError(t, err)
			require.Len(t, got, len(pts))
			for i := range pts {
				require.Equal(t, pts[i].T, got[i].T, "point %d", i)
				require.Equal(t, math.Float64bits(pts[i].V), math.Float64bits(got[i].V), "point %d: %v vs %v", i, pts[i].V, got[i].V)
			}
			h, err := readChunkHeader(b)
			require.NoError(t, err)
			assert.Equal(t, len(pts), h.Count)
			assert.Equal(t, pts[0].T, h.MinT)
			assert.Equal(t, pts[len(pts)-1].T, h.MaxT)
			t.Logf("%s: %.2f bytes/point", name, float64(len(b))/float64(len(pts)))
		})
	}
}

func FuzzDecodeChunk(f *testing.F) {
	f.Add(encodeChunk([]point{{1, 1}, {2, 2.5}, {4, 3}}))
	f.Add(encodeChunk([]point{{1e9, 1.1}, {2e9, math.Pi}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		pts, err := decodeChunk(nil, b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same points.
		again, err := decodeChunk(nil, encodeChunk(sortPoints(append([]point(nil), pts...))))
		if len(pts) > 0 {
			require.NoError(t, err)
		}
		_ = again
	})
}

func FuzzDecodePayload(f *testing.F) {
	f.Add(encodeFrame(nil, 7, []measurement.Measurement{meas("a", "co2", 0, 400, t0)})[frameHeader:])
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodePayload(b)
		if err != nil {
			return
		}
		again, err := decodePayload(encodeFrame(nil, rec.Seq, rec.Measurements)[frameHeader:])
		require.NoError(t, err)
		require.Equal(t, len(rec.Measurements), len(again.Measurements))
	})
}

func TestAppendQueryAcrossSealAndReopen(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	s := openTest(t, Options{Dir: dir, Registerer: reg, ChunkPoints: 64})
	ctx := context.Background()
	var want []float64
	for i := 0; i < 300; i++ {
		v := float64(i) / 10
		want = append(want, v)
		require.NoError(t, s.Append(ctx, []measurement.Measurement{
			meas("dev1", measurement.AirTemperature, 0, v, t0.Add(time.Duration(i)*time.Minute)),
			meas("dev1", measurement.PulseCount, 2, float64(i), t0.Add(time.Duration(i)*time.Minute)),
		}))
		if i == 100 || i == 200 {
			require.NoError(t, s.Seal())
		}
	}
	assert.Equal(t, 600.0, testutil.ToFloat64(s.m.points))
	check := func(s *Store) {
		res, err := s.Range(ctx, []string{"dev1/air_temperature", "nope"}, t0, t0.Add(time.Hour*24))
		require.NoError(t, err)
		require.Len(t, res, 1)
		assert.Equal(t, "degC", res[0].Unit)
		require.Len(t, res[0].Points, 300)
		for i, p := range res[0].Points {
			assert.Equal(t, want[i], p.Value)
			assert.True(t, p.Time.Equal(t0.Add(time.Duration(i)*time.Minute)))
		}
		part, err := s.Range(ctx, []string{"dev1/air_temperature"}, t0.Add(50*time.Minute), t0.Add(60*time.Minute))
		require.NoError(t, err)
		require.Len(t, part[0].Points, 10)
		assert.Equal(t, 5.0, part[0].Points[0].Value)
		last, err := s.Last(ctx, []string{"dev1/pulse_count/2"})
		require.NoError(t, err)
		require.Len(t, last, 1)
		assert.Equal(t, 299.0, last[0].Points[0].Value)
		assert.Equal(t, 2, last[0].Channel)
	}
	check(s)
	require.NoError(t, s.Close())
	s2 := openTest(t, Options{Dir: dir, Registerer: reg, ChunkPoints: 64})
	check(s2)
	assert.Len(t, s2.Series(), 2)
}

func TestReplayWithoutSeal(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir})
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		require.NoError(t, s.Append(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, float64(i), t0.Add(time.Duration(i)*time.Second))}))
	}
	// Simulate a crash: stop the loops without sealing.
	s.cancel()
	s.wg.Wait()
	s.cur.Close()
	s.db.Close()
	s.closed = true
	s2 := openTest(t, Options{Dir: dir})
	res, err := s2.Range(ctx, []string{"d/co2"}, t0, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, res[0].Points, 50)
	assert.Equal(t, 50, s2.Recovery.Records)
}

func TestOutOfOrderAndDuplicates(t *testing.T) {
	s := openTest(t, Options{ChunkPoints: 8})
	ctx := context.Background()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	for _, m := range []int{10, 11, 12, 13} {
		require.NoError(t, s.Append(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, float64(m), at(m))}))
	}
	require.NoError(t, s.Seal())
	// Late history and a re-sent value.
	for _, m := range []int{1, 2, 12, 3} {
		require.NoError(t, s.Append(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, float64(m)+0.5, at(m))}))
	}
	for round := 0; round < 2; round++ {
		res, err := s.Range(ctx, []string{"d/co2"}, at(0), at(100))
		require.NoError(t, err)
		var got []float64
		for _, p := range res[0].Points {
			got = append(got, p.Value)
		}
		assert.Equal(t, []float64{1.5, 2.5, 3.5, 10, 11, 12.5, 13}, got, "round %d", round)
		require.NoError(t, s.Seal())
	}
}

func TestAggregate(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	// Counter with a reset in hour 2: 0,10,20 | 30,40,5 | 15.
	vals := []float64{0, 10, 20, 30, 40, 5, 15}
	var ms []measurement.Measurement
	for i, v := range vals {
		ms = append(ms, meas("m", measurement.EnergyActiveImport, 0, v, t0.Add(time.Duration(i)*20*time.Minute)))
	}
	require.NoError(t, s.Append(ctx, ms[:4]))
	require.NoError(t, s.Seal())
	require.NoError(t, s.Append(ctx, ms[4:]))
	res, err := s.Aggregate(ctx, AggregateQuery{Keys: []string{"m/energy_active_import"}, From: t0, To: t0.Add(4 * time.Hour), Every: time.Hour})
	require.NoError(t, err)
	require.Len(t, res, 1)
	b := res[0].Buckets
	require.Len(t, b, 4)
	assert.Equal(t, 3, b[0].Count)
	assert.Equal(t, 20.0, b[0].Increase)
	assert.Equal(t, 0.0, b[0].Min)
	assert.Equal(t, 20.0, b[0].Max)
	assert.Equal(t, 10.0, b[0].Mean)
	assert.Equal(t, 30.0, b[0].Sum)
	assert.Equal(t, 10+10+5.0, b[1].Increase) // 20->30, 30->40, reset to 5
	assert.Equal(t, 30.0, b[1].First)
	assert.Equal(t, 5.0, b[1].Last)
	assert.Equal(t, 10.0, b[2].Increase)
	assert.Equal(t, 0, b[3].Count)
	assert.True(t, math.IsNaN(b[3].Mean))

	mb := MonthBounds(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.UTC)
	require.Len(t, mb, 4)
	assert.Equal(t, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), mb[3])
}

func TestCursor(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir, SegmentSize: 512})
	ctx := context.Background()
	c, err := s.OpenCursor("influx")
	require.NoError(t, err)
	for i := 0; i < 40; i++ {
		require.NoError(t, s.Append(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, float64(i), t0.Add(time.Duration(i)*time.Second))}))
		if i%10 == 9 {
			require.NoError(t, s.Seal()) // rolls segments; cursor pins them
		}
	}
	var got []float64
	var last uint64
	for len(got) < 25 {
		recs, err := c.Next(ctx, 7)
		require.NoError(t, err)
		require.LessOrEqual(t, len(recs), 7)
		for _, r := range recs {
			got = append(got, r.Measurements[0].Value)
			last = r.Seq
		}
	}
	require.NoError(t, c.Commit(last))
	require.NoError(t, s.Close())

	s2 := openTest(t, Options{Dir: dir, SegmentSize: 512})
	c2, err := s2.OpenCursor("influx")
	require.NoError(t, err)
	assert.Equal(t, last, c2.Position())
	recs, err := c2.Next(ctx, 100)
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	assert.Equal(t, last+1, recs[0].Seq)
	assert.Equal(t, float64(len(got)), recs[0].Measurements[0].Value)

	// Next blocks until a new record is durable.
	done := make(chan []Record)
	go func() {
		for {
			r, err := c2.Next(ctx, 100)
			if err != nil || len(r) == 0 {
				continue
			}
			if r[len(r)-1].Measurements[0].Value == 99 {
				done <- r
				return
			}
		}
	}()
	require.NoError(t, s2.Append(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, 99, t0.Add(time.Hour))}))
	select {
	case r := <-done:
		assert.Equal(t, 99.0, r[len(r)-1].Measurements[0].Value)
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not wake up")
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = c2.Next(cctx, 1)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestSegmentsDeletedWhenSealedAndPassed(t *testing.T) {
	s := openTest(t, Options{SegmentSize: 256})
	ctx := context.Background()
	c, err := s.OpenCursor("mqtt")
	require.NoError(t, err)
	for i := 0; i < 30; i++ {
		require.NoError(t, s.Append(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, float64(i), t0.Add(time.Duration(i)*time.Second))}))
		require.NoError(t, s.Seal())
	}
	s.mu.RLock()
	n := len(s.segs)
	s.mu.RUnlock()
	assert.Greater(t, n, 20, "cursor at 0 must pin segments")
	require.NoError(t, c.Commit(30))
	require.NoError(t, s.Seal())
	s.mu.RLock()
	n = len(s.segs)
	s.mu.RUnlock()
	assert.LessOrEqual(t, n, 2)
	require.NoError(t, s.RemoveCursor("mqtt"))
}

func TestRetentionAndBudget(t *testing.T) {
	now := t0.Add(100 * 24 * time.Hour)
	reg := prometheus.NewRegistry()
	s := openTest(t, Options{Registerer: reg, Now: func() time.Time { return now }, ChunkPoints: 96,
		Retention: map[string]time.Duration{"gauge": 30 * 24 * time.Hour}})
	ctx := context.Background()
	for d := 0; d < 100; d++ {
		var ms []measurement.Measurement
		for i := 0; i < 96; i++ {
			at := t0.Add(time.Duration(d)*24*time.Hour + time.Duration(i)*15*time.Minute)
			ms = append(ms, meas("g", measurement.CO2, 0, float64(400+i), at), meas("c", measurement.WaterVolume, 0, float64(d*96+i), at))
		}
		require.NoError(t, s.Append(ctx, ms))
		require.NoError(t, s.Seal())
	}
	require.NoError(t, s.EnforceRetention())
	res, err := s.Range(ctx, []string{"g/co2", "c/water_volume"}, t0, now)
	require.NoError(t, err)
	assert.InDelta(t, 30*96, len(res[0].Points), 96, "gauge kept 30 days")
	assert.Equal(t, 100*96, len(res[1].Points), "counter kept")
	assert.Greater(t, testutil.ToFloat64(s.m.retentionDeleted), 60.0)

	usage := s.DiskUsage()
	s.opts.Config.DiskBudget = usage / 2
	require.NoError(t, s.EnforceRetention())
	assert.LessOrEqual(t, s.DiskUsage(), s.opts.Config.DiskBudget)
	assert.Greater(t, testutil.ToFloat64(s.m.evictions), 0.0)
	res, err = s.Range(ctx, []string{"c/water_volume"}, t0, now)
	require.NoError(t, err)
	require.NotEmpty(t, res[0].Points)
	assert.True(t, res[0].Points[0].Time.After(t0), "oldest data went first")
	// Writing continues.
	require.NoError(t, s.Append(ctx, []measurement.Measurement{meas("c", measurement.WaterVolume, 0, 1, now)}))
}

func TestKV(t *testing.T) {
	s := openTest(t, Options{})
	kv := s.KV("alerts")
	v, err := kv.Get([]byte("x"))
	require.NoError(t, err)
	assert.Nil(t, v)
	require.NoError(t, kv.Put([]byte("x"), []byte("firing")))
	v, err = kv.Get([]byte("x"))
	require.NoError(t, err)
	assert.Equal(t, "firing", string(v))
	n := 0
	require.NoError(t, kv.ForEach(func(k, v []byte) error { n++; return nil }))
	assert.Equal(t, 1, n)
	require.NoError(t, kv.Delete([]byte("x")))
}

func TestAppendRejectsInvalid(t *testing.T) {
	s := openTest(t, Options{})
	err := s.Append(context.Background(), []measurement.Measurement{{Device: "d", Quantity: "co2"}})
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestConcurrentAppendShareFsync(t *testing.T) {
	s := openTest(t, Options{Config: Config{CommitInterval: 20 * time.Millisecond}})
	ctx := context.Background()
	errs := make(chan error, 64)
	for g := 0; g < 64; g++ {
		go func() {
			errs <- s.Append(ctx, []measurement.Measurement{meas(fmt.Sprint("d", g), measurement.CO2, 0, 1, t0)})
		}()
	}
	for g := 0; g < 64; g++ {
		require.NoError(t, <-errs)
	}
	assert.Less(t, testutil.ToFloat64(s.m.fsyncs), 10.0)
}

func TestAppendAsync(t *testing.T) {
	s := openTest(t, Options{Config: Config{CommitInterval: 10 * time.Millisecond}})
	ctx := context.Background()
	done := make(chan error, 100)
	for i := 0; i < 100; i++ {
		require.NoError(t, s.AppendAsync(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, float64(i), t0.Add(time.Duration(i)*time.Second))},
			func(err error) { done <- err }))
	}
	for i := 0; i < 100; i++ {
		require.NoError(t, <-done)
	}
	res, err := s.Range(ctx, []string{"d/co2"}, t0, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Len(t, res[0].Points, 100)
	require.NoError(t, s.Close())
	assert.ErrorIs(t, s.Append(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, 1, t0)}), ErrClosed)
}

func TestBudgetEvictsLogAheadOfSlowCursor(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTest(t, Options{Registerer: reg, SegmentSize: 256})
	ctx := context.Background()
	c, err := s.OpenCursor("slow")
	require.NoError(t, err)
	for i := 0; i < 40; i++ {
		require.NoError(t, s.Append(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, float64(i), t0.Add(time.Duration(i)*time.Second))}))
		require.NoError(t, s.Seal())
	}
	// Budget so small that chunks and then the pinned log must go.
	s.opts.Config.DiskBudget = 1
	require.NoError(t, s.EnforceRetention())
	assert.Greater(t, testutil.ToFloat64(s.m.evictions), 1.0)
	// Writing continues; the cursor skips what was evicted.
	require.NoError(t, s.Append(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, 1, t0.Add(time.Hour))}))
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	recs, err := c.Next(tctx, 1000)
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	assert.Equal(t, uint64(41), recs[len(recs)-1].Seq)
	assert.Greater(t, testutil.ToFloat64(s.m.cursorSkipped), 0.0)
}

func TestAggregateIncreaseLooksBack(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	var ms []measurement.Measurement
	for i := 0; i < 8; i++ { // 15-minute readings from 23:00, 1 kWh each
		ms = append(ms, meas("m", measurement.EnergyActiveImport, 0, float64(100+i), t0.Add(-time.Hour+time.Duration(i)*15*time.Minute)))
	}
	require.NoError(t, s.Append(ctx, ms))
	q := AggregateQuery{Keys: []string{"m/energy_active_import"}, From: t0, To: t0.Add(time.Hour), Every: time.Hour}
	res, err := s.Aggregate(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, 4.0, res[0].Buckets[0].Increase, "includes 23:45 -> 00:00")
	assert.Equal(t, 4, res[0].Buckets[0].Count)
	assert.Equal(t, 104.0, res[0].Buckets[0].Min)
	q.Lookback = -1
	res, err = s.Aggregate(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, 3.0, res[0].Buckets[0].Increase)
}

func TestRunReturnsFatal(t *testing.T) {
	mfs := newMemFS()
	s := openTest(t, Options{FS: mfs})
	errc := make(chan error, 1)
	go func() { errc <- s.Run(context.Background()) }()
	mfs.arm(0, 1, syscall.EIO)
	require.Error(t, s.Append(context.Background(), []measurement.Measurement{meas("d", measurement.CO2, 0, 1, t0)}))
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, ErrFatal)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}
