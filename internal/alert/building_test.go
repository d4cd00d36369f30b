package alert

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// classroomCO2 integrates a CO2 mass balance for room 7b of the simulator's
// school day (165 m3, 29 pupils, 1 air change/h in lessons, 3 in breaks)
// in 1-min steps and returns the value at every 10-min uplink.
func classroomCO2(start time.Time, hours float64) []struct {
	t   time.Time
	ppm float64
} {
	lessons := [][2]float64{{8, 8.75}, {8.83, 9.58}, {9.92, 10.67}, {10.75, 11.5}, {11.75, 12.5}, {12.58, 13.33}, {14, 14.75}, {14.83, 15.4}}
	const outdoor, vol, perPupil = 420.0, 165.0, 0.018 // ppm, m3, m3/h CO2 per pupil
	c := outdoor + 30
	var out []struct {
		t   time.Time
		ppm float64
	}
	for i := 0; i < int(hours*60); i++ {
		t := start.Add(time.Duration(i) * time.Minute)
		l := t.In(cet)
		h := float64(l.Hour()) + float64(l.Minute())/60
		gen, ach := 0.0, 0.4
		if h >= 8 && h < 15.4 {
			ach = 3
		}
		for _, le := range lessons {
			if h >= le[0] && h < le[1] {
				gen, ach = 29*perPupil, 1.0
			}
		}
		c += (gen/vol*1e6 - ach*(c-outdoor)) / 60
		if i%10 == 0 {
			out = append(out, struct {
				t   time.Time
				ppm float64
			}{t, math.Round(c)})
		}
	}
	return out
}

func TestClassroomCO2(t *testing.T) {
	start := time.Date(2026, 1, 13, 7, 30, 0, 0, cet)
	cfg := Config{
		Receivers:        []ReceiverConfig{{Name: "hausmeister", Type: "webhook"}},
		DefaultReceivers: []string{"hausmeister"},
		Rules:            []RuleConfig{{Name: "co2", Kind: KindCO2, Select: Select{Profiles: []string{sim.ProfileElsysCO2}}}},
	}
	h := newHarness(t, cfg, "school-day", start)
	dev := eui(sim.Devices("school-day")[1]) // room 212 (7b)
	var maxPPM float64
	// Till 21:30: after school the air change is 0.4/h, the janitor
	// gets the all-clear in the evening.
	for _, r := range classroomCO2(start, 14) {
		maxPPM = max(maxPPM, r.ppm)
		h.feed(m(dev, measurement.CO2, r.ppm, r.t), m(dev, measurement.AirTemperature, 21, r.t))
	}
	h.drain()
	require.Greater(t, maxPPM, 2000.0, "the room model must pass 2000 ppm")
	notes := byReceiver(h.hook, "hausmeister")
	require.NotEmpty(t, notes)
	assert.Equal(t, "firing", notes[0].Notification)
	assert.Equal(t, LevelWarnung, notes[0].Level)
	assert.GreaterOrEqual(t, notes[0].Value, 1000.0)
	sawAlarm := false
	for _, a := range notes {
		assert.Equal(t, "co2/"+dev+":co2", a.ID)
		if a.Level == LevelAlarm && a.Notification == "firing" {
			sawAlarm = true
			assert.GreaterOrEqual(t, a.Value, 2000.0)
			assert.Contains(t, a.Title, "Alarm: CO2")
			assert.Contains(t, a.Title, "Gesamtschule am Park")
		}
	}
	assert.True(t, sawAlarm)
	last := notes[len(notes)-1]
	assert.Equal(t, "resolved", last.Notification)
	assert.Less(t, last.Value, 800.0, "cleared only below 800 ppm")
}

// co2Harness runs the CO2 rule alone on the school-day scenario and
// returns its first device.
func co2Harness(t *testing.T, start time.Time) (*harness, string) {
	t.Helper()
	cfg := Config{
		RepeatInterval:   24 * time.Hour,
		Receivers:        []ReceiverConfig{{Name: "hm", Type: "webhook"}},
		DefaultReceivers: []string{"hm"},
		Rules:            []RuleConfig{{Name: "co2", Kind: KindCO2}},
	}
	return newHarness(t, cfg, "school-day", start), eui(sim.Devices("school-day")[0])
}

// Hysteresis 1000 on / 800 off on the 5-min mean: values wandering around
// 1000 give exactly one firing and one resolved notification.
func TestCO2Hysteresis(t *testing.T) {
	start := time.Date(2026, 1, 13, 8, 0, 0, 0, cet)
	h, dev := co2Harness(t, start)
	values := []float64{900, 1010, 990, 950, 1030, 850, 990, 810, 1005, 790, 805, 900, 799}
	for i, v := range values {
		h.feed(m(dev, measurement.CO2, v, start.Add(time.Duration(i)*10*time.Minute)))
	}
	h.drain()
	assert.Equal(t, []string{"firing warnung co2/" + dev + ":co2", "resolved warnung co2/" + dev + ":co2"}, h.hook.notes())
	last := byReceiver(h.hook, "hm")[1]
	assert.Equal(t, 790.0, last.Value)
}

// meterDay models the water demand of the school (l/h): a weekday profile
// and nothing at night; the leak adds 30 l/h from the second night on, as
// in the simulator's building-meters scenario, until the valve closes.
func waterDemand(t time.Time) float64 {
	l := t.In(cet)
	h := float64(l.Hour()) + float64(l.Minute())/60
	if h < 6.5 || h >= 17 {
		return 0
	}
	return 120 + 80*math.Sin((h-6.5)/10.5*math.Pi)
}

// A night leak: the night minimum (02-04 h) stays at 30 l/h, the rule
// fires at 04:00 and queues "close" on the valve actuator at the same
// site; the closed valve stops the flow and the alert resolves.
func TestNightLeakClosesValve(t *testing.T) {
	start := time.Date(2026, 1, 12, 6, 0, 0, 0, cet)
	leakStart := time.Date(2026, 1, 13, 22, 0, 0, 0, cet)
	cfg := Config{
		Receivers:        []ReceiverConfig{{Name: "facility", Type: "webhook"}},
		DefaultReceivers: []string{"facility"},
		Rules: []RuleConfig{{Name: "leak", Kind: KindLeak, Select: Select{Profiles: []string{sim.ProfileEM300DI}},
			NightMinLPH: 10, PulseLitres: 1,
			Action: &ActionConfig{Command: "close", Profile: sim.ProfileValve, Confirmed: true}}},
	}
	h := newHarness(t, cfg, "building-meters", start)
	devs := sim.Devices("building-meters")
	meter, valve := eui(devs[2]), devs[3]
	litres := 2_481_337.0
	valveOpen := true
	var firedAt, resolvedAt time.Time
	for t0 := start; t0.Before(start.Add(50 * time.Hour)); t0 = t0.Add(15 * time.Minute) {
		if valveOpen {
			// Integrate the 15 min before t0 in 1-min steps.
			for s := t0.Add(-15 * time.Minute); s.Before(t0); s = s.Add(time.Minute) {
				f := waterDemand(s)
				if !s.Before(leakStart) {
					f += 30
				}
				litres += f / 60
			}
		}
		h.feed(m(meter, measurement.PulseCount, math.Floor(litres), t0), m(meter, measurement.BatteryPercent, 95, t0))
		as := h.e.List(Filter{Rule: "leak"})
		if len(as) == 1 && as[0].State == StateFiring && firedAt.IsZero() {
			firedAt = t0
		}
		if len(as) == 1 && as[0].State == StateResolved && resolvedAt.IsZero() {
			resolvedAt = t0
		}
		// The valve acts on the downlink at its next uplink.
		if len(h.dl.list()) > 0 {
			valveOpen = false
		}
	}
	h.drain()
	assert.Equal(t, time.Date(2026, 1, 14, 4, 0, 0, 0, cet), firedAt.In(cet), "fires when the night window ends")
	assert.Equal(t, []string{valve.DevEUI.String() + " fport=20 payload=00 confirmed=true"}, h.dl.list())
	assert.Equal(t, firedAt.Add(time.Hour), resolvedAt, "one zero-flow hour after closing clears it")
	notes := byReceiver(h.hook, "facility")
	require.Len(t, notes, 2)
	assert.Equal(t, "firing", notes[0].Notification)
	assert.Equal(t, LevelAlarm, notes[0].Level)
	assert.InDelta(t, 30, notes[0].Values["night_min_lph"], 4)
	assert.Contains(t, notes[0].Text, "Nachtminimum")
	assert.Contains(t, notes[0].Text, "close:queued")
	assert.Equal(t, "resolved", notes[1].Notification)
}
