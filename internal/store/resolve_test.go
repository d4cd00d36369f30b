package store

import (
	"context"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rangeAll(t *testing.T, s *Store, key string) []Point {
	t.Helper()
	out, err := s.Range(context.Background(), []string{key}, t0.Add(-time.Hour), t0.Add(time.Hour))
	require.NoError(t, err)
	if len(out) == 0 {
		return nil
	}
	return out[0].Points
}

// Five uplinks of one device within one second are five points: the first
// keeps the whole second, the others their millisecond, and replaying them
// changes nothing but the duplicate count.
func TestFiveUplinksInOneSecond(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTest(t, Options{Registerer: reg})
	ctx := context.Background()
	offsets := []time.Duration{120, 340, 341, 700, 999}
	var batch []measurement.Measurement
	for i, off := range offsets {
		at := t0.Add(off*time.Millisecond + 417*time.Microsecond)
		m := meas("d1", measurement.AirTemperature, 0, 3.5+float64(i)/10, at)
		batch = append(batch, m)
		require.NoError(t, s.Append(ctx, []measurement.Measurement{m}))
	}
	key := batch[0].SeriesKey()
	pts := rangeAll(t, s, key)
	require.Len(t, pts, 5)
	want := []time.Time{t0, t0.Add(340 * time.Millisecond), t0.Add(341 * time.Millisecond), t0.Add(700 * time.Millisecond), t0.Add(999 * time.Millisecond)}
	for i, p := range pts {
		assert.Equal(t, want[i], p.Time, "point %d", i)
		assert.InDelta(t, 3.5+float64(i)/10, p.Value, 1e-9, "point %d", i)
	}
	assert.InDelta(t, 4, testutil.ToFloat64(s.m.refined), 0)
	assert.InDelta(t, 0, testutil.ToFloat64(s.m.collapsed.WithLabelValues(CollapseDuplicate)), 0)

	// The same uplinks again, all in one commit: idempotent.
	require.NoError(t, s.Append(ctx, batch))
	assert.Len(t, rangeAll(t, s, key), 5)
	assert.InDelta(t, 5, testutil.ToFloat64(s.m.collapsed.WithLabelValues(CollapseDuplicate)), 0)
	assert.InDelta(t, 4, testutil.ToFloat64(s.m.refined), 0)
}

// Points of one commit collide with each other, not only with stored ones.
func TestCollisionWithinOneAppend(t *testing.T) {
	s := openTest(t, Options{})
	a := meas("d1", measurement.AirTemperature, 0, 1, t0.Add(10*time.Millisecond))
	b := meas("d1", measurement.AirTemperature, 0, 2, t0.Add(20*time.Millisecond))
	require.NoError(t, s.Append(context.Background(), []measurement.Measurement{a, b}))
	pts := rangeAll(t, s, a.SeriesKey())
	require.Len(t, pts, 2)
	assert.Equal(t, t0, pts[0].Time)
	assert.Equal(t, t0.Add(20*time.Millisecond), pts[1].Time)
}

// A stuck clock (the same time on each uplink) with different values keeps
// the last value, and says so in the conflict count and the log.
func TestSameNanosecondConflictCounted(t *testing.T) {
	s := openTest(t, Options{})
	at := t0.Add(5 * time.Second)
	for i := range 4 {
		require.NoError(t, s.Append(context.Background(), []measurement.Measurement{meas("d1", measurement.AirTemperature, 0, float64(i), at)}))
	}
	pts := rangeAll(t, s, measurement.Measurement{Device: "d1", Quantity: measurement.AirTemperature}.SeriesKey())
	require.Len(t, pts, 1)
	assert.InDelta(t, 3, pts[0].Value, 0)
	assert.InDelta(t, 3, testutil.ToFloat64(s.m.collapsed.WithLabelValues(CollapseConflict)), 0, "at ns resolution the second, third and fourth take the slot")
}

// After a seal and a restart the resolver still sees the sealed points: a
// late uplink in a sealed second keeps its millisecond instead of replacing
// the sealed point, and a late replay of a sealed point is a duplicate.
func TestCollisionWithSealedPointsAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir})
	ctx := context.Background()
	var ms []measurement.Measurement
	for i := range 10 {
		ms = append(ms, meas("d1", measurement.AirTemperature, 0, float64(i), t0.Add(time.Duration(i)*time.Minute+250*time.Millisecond)))
	}
	require.NoError(t, s.Append(ctx, ms))
	require.NoError(t, s.Close())

	reg := prometheus.NewRegistry()
	s2 := openTest(t, Options{Dir: dir, Registerer: reg})
	late := meas("d1", measurement.AirTemperature, 0, 42, t0.Add(3*time.Minute+800*time.Millisecond))
	replay := ms[5]
	require.NoError(t, s2.Append(ctx, []measurement.Measurement{late, replay}))
	pts := rangeAll(t, s2, late.SeriesKey())
	require.Len(t, pts, 11)
	assert.Equal(t, t0.Add(3*time.Minute), pts[3].Time)
	assert.InDelta(t, 3, pts[3].Value, 0)
	assert.Equal(t, t0.Add(3*time.Minute+800*time.Millisecond), pts[4].Time)
	assert.InDelta(t, 42, pts[4].Value, 0)
	assert.InDelta(t, 1, testutil.ToFloat64(s2.m.collapsed.WithLabelValues(CollapseDuplicate)), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(s2.m.refined), 0)
}

// Regular data takes the fast path and stays at whole seconds.
func TestRegularDataStaysCoarse(t *testing.T) {
	s := openTest(t, Options{})
	var ms []measurement.Measurement
	for i := range 50 {
		ms = append(ms, meas("d1", measurement.AirTemperature, 0, float64(i), t0.Add(time.Duration(i)*10*time.Minute+time.Duration(i*13)*time.Millisecond)))
	}
	require.NoError(t, s.Append(context.Background(), ms))
	pts := rangeAll(t, s, ms[0].SeriesKey())
	require.Len(t, pts, 6) // [t0-1h, t0+1h) holds 0..50 min
	for _, p := range pts {
		assert.Equal(t, p.Time.Truncate(time.Second), p.Time)
	}
	assert.InDelta(t, 0, testutil.ToFloat64(s.m.refined), 0)
}

func TestResolverLevels(t *testing.T) {
	for _, c := range []struct {
		res  time.Duration
		want []int64
	}{
		{time.Second, []int64{1e9, 1e6, 1}},
		{time.Millisecond, []int64{1e6, 1}},
		{time.Microsecond, []int64{1e3, 1}},
		{-1, []int64{1}},
	} {
		assert.Equal(t, c.want, newResolver(c.res).levels, c.res.String())
	}
	assert.Equal(t, int64(-2e9), truncNanos(-1e9-1, 1e9))
	assert.Equal(t, int64(math.MaxInt64), truncNanos(math.MaxInt64, 1))
}

// Bytes written by the store before issue 19 (the format is unchanged: the
// log always held nanoseconds, chunks have named their time unit since
// version 1). A store holding them opens, reads, and takes a point in an
// old point's second beside it.
const (
	oldWALFrame = "0000005f4e66f6d00000000000000001020264310f6169725f74656d70657261747572650464656743003ff80000000000008080d0dfbd94b98631000264310f6169725f74656d70657261747572650464656743003ffc00000000000080c09b8cb4b7b9863100"
	oldChunk    = "010b020b06038080d0dfbd94b986318080e7b8aadab9863180e4ad950dac02a58590"
)

func TestOldFormatStoreOpens(t *testing.T) {
	pts, err := decodeChunk(nil, mustHex(t, oldChunk))
	require.NoError(t, err)
	base := t0.UnixNano()
	assert.Equal(t, []point{{base, 1.5}, {base + 600e9, 1.75}, {base + 1200e9, 2}}, pts)

	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "wal"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wal", segName(1)), mustHex(t, oldWALFrame), 0o600))
	reg := prometheus.NewRegistry()
	s := openTest(t, Options{Dir: dir, Registerer: reg})
	key := meas("d1", measurement.AirTemperature, 0, 0, t0).SeriesKey()
	got := rangeAll(t, s, key)
	require.Len(t, got, 2)
	assert.Equal(t, Point{Time: t0, Value: 1.5}, got[0])
	require.NoError(t, s.Append(context.Background(), []measurement.Measurement{meas("d1", measurement.AirTemperature, 0, 9, t0.Add(300*time.Millisecond))}))
	got = rangeAll(t, s, key)
	require.Len(t, got, 3)
	assert.Equal(t, Point{Time: t0.Add(300 * time.Millisecond), Value: 9}, got[1])
	assert.InDelta(t, 1, testutil.ToFloat64(s.m.refined), 0)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}
