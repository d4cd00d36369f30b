package ice

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func checkFinite(t *testing.T, what string, p *float64) {
	t.Helper()
	if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
		t.Fatalf("%s not finite: %v", what, *p)
	}
}

func checkAssessment(t *testing.T, a Assessment) {
	t.Helper()
	if !a.Condition.Valid() {
		t.Fatalf("invalid condition %d", a.Condition)
	}
	checkFinite(t, "fbt", a.FBT)
	checkFinite(t, "dew point", a.DewPoint)
	checkFinite(t, "frost point", a.FrostPoint)
	checkFinite(t, "freezing temp", a.FreezingTemp)
	if _, err := json.Marshal(a); err != nil {
		t.Fatalf("marshal assessment: %v", err)
	}
}

// FuzzAssessForecast feeds arbitrary values (including NaN, Inf and huge
// numbers, which must be treated as missing) through Assess, Forecast and a
// Tracker: no panic, no NaN/Inf in any output, everything JSON-encodable.
func FuzzAssessForecast(f *testing.F) {
	f.Add(1.0, 0.5, -2.0, 90.0, uint8(32), -3.0, 0.3, 0.5, -1.0, int64(15), -0.5)
	f.Add(4.0, 3.0, 1.0, 50.0, uint8(0), 0.0, 0.0, 1.5, 2.0, int64(5), 0.1)
	f.Add(8.0, 1.0, -5.0, 100.0, uint8(67), -9.0, 0.0, 9.0, -9.0, int64(1), 3.0)
	f.Add(math.NaN(), math.Inf(1), 1e308, -1.0, uint8(200), 1e-300, -1.0, math.Inf(-1), math.NaN(), int64(0), 1e300)
	f.Fuzz(func(t *testing.T, fbt, lt, tpt, rh float64, state uint8, tg, film, pfbt, ptpt float64, stepMin int64, slope float64) {
		s := SurfaceState(state)
		r := Reading{
			Sample:       Sample{Time: t0, FBT: &fbt, LT: &lt, TPT: &tpt, RH: &rh, State: &s, FreezingTemp: &tg, WaterFilm: &film},
			PredictedFBT: &pfbt, PredictedTPT: &ptpt,
		}
		checkAssessment(t, Assess(r))
		r2 := r
		r2.TPT, r2.State = nil, nil
		checkAssessment(t, Assess(r2))

		step := time.Duration(stepMin%120) * time.Minute
		if step < 0 {
			step = -step
		}
		var hist []Sample
		for i := range 8 {
			smp := r2.Sample
			smp.Time = t0.Add(-time.Duration(i) * step)
			smp.FBT = new(fbt + slope*float64(i))
			smp.TPT = new(tpt - slope*float64(i))
			if i%3 == 1 {
				smp.State = &s
			}
			hist = append(hist, smp)
		}
		hs, err := Forecast(hist, t0, ForecastOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			checkFinite(t, "horizon fbt", h.FBT)
			checkFinite(t, "horizon tpt", h.TPT)
			checkFinite(t, "horizon lt", h.LT)
			checkFinite(t, "fbt trend", h.FBTTrend)
			checkAssessment(t, h.Assessment)
		}
		tr, err := NewTracker(TrackerConfig{}, TrackerState{})
		if err != nil {
			t.Fatal(err)
		}
		for i := len(hist) - 1; i >= 0; i-- {
			x := tr.Observe(Reading{Sample: hist[i]}, hs, hist[i].Time)
			if !x.To.Valid() || !x.Raw.Valid() {
				t.Fatalf("invalid level %+v", x)
			}
			if x.To < x.From && x.ClearingFor < 30*time.Minute {
				t.Fatalf("lowered without the 30-min hold: %+v", x)
			}
			if x.AllClear && (x.To != LevelNone || x.From == LevelNone) {
				t.Fatalf("all-clear without a warning: %+v", x)
			}
			checkAssessment(t, x.Assessment)
		}
		if _, err := json.Marshal(tr.State()); err != nil {
			t.Fatalf("marshal state: %v", err)
		}
		checkFinite(t, "last fbt", tr.State().LastFBT)
	})
}
