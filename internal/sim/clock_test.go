package sim

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClockSpeedWithFakeTime(t *testing.T) {
	real0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := real0
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	c := newClock(start, 600, func() time.Time { return now })
	assert.Equal(t, start, c.Now())
	now = real0.Add(100 * time.Millisecond)
	assert.Equal(t, start.Add(time.Minute), c.Now(), "1 virtual minute per real 100 ms")
	now = real0.Add(84 * time.Second)
	assert.Equal(t, start.Add(14*time.Hour), c.Now(), "a 14 h night in 84 s")
	assert.Equal(t, 10*time.Second, c.RealUntil(start.Add(15*time.Hour+40*time.Minute)))
	assert.LessOrEqual(t, c.RealUntil(start), time.Duration(0))
}

func TestClockSleepUntilRealTime(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	c := NewClock(start, 6000) // 1 virtual minute = 10 ms
	t0 := time.Now()
	require.NoError(t, c.SleepUntil(context.Background(), start.Add(5*time.Minute)))
	el := time.Since(t0)
	assert.GreaterOrEqual(t, el, 45*time.Millisecond)
	assert.Less(t, el, 500*time.Millisecond)
	assert.False(t, c.Now().Before(start.Add(5*time.Minute)))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, c.SleepUntil(ctx, start.Add(24*time.Hour)), context.Canceled)
	assert.Equal(t, 1.0, NewClock(start, 0).Speed(), "non-positive speed means real time")
}
