package alert

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// knots is a daily curve (hour, value), linear between knots, wrapping.
type knots [][2]float64

func (k knots) at(t time.Time) float64 {
	l := t.In(cet)
	h := float64(l.Hour()) + float64(l.Minute())/60
	for i := range k {
		a, b := k[i], k[(i+1)%len(k)]
		bh := b[0]
		if i == len(k)-1 {
			bh += 24
		}
		hh := h
		if hh < a[0] {
			hh += 24
		}
		if hh >= a[0] && hh <= bh {
			return a[1] + (b[1]-a[1])*(hh-a[0])/(bh-a[0])
		}
	}
	return k[0][1]
}

// The January night of the simulator's road model (same knots), for a
// bridge that runs 0.8 K colder; plus a deterministic ripple of +-0.25 K so
// that readings cross the thresholds back and forth.
var (
	airKnots   = knots{{0, 0.6}, {2, -0.8}, {4, -2.0}, {6, -3.0}, {7.5, -3.4}, {8, -3.2}, {9, -2.0}, {11, 0.8}, {13, 3.5}, {14.5, 4.5}, {16, 4.6}, {18, 4.0}, {20, 2.8}, {22, 1.8}}
	rhKnots    = knots{{0, 94}, {2, 96}, {4, 97}, {6, 98}, {8, 97}, {9, 93}, {10, 86}, {12, 74}, {14, 70}, {16, 74}, {18, 80}, {20, 86}, {22, 91}}
	deltaKnots = knots{{0, -1.3}, {6, -1.5}, {8, -1.2}, {9, -0.3}, {10, 0.8}, {12, 2.5}, {14, 2.0}, {16, 0.5}, {18, -0.6}, {20, -1.0}, {22, -1.2}}
)

// roadReading returns one uplink's measurements of a road station at t.
func roadReading(dev string, t time.Time, i int) []measurement.Measurement {
	air := airKnots.at(t)
	fbt := air + deltaKnots.at(t) - 0.8 + 0.25*math.Sin(float64(i)*1.7)
	h := t.In(cet).Hour()
	film, state := 0.0, 0.0
	switch {
	case h >= 20 || h < 10: // condensate and drizzle: wet, frozen below 0
		film, state = 0.18, 32
		if fbt <= 0 {
			state = 66
		}
	case h < 12:
		film, state = 0.03, 1
	}
	return []measurement.Measurement{
		m(dev, measurement.RoadSurfaceTemperature, math.Round(fbt*100)/100, t),
		m(dev, measurement.AirTemperature, math.Round(air*100)/100, t),
		m(dev, measurement.RelativeHumidity, rhKnots.at(t), t),
		m(dev, measurement.RoadSurfaceState, state, t),
		m(dev, measurement.WaterFilmHeight, film, t),
		m(dev, measurement.BatteryVoltage, 3.6, t),
	}
}

func winterConfig() Config {
	return Config{
		Enabled:        true,
		RepeatInterval: 2 * time.Hour,
		EscalateAfter:  45 * time.Minute,
		Receivers: []ReceiverConfig{
			{Name: "winterdienst", Type: "webhook"},
			{Name: "leitstelle", Type: "webhook", Language: "en"},
		},
		DefaultReceivers: []string{"winterdienst"},
		Rules: []RuleConfig{
			{Name: "glaette", Kind: KindIce, Select: Select{Teams: []string{"winterdienst"}}, EscalateTo: []string{"leitstelle"}},
			{Name: "stale", Kind: KindStale, Select: Select{Profiles: []string{sim.ProfileRoadStation}}},
		},
	}
}

func byReceiver(w *webhook, name string) []notify.WebhookAlert {
	var out []notify.WebhookAlert
	for _, msg := range w.messages() {
		if msg.Receiver == name {
			out = append(out, msg.Alerts...)
		}
	}
	return out
}

// A winter night on the bridge station: Vorwarnung while the surface is
// still above 0 degC, then Warnung and Alarm, repeats and escalation until
// someone acknowledges, an explicit Entwarnung after the morning warms the
// road, and no flapping although the readings ripple around each threshold.
func TestWinterNightLifecycle(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, winterConfig(), "winter-night", start)
	dev := eui(sim.Devices("winter-night")[0]) // k23-bridge
	ackAt := time.Date(2026, 1, 13, 1, 0, 0, 0, cet)
	acked := false
	var fbtAtVorwarnung float64
	for i, t0 := 0, start; t0.Before(start.Add(20 * time.Hour)); i, t0 = i+1, t0.Add(10*time.Minute) {
		h.feed(roadReading(dev, t0, i)...)
		h.tick(t0.Add(time.Minute))
		if !acked && !t0.Before(ackAt) {
			require.NoError(t, h.e.Acknowledge("glaette/k23-bridge", "Meier", t0))
			acked = true
		}
		if fbtAtVorwarnung == 0 {
			if as := h.e.List(Filter{Rule: "glaette", States: []State{StateFiring}}); len(as) == 1 {
				fbtAtVorwarnung = as[0].Values["fbt"]
				assert.Equal(t, LevelVorwarnung, as[0].Level)
			}
		}
	}
	h.drain()

	assert.Greater(t, fbtAtVorwarnung, 0.0, "Vorwarnung must come while the surface is above 0 degC")
	team := byReceiver(h.hook, "winterdienst")
	var firing []string
	var repeatsAfterAck, resolved int
	var lastKind string
	var ice []notify.WebhookAlert
	for _, a := range team {
		if a.Rule == "stale" {
			// The two other stations of the scenario send nothing here.
			assert.NotContains(t, a.ID, dev, "the bridge station never went silent")
			continue
		}
		require.Equal(t, "glaette/k23-bridge", a.ID)
		ice = append(ice, a)
		switch a.Notification {
		case "firing":
			firing = append(firing, a.Level.String())
		case "repeat":
			if a.ObservedAt.After(ackAt) {
				repeatsAfterAck++
			}
		case "resolved":
			resolved++
			assert.Contains(t, a.Title, "Entwarnung")
			assert.Contains(t, a.Text, "ENTWARNUNG")
			assert.GreaterOrEqual(t, a.Values["fbt"], 2.0, "all-clear only once the surface is >= +2 degC")
		}
		lastKind = a.Notification
	}
	// No flapping: each level is announced once, in rising order.
	assert.Equal(t, []string{"vorwarnung", "warnung", "alarm"}, firing)
	assert.Zero(t, repeatsAfterAck, "an acknowledged alert does not repeat")
	assert.Equal(t, 1, resolved)
	assert.Equal(t, "resolved", lastKind)
	assert.True(t, slices.ContainsFunc(ice, func(a notify.WebhookAlert) bool { return a.Notification == "repeat" }), "unacknowledged alarm repeats")

	// The winter-service text carries what the crew needs.
	alarm := ice[slices.IndexFunc(ice, func(a notify.WebhookAlert) bool { return a.Level == LevelAlarm })]
	for _, want := range []string{"K 23 Talbach bridge", "K 23 km 4,2", "Streuroute Nord", "Alarm", "FBT", "LT", "Taupunkt", "Frostpunkt", "Trend FBT", "Datenalter", "Eis"} {
		assert.Contains(t, alarm.Title+"\n"+alarm.Text, want)
	}

	checkEscalation(t, h)

	// The alert is resolved and carries who acknowledged it.
	as := h.e.List(Filter{Rule: "glaette"})
	require.Len(t, as, 1)
	assert.Equal(t, StateResolved, as[0].State)
	assert.Equal(t, "Meier", as[0].AckBy)
}

// checkEscalation: the ice alert escalated to the second receiver
// (English) and its all-clear went there too.
func checkEscalation(t *testing.T, h *harness) {
	t.Helper()
	// Escalation to the second receiver (English) after 45 min unacknowledged.
	var esc []notify.WebhookAlert
	for _, a := range byReceiver(h.hook, "leitstelle") {
		if a.Rule == "glaette" {
			esc = append(esc, a)
		}
	}
	require.NotEmpty(t, esc)
	assert.Equal(t, "escalation", esc[0].Notification)
	assert.Contains(t, esc[0].Title, "Escalation")
	assert.Contains(t, esc[len(esc)-1].Title, "All clear")
}

// A station that goes silent in the middle of an Alarm: the stale alert
// fires after 3 x the profile's 10-min interval, the ice alarm is held with
// "data missing" and never turns into an all-clear.
func TestSilentSensorIsStaleNotAllClear(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, winterConfig(), "winter-night", start)
	dev := eui(sim.Devices("winter-night")[0])
	last := time.Date(2026, 1, 13, 0, 0, 0, 0, cet)
	for i, t0 := 0, start; !t0.After(last); i, t0 = i+1, t0.Add(10*time.Minute) {
		h.feed(roadReading(dev, t0, i)...)
	}
	// The silence: ticks every 5 min until the morning, no readings.
	var staleAt time.Time
	for t0 := last.Add(5 * time.Minute); t0.Before(last.Add(12 * time.Hour)); t0 = t0.Add(5 * time.Minute) {
		h.tick(t0)
		if staleAt.IsZero() && len(h.e.List(Filter{Rule: "stale", States: []State{StateFiring}})) > 0 {
			staleAt = t0
		}
	}
	h.drain()
	assert.Equal(t, last.Add(35*time.Minute), staleAt, "stale after 3 x 10 min without data")
	ice := h.e.List(Filter{Rule: "glaette"})
	require.Len(t, ice, 1)
	assert.Equal(t, StateFiring, ice[0].State, "no all-clear without data")
	assert.Equal(t, LevelAlarm, ice[0].Level)
	assert.Equal(t, "true", ice[0].Info["data_missing"])
	for _, a := range byReceiver(h.hook, "winterdienst") {
		assert.NotEqual(t, "resolved", a.Notification, "%s", a.ID)
	}
	stale := slices.IndexFunc(byReceiver(h.hook, "winterdienst"), func(a notify.WebhookAlert) bool { return a.Rule == "stale" })
	require.GreaterOrEqual(t, stale, 0)
	// The repeat of the ice alarm during the silence says the data is missing.
	var sawMissing bool
	for _, a := range byReceiver(h.hook, "winterdienst") {
		if a.Rule == "glaette" && a.Notification == "repeat" && strings.Contains(a.Text, "keine aktuellen Messwerte") {
			sawMissing = true
		}
	}
	assert.True(t, sawMissing)

	// Data coming back resolves the stale alert (not the ice alarm).
	t0 := last.Add(12 * time.Hour)
	h.feed(roadReading(dev, t0, 1)...)
	assert.Equal(t, StateResolved, h.e.List(Filter{Rule: "stale"})[0].State)
	assert.Equal(t, StateFiring, h.e.List(Filter{Rule: "glaette"})[0].State)
}

// A simulation replayed on the same data directory starts its virtual
// clock over: the rules start over instead of ignoring "old" data.
func TestReplayAfterClockReset(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	cfg := winterConfig()
	cfg.Rules = cfg.Rules[:1]
	cfg.Rules[0].EscalateTo = nil
	cfg.RepeatInterval = 100 * time.Hour
	h := newHarness(t, cfg, "winter-night", start)
	dev := eui(sim.Devices("winter-night")[0])
	play := func() {
		for i, t0 := 0, start; t0.Before(start.Add(20 * time.Hour)); i, t0 = i+1, t0.Add(10*time.Minute) {
			h.feed(roadReading(dev, t0, i)...)
		}
		h.drain()
	}
	play()
	first := h.hook.notes()
	require.Len(t, first, 4)
	h.restart()
	h.clock = &clock{t: start}
	h.opts.Now = h.clock.Now
	h.restart()
	play()
	assert.Equal(t, append(first, first...), h.hook.notes())
}
