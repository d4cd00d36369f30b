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

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.Validate())
	c.URL = "http://x"
	c.BackoffMin = time.Hour
	c.TLS.KeyFile = "/nonexistent.key"
	err := c.Validate()
	for _, want := range []string{`url: scheme "http"`, "backoff_min: larger than backoff_max", "tls: cert_file and key_file go together", "key_file:"} {
		assert.ErrorContains(t, err, want)
	}
	c = DefaultConfig()
	c.URL = "tcp://"
	assert.EqualError(t, c.Validate(), "url: no host")
}

func TestWithDefaults(t *testing.T) {
	c := Config{KeepAlive: -time.Second, BackoffMax: time.Minute}.WithDefaults()
	assert.Equal(t, 30*time.Second, c.KeepAlive)
	assert.Equal(t, 10*time.Second, c.ConnectTimeout)
	assert.Equal(t, 500*time.Millisecond, c.BackoffMin)
	assert.Equal(t, time.Minute, c.BackoffMax, "set values stay")
	assert.Empty(t, c.ClientID, "each section derives its own")
}
