package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/sim"
)

func staleConfig() Config {
	return Config{Enabled: true, Rules: []RuleConfig{{Name: "stale", Kind: KindStale,
		Select: Select{Profiles: []string{sim.ProfileRoadStation}}}}}
}

// staleFiring lists the devices with a firing stale alert.
func staleFiring(h *harness) []string {
	var out []string
	for _, a := range h.e.List(Filter{Rule: "stale", States: []State{StateFiring}}) {
		out = append(out, a.Labels["device"])
	}
	return out
}

// Data that reaches the engine 50 minutes after its own time (a pipeline
// that lags, as the simulator's at 600x on a loaded machine) is not
// silence: the three stations report every 10 minutes of data time, and
// the engine's clock runs 50 minutes ahead of it (more than the 30-minute
// limit).
func TestStaleIgnoresPipelineLag(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, staleConfig(), "winter-night", start)
	devs := sim.Devices("winter-night")
	require.Len(t, devs, 3)
	const lag = 50 * time.Minute
	for i, t0 := 0, start; t0.Before(start.Add(6 * time.Hour)); i, t0 = i+1, t0.Add(10*time.Minute) {
		for k, d := range devs {
			at := t0.Add(time.Duration(k) * 3 * time.Minute)
			h.clock.Set(at.Add(lag))
			h.e.process(roadReading(eui(d), at, i))
		}
		h.tick(t0.Add(9 * time.Minute).Add(lag))
		require.Empty(t, staleFiring(h), "at %s", t0)
	}
	assert.Empty(t, h.e.List(Filter{Rule: "stale"}), "no stale alert was ever raised")
}

// One station goes silent while the others keep reporting behind a lagging
// pipeline: it is stale once the data clock has moved 30 minutes past its
// last data; then the whole network goes quiet and, on the engine's clock,
// the others follow 30 minutes after the last data arrived.
func TestStaleOneSilentThenAll(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, staleConfig(), "winter-night", start)
	devs := sim.Devices("winter-night")
	silent := eui(devs[0])
	const lag = 50 * time.Minute
	var firedAt time.Time
	t0 := start
	for i := 0; i < 12; i, t0 = i+1, t0.Add(10*time.Minute) {
		h.clock.Set(t0.Add(lag))
		for k, d := range devs {
			if k == 0 && i >= 2 {
				continue // silent after 18:10
			}
			h.e.process(roadReading(eui(d), t0, i))
		}
		h.tick(t0.Add(lag))
		if firedAt.IsZero() && len(staleFiring(h)) > 0 {
			firedAt = t0
			assert.Equal(t, []string{silent}, staleFiring(h))
		}
	}
	// Last data of the silent one at 18:10; silent for more than 30 min
	// of data time at 18:50.
	assert.Equal(t, start.Add(50*time.Minute), firedAt)
	// t0 is 20:00 now, the last data 19:50, arrived at 20:40 engine time.
	heard := t0.Add(-10 * time.Minute).Add(lag)
	h.tick(heard.Add(30 * time.Minute))
	assert.Len(t, staleFiring(h), 1, "quiet for exactly the limit: not yet")
	h.tick(heard.Add(31 * time.Minute))
	assert.Len(t, staleFiring(h), 3, "the whole network quiet beyond the limit")
}

// A device whose clock runs ahead does not make the others look silent.
func TestStaleFutureDataTimeClamped(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, staleConfig(), "winter-night", start)
	devs := sim.Devices("winter-night")
	for i, t0 := 0, start; i < 6; i, t0 = i+1, t0.Add(10*time.Minute) {
		h.clock.Set(t0)
		h.e.process(roadReading(eui(devs[0]), t0.Add(5*time.Hour), i))
		h.e.process(roadReading(eui(devs[1]), t0, i))
		h.e.process(roadReading(eui(devs[2]), t0, i))
		h.tick(t0.Add(time.Minute))
		require.Empty(t, staleFiring(h), "at %s", t0)
	}
}

// A state saved before the data clock (only start and last) keeps judging
// each device by its own last data after an upgrade, not all of them by
// the rule's start.
func TestStaleStateFromBeforeTheDataClock(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	s := &staleEval{}
	require.NoError(t, s.load([]byte(`{"start":"2026-01-05T18:00:00+01:00","last":{"a":"2026-01-12T17:50:00+01:00"}}`)))
	age, seen := s.age("a", start)
	assert.True(t, seen)
	assert.Equal(t, 10*time.Minute, age)
	age, seen = s.age("b", start)
	assert.False(t, seen)
	assert.Equal(t, 7*24*time.Hour, age, "never seen: since the rule started")
}
