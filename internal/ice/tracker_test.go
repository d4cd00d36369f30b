package ice

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTracker(t *testing.T) *Tracker {
	t.Helper()
	tr, err := NewTracker(TrackerConfig{}, TrackerState{})
	require.NoError(t, err)
	return tr
}

func minutes(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }

// station feeds readings every 15 min and, like the alert engine, computes
// the forecast from the history before each Observe.
type station struct {
	t    *testing.T
	tr   *Tracker
	hist []Sample
	log  []Transition
}

func (s *station) observe(at time.Time, smp Sample, withForecast bool) Transition {
	s.t.Helper()
	smp.Time = at
	s.hist = append(s.hist, smp)
	var fc []HorizonAssessment
	if withForecast {
		var err error
		fc, err = Forecast(s.hist, at, ForecastOptions{})
		require.NoError(s.t, err)
	}
	tr := s.tr.Observe(Reading{Sample: smp}, fc, at)
	s.log = append(s.log, tr)
	return tr
}

func (s *station) changes() []Transition {
	var out []Transition
	for _, tr := range s.log {
		if tr.Changed {
			out = append(out, tr)
		}
	}
	return out
}

// A wet road cooling 1 K/h from +5.1 degC, readings every 15 min, forecast
// from the history: Vorwarnung while FBT is still near +3 (falling), Warnung
// at FBT <= 1 (wet, FBT - 0 <= 1 K), Alarm at FBT <= 0 (wet at freezing).
func TestTrackerCoolingNight(t *testing.T) {
	s := &station{t: t, tr: newTracker(t)}
	fbt := func(m float64) float64 { return 5.1 - m/60 }
	var at375 Transition
	for m := 0.0; m <= 360; m += 15 {
		tr := s.observe(minutes(m), Sample{FBT: new(fbt(m)), TPT: new(-1.0), LT: new(1.0), State: st(Wet)}, true)
		if m == 225 {
			at375 = tr
		}
	}
	ch := s.changes()
	require.Len(t, ch, 3, "exactly three raises")

	assert.Equal(t, LevelVorwarnung, ch[0].To)
	assert.Equal(t, minutes(135), ch[0].At) // FBT 2.85: first reading <= 3 and falling
	assert.Contains(t, ch[0].Reasons, "fbt_falling")

	assert.Equal(t, LevelWarnung, ch[1].To)
	assert.Equal(t, minutes(255), ch[1].At) // FBT 0.85
	assert.Contains(t, ch[1].Reasons, "wet_near_freezing")

	assert.Equal(t, LevelAlarm, ch[2].To)
	assert.Equal(t, minutes(315), ch[2].At) // FBT -0.15
	assert.Contains(t, ch[2].Reasons, "fbt_le_freezing_wet")

	// Lead time at 03:45 after start (FBT 1.35, -1 K/h): +30 min -> 0.85
	// (Warnung), +90 min -> -0.15 (Alarm, wet at <= 0).
	assert.Equal(t, LevelVorwarnung, at375.To)
	assert.Equal(t, LevelAlarm, at375.Expected)
	assert.Equal(t, 30*time.Minute, at375.ExpectedIn)
	assert.Equal(t, BlackIceImmediate, at375.Assessment.Condition)
	for _, tr := range s.log {
		assert.False(t, tr.DataMissing)
		assert.False(t, tr.AllClear)
	}
}

// After an Alarm the road warms: the level stays until FBT >= +2 has held
// for 30 min, then drops to none with AllClear (Entwarnung).
func TestTrackerWarmingAllClear(t *testing.T) {
	s := &station{t: t, tr: newTracker(t)}
	vals := []float64{-1, -0.5, 0.5, 1.5, 1.9, 2.1, 2.6, 3.2, 3.8, 4.5}
	for i, v := range vals {
		s.observe(minutes(float64(15*i)), Sample{FBT: new(v), State: st(Wet), TPT: new(-3.0)}, true)
	}
	require.Equal(t, LevelAlarm, s.log[0].To)
	for i := 1; i <= 6; i++ { // up to 2.6 at +15 min into the hold
		assert.Equal(t, LevelAlarm, s.log[i].To, "reading %d", i)
	}
	assert.Equal(t, 15*time.Minute, s.log[6].ClearingFor)
	cl := s.log[7] // 3.2: 30 min since 2.1
	assert.True(t, cl.Changed)
	assert.True(t, cl.AllClear)
	assert.Equal(t, LevelAlarm, cl.From)
	assert.Equal(t, LevelNone, cl.To)
	assert.Len(t, s.changes(), 2)

	// A custom freezing-temperature clear: salted road with Tg -6, FBT -4
	// >= -6 + 1.5 clears although below +2.
	tr := newTracker(t)
	for i, v := range []float64{-6.5, -5, -4.4, -4.2, -4.0} {
		tr.Observe(Reading{Sample: Sample{Time: minutes(float64(15 * i)), FBT: new(v), State: st(Wet), FreezingTemp: new(-6.0)}}, nil, minutes(float64(15*i)))
	}
	assert.Equal(t, LevelNone, tr.State().Level)
	assert.False(t, tr.State().Since.IsZero())
}

// Missing data never clears: a gap longer than StaleAfter raises
// DataMissing once, keeps the level, and restarts the all-clear hold.
func TestTrackerDataGap(t *testing.T) {
	tr := newTracker(t)
	obs := func(m, fbt float64) Transition {
		return tr.Observe(Reading{Sample: Sample{Time: minutes(m), FBT: new(fbt), State: st(Wet)}}, nil, minutes(m))
	}
	require.Equal(t, LevelWarnung, obs(0, 0.5).To)
	first := obs(15, 2.5) // hold starts
	assert.Equal(t, LevelWarnung, first.To)

	x := tr.Tick(minutes(45))
	assert.False(t, x.DataMissing, "30 min without data is not yet missing")
	x = tr.Tick(minutes(61))
	assert.True(t, x.DataMissing)
	assert.True(t, x.DataMissingChanged)
	assert.Equal(t, LevelWarnung, x.To)
	assert.False(t, x.Changed)
	x = tr.Tick(minutes(300))
	assert.True(t, x.DataMissing)
	assert.False(t, x.DataMissingChanged, "reported once")
	assert.Equal(t, LevelWarnung, x.To)

	// A stale reading delivered late (older than StaleAfter) is no data.
	x = tr.Observe(Reading{Sample: Sample{Time: minutes(200), FBT: new(5.0), State: st(Dry)}}, nil, minutes(300))
	assert.True(t, x.DataMissing)
	assert.Equal(t, LevelWarnung, x.To)

	// Data returns warm: the hold restarts at the first reading after the gap.
	x = obs(310, 5)
	assert.True(t, x.DataMissingChanged)
	assert.False(t, x.DataMissing)
	assert.Equal(t, LevelWarnung, x.To)
	assert.Equal(t, LevelWarnung, obs(325, 5).To)
	x = obs(340, 5)
	assert.True(t, x.AllClear)
	assert.Equal(t, LevelNone, x.To)

	// Duplicates and readings without FBT are not new data.
	x = obs(340, -5)
	assert.Equal(t, LevelNone, x.To)
	x = tr.Observe(Reading{Sample: Sample{Time: minutes(355), LT: new(-5.0)}}, nil, minutes(355))
	assert.Equal(t, LevelNone, x.To)
	assert.False(t, x.DataMissing)
}

// Values oscillating +-0.1 K around the thresholds every 15 min for 6 h
// only ever raise (around 0 the +0.1 reading is Warnung, the -0.1 one
// Alarm), reach the level of the colder value within the first two readings,
// and never change after that.
func TestTrackerNoFlapping(t *testing.T) {
	tests := []struct {
		name   string
		center float64
		state  SurfaceState
		want   Level
	}{
		{"around 0 (alarm)", 0, Wet, LevelAlarm},
		{"around +1 (warnung)", 1, Wet, LevelWarnung},
		{"around +2 (all-clear) after warnung", 2, Wet, LevelWarnung},
		{"around +3 (vorwarnung)", 3, Dry, LevelVorwarnung},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &station{t: t, tr: newTracker(t)}
			start := 0
			if tc.center == 2 {
				s.observe(minutes(0), Sample{FBT: new(0.5), State: st(tc.state), TPT: new(-6.0)}, false)
				start = 1
			}
			for i := start; i < start+24; i++ {
				v := tc.center + 0.1
				if i%2 == 1 {
					v = tc.center - 0.1
				}
				s.observe(minutes(float64(15*i)), Sample{FBT: new(v), State: st(tc.state), TPT: new(-6.0)}, false)
			}
			for i, tr := range s.log {
				if i > 1 {
					assert.False(t, tr.Changed, "change at reading %d: %s -> %s", i, tr.From, tr.To)
				}
				if tr.Changed {
					assert.Greater(t, tr.To, tr.From, "never lowered")
				}
			}
			assert.Equal(t, tc.want, s.log[1].To)
			assert.Equal(t, tc.want, s.tr.State().Level)
		})
	}
}

// Same oscillation around +1, but with the forecast computed from the
// noisy history each time.
func TestTrackerNoFlappingWithForecast(t *testing.T) {
	s := &station{t: t, tr: newTracker(t)}
	for i := range 24 {
		v := 1.1
		if i%2 == 1 {
			v = 0.9
		}
		s.observe(minutes(float64(15*i)), Sample{FBT: new(v), State: st(Wet), TPT: new(-6.0)}, true)
	}
	assert.LessOrEqual(t, len(s.changes()), 2, "at most Vorwarnung then Warnung")
	for _, ch := range s.changes() {
		assert.Greater(t, ch.To, ch.From, "never lowered")
	}
}

// Dry road, humid air: FBT below the frost point for two readings -> Alarm.
// TPT -2 -> frost point: e = e_w(-2), so g = ln(e/6.112) = 17.62*-2/241.12
// = -0.146151; Tf = 272.62*g/(22.46-g) = -39.8437/22.606151 = -1.7625 degC.
func TestTrackerHoarFrost(t *testing.T) {
	tr := newTracker(t)
	obs := func(m, fbt float64) Transition {
		return tr.Observe(Reading{Sample: Sample{Time: minutes(m), FBT: new(fbt), TPT: new(-2.0), State: st(Dry)}}, nil, minutes(m))
	}
	// -1.0 <= -1.7625 + 0.5 is false: not near the frost point yet, but the
	// tree says hoar frost is possible now (FBT - TPT = 1 <= 2): Vorwarnung.
	x := obs(0, -1.0)
	assert.Equal(t, LevelVorwarnung, x.To)
	assert.Equal(t, []string{"tree_immediate"}, x.Reasons)
	assert.Equal(t, OnPrecipitationOrFrostImmediate, x.Assessment.Condition)
	x = obs(15, -1.3) // -1.3 <= -1.2625: near the frost point
	assert.Equal(t, LevelWarnung, x.To)
	require.NotNil(t, x.Assessment.FrostPoint)
	assert.InDelta(t, -1.7625, *x.Assessment.FrostPoint, 0.0001)
	assert.Equal(t, LevelWarnung, obs(30, -1.8).To) // first reading below
	x = obs(45, -1.9)                               // second
	assert.Equal(t, LevelAlarm, x.To)
	assert.Contains(t, x.Reasons, "fbt_below_frost_point")
}

// The state survives a JSON round trip: a restored tracker behaves exactly
// like the one that kept running.
func TestTrackerPersist(t *testing.T) {
	a := newTracker(t)
	seq := []float64{3, 2.5, 1.5, 0.8, 1.2, 2.2, 2.5, 2.8, 3.0}
	obs := func(tr *Tracker, i int) Transition {
		return tr.Observe(Reading{Sample: Sample{Time: minutes(float64(15 * i)), FBT: new(seq[i]), State: st(Wet)}}, nil, minutes(float64(15*i)))
	}
	for i := range 6 {
		obs(a, i)
	}
	b, err := json.Marshal(a.State())
	require.NoError(t, err)
	assert.Contains(t, string(b), `"level":"warnung"`)
	var st TrackerState
	require.NoError(t, json.Unmarshal(b, &st))
	c, err := NewTracker(TrackerConfig{}, st)
	require.NoError(t, err)
	assert.Equal(t, a.State(), c.State())
	for i := 6; i < len(seq); i++ {
		assert.Equal(t, obs(a, i), obs(c, i), "step %d", i)
	}
	assert.Equal(t, LevelNone, c.State().Level)

	// Transitions serialise too (the engine logs them).
	_, err = json.Marshal(obs(c, 0))
	require.NoError(t, err)
}

func TestTrackerConfig(t *testing.T) {
	_, err := NewTracker(TrackerConfig{ClearFBT: 1, WarnFBT: 1}, TrackerState{})
	require.ErrorIs(t, err, ErrOptions)
	_, err = NewTracker(TrackerConfig{ClearHold: -time.Minute}, TrackerState{})
	require.ErrorIs(t, err, ErrOptions)
	_, err = NewTracker(TrackerConfig{}, TrackerState{Level: Level(9)})
	require.ErrorIs(t, err, ErrOptions)
	tr := newTracker(t)
	c := tr.Config()
	assert.Equal(t, 30*time.Minute, c.ClearHold)
	assert.Equal(t, 2.0, c.ClearFBT)
	assert.Equal(t, 45*time.Minute, c.StaleAfter)

	var l Level
	require.NoError(t, json.Unmarshal([]byte(`"alarm"`), &l))
	assert.Equal(t, LevelAlarm, l)
	assert.Equal(t, "Vorwarnung", LevelVorwarnung.German())
	assert.Equal(t, "pre-warning", LevelVorwarnung.English())
	require.Error(t, json.Unmarshal([]byte(`"panic"`), &l))
}

// One reading on a fresh tracker per case: which rule fires at which value.
func TestTrackerRules(t *testing.T) {
	horizon := func(fbt float64, s SurfaceState) []HorizonAssessment {
		return []HorizonAssessment{{Horizon: 60 * time.Minute, FBT: new(fbt), FBTTrend: new(0.0),
			Assessment: Assessment{Condition: NoDanger, FBT: new(fbt), Surface: st(s)}}}
	}
	tests := []struct {
		name    string
		s       Sample
		fc      []HorizonAssessment
		want    Level
		reasons []string
	}{
		{"wet +1.8 steady: tree says black ice now", Sample{FBT: new(1.8), State: st(Wet)}, nil, LevelVorwarnung, []string{"tree_immediate"}},
		{"wet +1.8 salted (Tg -3)", Sample{FBT: new(1.8), State: st(Wet), FreezingTemp: new(-3.0)}, nil, LevelNone, nil},
		{"wet +1.0: 1.0 - 0 <= 1", Sample{FBT: new(1.0), State: st(Wet)}, nil, LevelWarnung, []string{"wet_near_freezing"}},
		{"moist +0.9 salted Tg -3: 3.9 K margin", Sample{FBT: new(0.9), State: st(Moist), FreezingTemp: new(-3.0)}, nil, LevelNone, nil},
		{"wet -2.5, Tg -3: 0.5 K margin", Sample{FBT: new(-2.5), State: st(Wet), FreezingTemp: new(-3.0)}, nil, LevelWarnung, []string{"wet_near_freezing"}},
		{"wet -3, Tg -3: at freezing", Sample{FBT: new(-3.0), State: st(Wet), FreezingTemp: new(-3.0)}, nil, LevelAlarm, []string{"fbt_le_freezing_wet"}},
		{"wet 0 without Tg: at 0", Sample{FBT: new(0.0), State: st(Wet)}, nil, LevelAlarm, []string{"fbt_le_freezing_wet"}},
		{"ice at +3", Sample{FBT: new(3.0), State: st(IceSurface)}, nil, LevelAlarm, []string{"slippery_observed"}},
		{"dry +0.5, TPT -10, no trend (conservative tree)", Sample{FBT: new(0.5), TPT: new(-10.0), State: st(Dry)}, nil, LevelNone, nil},
		// TPT +1 -> g = 17.62/244.12 = 0.072178, Tf = 272.62*g/(22.46-g) = 0.879:
		// FBT 1.1 <= Tf + 0.5 but > WarnFBT (1), so no Warnung; the tree
		// (FBT - TPT = 0.1 <= 2) says hoar frost possible now.
		{"dry +1.1 near frost point but above +1", Sample{FBT: new(1.1), TPT: new(1.0), State: st(Dry)}, nil, LevelVorwarnung, []string{"tree_immediate"}},
		{"dry +4, forecast 60 min +0.8", Sample{FBT: new(4.0), State: st(Dry)}, horizon(0.8, Dry), LevelVorwarnung, []string{"predicted_fbt_low"}},
		{"wet +4, forecast 60 min +0.8 (Warnung expected)", Sample{FBT: new(4.0), State: st(Wet)}, horizon(0.8, Wet), LevelVorwarnung, []string{"predicted_fbt_low", "forecast_warning"}},
		{"dry +4, forecast 60 min +1.2", Sample{FBT: new(4.0), State: st(Dry)}, horizon(1.2, Dry), LevelNone, nil},
		{"dry +8", Sample{FBT: new(8.0), LT: new(5.0), State: st(Dry)}, nil, LevelNone, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(t)
			tc.s.Time = t0
			x := tr.Observe(Reading{Sample: tc.s}, tc.fc, t0)
			assert.Equal(t, tc.want, x.Raw)
			assert.Equal(t, tc.want, x.To)
			assert.Equal(t, tc.reasons, x.Reasons)
		})
	}
}

// Ice needs FBT at or below the freezing point: the boundary +-0.1 degC,
// dry and wet, with and without a freezing-temperature sensor. Each case
// feeds the same reading twice, 15 min apart, so the two-reading frost rule
// can fire. TPT +1 gives a frost point of +0.879 degC, above both FBTs.
func TestTrackerAlarmNeedsFreezing(t *testing.T) {
	tests := []struct {
		name    string
		s       Sample
		want    Level
		reasons []string
		cond    Condition
	}{
		{"dry +0.1: dew, not frost", Sample{FBT: new(0.1), State: st(Dry)}, LevelWarnung, []string{"near_frost_point"}, OnPrecipitationOrFrostImmediate},
		{"dry -0.1: hoar frost", Sample{FBT: new(-0.1), State: st(Dry)}, LevelAlarm, []string{"fbt_below_frost_point"}, SlipperyPresent},
		{"dry +0.1, Tg 0 measured", Sample{FBT: new(0.1), State: st(Dry), FreezingTemp: new(0.0)}, LevelWarnung, []string{"near_frost_point"}, OnPrecipitationOrFrostImmediate},
		{"dry +0.1, Tg +0.3 (sensor offset)", Sample{FBT: new(0.1), State: st(Dry), FreezingTemp: new(0.3)}, LevelWarnung, []string{"near_frost_point"}, OnPrecipitationOrFrostImmediate},
		{"dry -0.1, Tg 0 measured", Sample{FBT: new(-0.1), State: st(Dry), FreezingTemp: new(0.0)}, LevelAlarm, []string{"fbt_below_frost_point"}, SlipperyPresent},
		{"dry -0.1, residual salt Tg -3", Sample{FBT: new(-0.1), State: st(Dry), FreezingTemp: new(-3.0)}, LevelWarnung, []string{"near_frost_point"}, OnPrecipitationOrFrostImmediate},
		{"dry -3.1, residual salt Tg -3", Sample{FBT: new(-3.1), State: st(Dry), FreezingTemp: new(-3.0)}, LevelAlarm, []string{"fbt_below_frost_point"}, SlipperyPresent},
		{"wet +0.1", Sample{FBT: new(0.1), State: st(Wet)}, LevelWarnung, []string{"near_frost_point", "wet_near_freezing"}, BlackIceImmediate},
		{"wet -0.1", Sample{FBT: new(-0.1), State: st(Wet)}, LevelAlarm, []string{"fbt_le_freezing_wet", "fbt_below_frost_point"}, SlipperyPresent},
		{"moist +0.1, Tg 0 measured", Sample{FBT: new(0.1), State: st(Moist), FreezingTemp: new(0.0)}, LevelWarnung, []string{"near_frost_point", "wet_near_freezing"}, BlackIceImmediate},
		{"moist -0.1, Tg 0 measured", Sample{FBT: new(-0.1), State: st(Moist), FreezingTemp: new(0.0)}, LevelAlarm, []string{"fbt_le_freezing_wet", "fbt_below_frost_point"}, SlipperyPresent},
		{"wet -0.1, well salted Tg -3", Sample{FBT: new(-0.1), State: st(Wet), FreezingTemp: new(-3.0)}, LevelWarnung, []string{"near_frost_point"}, BlackIceImmediate},
		{"wet -2.9, brine diluted to Tg -2.8", Sample{FBT: new(-2.9), State: st(Wet), FreezingTemp: new(-2.8)}, LevelAlarm, []string{"fbt_le_freezing_wet", "fbt_below_frost_point"}, SlipperyPresent},
		{"wet -2.7, brine at Tg -2.8", Sample{FBT: new(-2.7), State: st(Wet), FreezingTemp: new(-2.8)}, LevelWarnung, []string{"near_frost_point", "wet_near_freezing"}, BlackIceImmediate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(t)
			var x Transition
			for i := range 2 {
				s := tc.s
				s.TPT, s.Time = new(1.0), minutes(float64(15*i))
				x = tr.Observe(Reading{Sample: s}, nil, s.Time)
			}
			assert.Equal(t, tc.want, x.Raw)
			assert.Equal(t, tc.want, x.To)
			assert.Equal(t, tc.reasons, x.Reasons)
			assert.Equal(t, tc.cond, x.Condition)
		})
	}
}

// The two false alarms of issue 18, air +4 degC at 90 % (dew point +2.5,
// frost point +2.2 degC): a dry road at +1 and a moist road falling from +4
// to +1.5 get dew, not ice, so no Alarm; the computed points stay right.
func TestTrackerNoAlarmAboveFreezing(t *testing.T) {
	air := func(smp Sample) Sample { smp.LT, smp.RH = new(4.0), new(90.0); return smp }

	s := &station{t: t, tr: newTracker(t)}
	for i := range 8 {
		x := s.observe(minutes(float64(15*i)), air(Sample{FBT: new(1.0), State: st(Dry)}), true)
		assert.Less(t, x.To, LevelAlarm, "reading %d", i)
		assert.NotContains(t, x.Reasons, "fbt_below_frost_point")
		assert.NotEqual(t, SlipperyPresent, x.Condition)
		require.NotNil(t, x.Assessment.FrostPoint)
		assert.InDelta(t, 2.2, *x.Assessment.FrostPoint, 0.05)
		assert.InDelta(t, 2.5, *x.Assessment.DewPoint, 0.05)
	}
	assert.Equal(t, 0, s.tr.State().FrostStreak)

	s = &station{t: t, tr: newTracker(t)}
	for i, v := range []float64{4, 3.5, 3, 2.5, 2, 1.5, 1.5, 1.5} {
		x := s.observe(minutes(float64(15*i)), air(Sample{FBT: new(v), State: st(Moist)}), true)
		assert.Less(t, x.To, LevelWarnung, "reading %d (FBT %v)", i, v)
		assert.NotContains(t, x.Reasons, "fbt_below_frost_point")
	}
}

// An Alarm held until the Entwarnung shows "Glätte vorhanden", never the
// tree's "Eisglätte sofort möglich" of the warming road.
func TestTrackerAlarmText(t *testing.T) {
	tr := newTracker(t)
	x := tr.Observe(Reading{Sample: Sample{Time: minutes(0), FBT: new(-0.5), State: st(Wet)}}, nil, minutes(0))
	assert.Equal(t, LevelAlarm, x.To)
	assert.Equal(t, BlackIceImmediate, x.Assessment.Condition)
	assert.Equal(t, SlipperyPresent, x.Condition)
	x = tr.Observe(Reading{Sample: Sample{Time: minutes(15), FBT: new(1.5), State: st(Wet)}}, nil, minutes(15))
	assert.Equal(t, LevelAlarm, x.To)
	assert.Equal(t, LevelVorwarnung, x.Raw)
	assert.Equal(t, SlipperyPresent, x.Condition)
	x = tr.Observe(Reading{Sample: Sample{Time: minutes(30), FBT: new(1.5), State: st(IceSurface)}}, nil, minutes(30))
	assert.Equal(t, IceSnowOnRoad, x.Condition)
}
