package sim

import (
	"context"
	"time"
)

// Clock is a virtual clock that runs Speed times faster than the real one,
// starting at a given virtual instant.
type Clock struct {
	virtStart time.Time
	realStart time.Time
	speed     float64
	now       func() time.Time // real clock; replaceable in tests
}

// NewClock returns a clock that shows start now and advances speed virtual
// seconds per real second. A speed <= 0 means 1 (real time).
func NewClock(start time.Time, speed float64) *Clock {
	return newClock(start, speed, time.Now)
}

func newClock(start time.Time, speed float64, now func() time.Time) *Clock {
	if speed <= 0 {
		speed = 1
	}
	return &Clock{virtStart: start, realStart: now(), speed: speed, now: now}
}

// Start returns the virtual instant the clock started at.
func (c *Clock) Start() time.Time { return c.virtStart }

// Speed returns the virtual seconds per real second.
func (c *Clock) Speed() float64 { return c.speed }

// Now returns the current virtual time.
func (c *Clock) Now() time.Time {
	return c.virtual(c.now())
}

func (c *Clock) virtual(real time.Time) time.Time {
	elapsed := real.Sub(c.realStart)
	return c.virtStart.Add(time.Duration(float64(elapsed) * c.speed))
}

// RealUntil returns the real duration until the virtual time t (<= 0 when t
// has passed).
func (c *Clock) RealUntil(t time.Time) time.Duration {
	return time.Duration(float64(t.Sub(c.Now())) / c.speed)
}

// SleepUntil blocks until the virtual time t or until ctx is done.
func (c *Clock) SleepUntil(ctx context.Context, t time.Time) error {
	d := c.RealUntil(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// sleepReal blocks for a real duration or until ctx is done.
func sleepReal(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
