package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
)

func TestNextBatch(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	c, err := s.OpenCursor("sink")
	require.NoError(t, err)
	three := func(i int) []measurement.Measurement {
		var ms []measurement.Measurement
		for k := range 3 {
			ms = append(ms, meas("d", measurement.CO2, 0, float64(i*3+k), t0.Add(time.Duration(i*3+k)*time.Second)))
		}
		return ms
	}
	for i := range 4 {
		require.NoError(t, s.Append(ctx, three(i)))
	}
	// Enough points at once: no wait for the flush interval.
	start := time.Now()
	recs, err := c.NextBatch(ctx, 6, time.Hour)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, countPoints(recs), 6)
	assert.Less(t, time.Since(start), time.Minute)
	got := countPoints(recs)
	if got < 12 {
		recs, err = c.NextBatch(ctx, 12-got, time.Hour)
		require.NoError(t, err)
		got += countPoints(recs)
	}
	assert.Equal(t, 12, got)
	// Too few points: the flush interval ends the wait for more.
	require.NoError(t, s.Append(ctx, three(4)))
	recs, err = c.NextBatch(ctx, 100, 50*time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, 3, countPoints(recs))
	// An ended context ends the wait for the first record.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = c.NextBatch(cctx, 100, time.Hour)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// Deliver commits what was delivered, keeps what was not, and stops
// quietly with its context.
func TestDeliver(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir})
	ctx := context.Background()
	for i := range 5 {
		require.NoError(t, s.Append(ctx, []measurement.Measurement{meas("d", measurement.CO2, 0, float64(i), t0.Add(time.Duration(i)*time.Second))}))
	}
	c, err := s.OpenCursor("sink")
	require.NoError(t, err)
	assert.Equal(t, uint64(5), c.Behind())
	failing := errors.New("server down")
	var got []float64
	err = c.Deliver(ctx, 2, time.Millisecond, func(_ context.Context, recs []Record) error {
		if len(got) >= 2 {
			return failing
		}
		for _, r := range recs {
			got = append(got, r.Measurements[0].Value)
		}
		return nil
	})
	require.ErrorIs(t, err, failing)
	assert.Equal(t, uint64(5-len(got)), c.Behind(), "committed exactly what was delivered")

	// A sink that failed is started again with the cursor opened anew.
	require.NoError(t, c.Close())
	c, err = s.OpenCursor("sink")
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	err = c.Deliver(cctx, 100, time.Millisecond, func(_ context.Context, recs []Record) error {
		for _, r := range recs {
			got = append(got, r.Measurements[0].Value)
		}
		if len(got) == 5 {
			cancel()
		}
		return nil
	})
	require.NoError(t, err, "an ended context is no error")
	assert.Equal(t, []float64{0, 1, 2, 3, 4}, got, "the failed batch delivered again, nothing twice")
}

func TestBacklogAge(t *testing.T) {
	var b Backlog
	now := t0.Add(time.Hour)
	assert.Zero(t, b.Age(now), "caught up")
	b.Read([]Record{{Measurements: []measurement.Measurement{
		meas("d", measurement.CO2, 0, 1, t0.Add(-time.Hour)), // meter history in the record
		meas("d", measurement.CO2, 0, 2, t0),                 // received at t0
	}}, {Measurements: []measurement.Measurement{meas("d", measurement.CO2, 0, 3, t0.Add(time.Minute))}}})
	assert.Equal(t, time.Hour, b.Age(now), "the first record's newest measurement")
	assert.Zero(t, b.Age(t0.Add(-time.Minute)), "never negative")
	b.Delivered()
	assert.Zero(t, b.Age(now))
}
