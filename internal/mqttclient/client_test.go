package mqttclient

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReconnectBacksOffUntilPermanent(t *testing.T) {
	c := Config{BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond}
	var starts []time.Time
	stop := errors.New("log broken")
	err := Reconnect(t.Context(), c, slog.New(slog.DiscardHandler), "test connection failed", func(context.Context) error {
		starts = append(starts, time.Now())
		if len(starts) == 5 {
			return Permanent(stop)
		}
		return errors.New("refused")
	})
	require.ErrorIs(t, err, stop)
	assert.NotErrorAs(t, err, new(permanentError), "the cause, not the mark, is returned")
	require.Len(t, starts, 5)
	// 1, 2, 4, 4 ms: doubled up to BackoffMax.
	for i, want := range []time.Duration{1, 2, 4, 4} {
		assert.GreaterOrEqual(t, starts[i+1].Sub(starts[i]), want*time.Millisecond, "wait %d", i)
	}
}

func TestReconnectEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	c := Config{BackoffMin: time.Hour, BackoffMax: time.Hour}
	done := make(chan error, 1)
	go func() {
		done <- Reconnect(ctx, c, slog.New(slog.DiscardHandler), "test connection failed", func(context.Context) error {
			return errors.New("refused")
		})
	}()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "a cancelled context is a clean stop")
	case <-time.After(5 * time.Second):
		t.Fatal("Reconnect kept waiting after its context ended")
	}
}
