package backoff

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDelayDoublesWithinJitterUpToMax(t *testing.T) {
	p := Policy{Min: 100 * time.Millisecond, Max: time.Second}
	for attempt, full := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		full *= time.Millisecond
		for range 50 {
			d := p.Delay(attempt)
			assert.GreaterOrEqual(t, d, full/2, "attempt %d", attempt)
			assert.LessOrEqual(t, d, full, "attempt %d", attempt)
		}
	}
	assert.LessOrEqual(t, Policy{Max: time.Millisecond}.Delay(3), time.Millisecond, "a zero Min still grows to Max")
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled)
	assert.NoError(t, Sleep(context.Background(), time.Millisecond))
}

func TestReason(t *testing.T) {
	for status, want := range map[int]string{0: "network", 429: "throttled", 503: "throttled", 500: "server", 502: "server",
		401: "client", 403: "client", 404: "client"} {
		assert.Equal(t, want, Reason(status), "%d", status)
		assert.Contains(t, Reasons, want)
	}
}
