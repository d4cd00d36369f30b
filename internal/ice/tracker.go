package ice

import (
	"errors"
	"fmt"
	"time"
)

// TrackerConfig holds the thresholds of the warning levels. Zero fields take
// the defaults in their comments (the "suggested rule" of domain.md section 1,
// proposals [K] to confirm with the winter service).
type TrackerConfig struct {
	// VorwarnFBT: Vorwarnung when FBT <= this and falling (default +3 degC).
	VorwarnFBT float64 `json:"vorwarn_fbt,omitempty"`
	// FallingRate: "falling" means the FBT trend is below -FallingRate K/h
	// (default 0.2 K/h; a cooling night runs 0.5-2 K/h).
	FallingRate float64 `json:"falling_rate,omitempty"`
	// VorwarnHorizon and VorwarnPredictedFBT: Vorwarnung when a forecast
	// horizon <= VorwarnHorizon predicts FBT <= VorwarnPredictedFBT
	// (defaults 60 min, +1 degC) or predicts Warnung/Alarm.
	VorwarnHorizon      time.Duration `json:"vorwarn_horizon,omitempty"`
	VorwarnPredictedFBT float64       `json:"vorwarn_predicted_fbt,omitempty"`
	// WarnFBT: Warnung needs FBT <= this (default +1 degC) and either
	// FBT <= frost point + FrostMargin (default 0.5 K) or a moist/wet road
	// with FBT - freezing temp <= FreezingMargin (default 1 K).
	WarnFBT        float64 `json:"warn_fbt,omitempty"`
	FrostMargin    float64 `json:"frost_margin,omitempty"`
	FreezingMargin float64 `json:"freezing_margin,omitempty"`
	// FrostReadings: Alarm when FBT < frost point for this many consecutive
	// readings (default 2). Only readings where ice can form count: FBT
	// below 0 degC, or at or below the freezing temperature where one is
	// measured; above that the frost point (Magnus over ice) means nothing
	// and what forms on the road is dew.
	FrostReadings int `json:"frost_readings,omitempty"`
	// ClearFBT, ClearMargin, ClearHold: the level is lowered only after
	// FBT >= ClearFBT (default +2 degC) or FBT >= freezing temp + ClearMargin
	// (default 1.5 K) held for ClearHold (default 30 min) over readings
	// without a data gap.
	ClearFBT    float64       `json:"clear_fbt,omitempty"`
	ClearMargin float64       `json:"clear_margin,omitempty"`
	ClearHold   time.Duration `json:"clear_hold,omitempty"`
	// StaleAfter: no valid reading for this long means "data missing"
	// (default 45 min, three lost 15-min uplinks).
	StaleAfter time.Duration `json:"stale_after,omitempty"`
}

func (c TrackerConfig) withDefaults() (TrackerConfig, error) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.VorwarnFBT, 3)
	def(&c.FallingRate, 0.2)
	def(&c.VorwarnPredictedFBT, 1)
	def(&c.WarnFBT, 1)
	def(&c.FrostMargin, 0.5)
	def(&c.FreezingMargin, 1)
	def(&c.ClearFBT, 2)
	def(&c.ClearMargin, 1.5)
	if c.VorwarnHorizon == 0 {
		c.VorwarnHorizon = 60 * time.Minute
	}
	if c.FrostReadings == 0 {
		c.FrostReadings = 2
	}
	if c.ClearHold == 0 {
		c.ClearHold = 30 * time.Minute
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = 45 * time.Minute
	}
	var errs []error
	for name, v := range map[string]float64{
		"vorwarn_fbt": c.VorwarnFBT, "falling_rate": c.FallingRate, "vorwarn_predicted_fbt": c.VorwarnPredictedFBT,
		"warn_fbt": c.WarnFBT, "frost_margin": c.FrostMargin, "freezing_margin": c.FreezingMargin,
		"clear_fbt": c.ClearFBT, "clear_margin": c.ClearMargin,
	} {
		if !finite(v) || v < -20 || v > 20 {
			errs = append(errs, fmt.Errorf("%s %v not in [-20, 20]: %w", name, v, ErrOptions))
		}
	}
	if c.VorwarnHorizon < 0 || c.ClearHold < 0 || c.StaleAfter < 0 || c.FrostReadings < 0 {
		errs = append(errs, fmt.Errorf("negative duration or count: %w", ErrOptions))
	}
	// The all-clear threshold must lie above the Warnung threshold: that gap
	// is the hysteresis band that stops flapping.
	if c.ClearFBT <= c.WarnFBT {
		errs = append(errs, fmt.Errorf("clear_fbt %v <= warn_fbt %v: %w", c.ClearFBT, c.WarnFBT, ErrOptions))
	}
	return c, errors.Join(errs...)
}

// TrackerState is the persisted state of one station's Tracker. The alert
// engine stores it (JSON) and passes it back to NewTracker after a restart.
type TrackerState struct {
	Level Level `json:"level"`
	// Since is when Level was entered.
	Since time.Time `json:"since,omitzero"`
	// LastReading is the time of the latest valid reading (with FBT).
	LastReading time.Time `json:"last_reading,omitzero"`
	// LastFBT is that reading's FBT, for "falling" without a forecast.
	LastFBT *float64 `json:"last_fbt,omitempty"`
	// FrostStreak counts consecutive readings with FBT < frost point where
	// ice can form (see TrackerConfig.FrostReadings).
	FrostStreak int `json:"frost_streak,omitempty"`
	// ClearSince is the reading time since which the all-clear condition
	// has held without interruption; zero when it does not hold.
	ClearSince time.Time `json:"clear_since,omitzero"`
	// DataMissing is set while no valid reading arrived for StaleAfter.
	DataMissing bool `json:"data_missing,omitempty"`
}

// Tracker turns readings and forecasts of one station into warning-level
// changes with hysteresis. It is not safe for concurrent use; the engine owns
// one per station.
//
// The level a reading calls for (Transition.Raw), with the default config
// (Tg = freezing temperature, 0 degC if not measured; Tf = frost point from
// TPT or LT/RH; "water" = moist or wet; "frozen" = TLS 64..67):
//
//	Alarm:      (water or frozen) and FBT <= Tg
//	            or FBT < Tf for 2 consecutive readings where ice can form:
//	            FBT < 0, or FBT <= Tg where Tg is measured (salt)
//	            or the tree says Glätte vorhanden / Eis/Schnee auf der Fahrbahn
//	Warnung:    FBT <= +1 and (FBT <= Tf + 0.5 K or (water and FBT - Tg <= 1 K))
//	Vorwarnung: FBT <= +3 and falling faster than 0.2 K/h
//	            or a forecast horizon <= 60 min has FBT <= +1
//	            or a forecast horizon <= 60 min reaches Warnung/Alarm
//	            or the tree says Eisglätte sofort möglich (not if FBT >= Tg + 1.5 K)
//	            or ... sowie Reifglätte sofort möglich (unless only by Conservative)
//
// So Alarm means ice, snow, frost or freezing water on the road, or FBT at
// or below the freezing temperature with moisture. A road above 0 degC (and
// above a measured freezing temperature) below the dew point gets dew, not
// ice: it reaches at most Warnung (near the frost point at FBT <= +1) or
// Vorwarnung through the tree and the forecast.
//
// Raising is immediate; lowering waits for the all-clear hold (see Observe).
type Tracker struct {
	cfg   TrackerConfig
	state TrackerState
}

// NewTracker returns a Tracker with cfg (zero fields default) starting from
// state (the zero TrackerState for a new station).
func NewTracker(cfg TrackerConfig, state TrackerState) (*Tracker, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new tracker: %w", err)
	}
	if !state.Level.Valid() {
		return nil, fmt.Errorf("new tracker: level %d: %w", int(state.Level), ErrOptions)
	}
	return &Tracker{cfg: c, state: state}, nil
}

// State returns a copy of the state to persist.
func (t *Tracker) State() TrackerState {
	s := t.state
	if s.LastFBT != nil {
		s.LastFBT = new(*s.LastFBT)
	}
	return s
}

// Config returns the effective configuration (defaults filled in).
func (t *Tracker) Config() TrackerConfig { return t.cfg }

// Transition is the result of one Observe: the level before and after and
// why. The engine notifies when Changed or DataMissingChanged is set.
type Transition struct {
	At      time.Time `json:"at"`
	From    Level     `json:"from"`
	To      Level     `json:"to"`
	Changed bool      `json:"changed"`
	// AllClear marks the Entwarnung: the level went to LevelNone after the
	// all-clear condition held for ClearHold.
	AllClear bool `json:"all_clear,omitempty"`
	// Raw is the level this reading alone calls for (before hysteresis).
	Raw Level `json:"raw"`
	// Reasons are stable keys of the rules that fired for Raw, e.g.
	// "fbt_le_freezing_wet", "fbt_below_frost_point", "slippery_observed",
	// "near_frost_point", "wet_near_freezing", "fbt_falling",
	// "tree_immediate", "predicted_fbt_low", "forecast_warning".
	Reasons []string `json:"reasons,omitempty"`
	// ClearingFor is how long the all-clear condition has held (0 if not).
	ClearingFor time.Duration `json:"clearing_for,omitempty"`
	// DataMissing: no valid reading for StaleAfter; the level is held, never
	// cleared. DataMissingChanged is set on the call where it flips.
	DataMissing        bool `json:"data_missing,omitempty"`
	DataMissingChanged bool `json:"data_missing_changed,omitempty"`
	// Assessment is the decision tree's result for this reading (zero
	// Condition NotDeterminable when there was no reading).
	Assessment Assessment `json:"assessment"`
	// Condition is the condition to show with the level To: the tree's,
	// except that an Alarm shows at least SlipperyPresent. The tree sees one
	// reading and says "sofort möglich" where the Tracker already knows the
	// road is freezing (water at or below Tg, frost for two readings) or
	// holds the Alarm until the Entwarnung; a "possible" text must not ride
	// on a level that means "act now".
	Condition Condition `json:"condition"`
	// Expected is the highest level (Warnung or Alarm) the forecast reaches
	// and ExpectedIn the earliest horizon at which it reaches Warnung or
	// above: the lead time ("expected in ~30 min"). LevelNone when the
	// forecast reaches no warning.
	Expected   Level         `json:"expected"`
	ExpectedIn time.Duration `json:"expected_in,omitempty"`
}

// Tick checks for missing data at at without a new reading.
func (t *Tracker) Tick(at time.Time) Transition { return t.Observe(Reading{}, nil, at) }

// Observe feeds one reading (and the forecast made with it, may be nil) at
// evaluation time at. When r.PredictedFBT is nil the prediction is taken
// from the forecast horizon nearest 60 min (ForecastOptions.Lead default). A reading without a valid FBT, older than StaleAfter,
// or not newer than the last one is not new data: it can only raise the
// data-missing flag.
//
// Levels rise at once. They fall only after the all-clear condition (FBT >=
// ClearFBT or >= freezing temp + ClearMargin, and the reading calls for a
// lower level) has held for ClearHold over consecutive readings; any reading
// that breaks it, or a data gap longer than StaleAfter, restarts the hold.
func (t *Tracker) Observe(r Reading, fc []HorizonAssessment, at time.Time) Transition {
	st := &t.state
	tr := Transition{At: at, From: st.Level, To: st.Level}
	if r.Time.IsZero() {
		r.Time = at
	}
	rs := resolve(r.Sample)
	fresh := rs.hasFBT && r.Time.After(st.LastReading) && at.Sub(r.Time) <= t.cfg.StaleAfter
	if !fresh {
		tr.Raw = st.Level
		missing := st.LastReading.IsZero() || at.Sub(st.LastReading) > t.cfg.StaleAfter
		if missing {
			st.ClearSince = time.Time{}
			st.FrostStreak = 0
		}
		tr.DataMissingChanged = missing != st.DataMissing
		st.DataMissing = missing
		tr.DataMissing = missing
		if rs.hasFBT || r.FBT != nil {
			tr.Assessment = Assess(r)
		} else {
			tr.Assessment = Assessment{Condition: NotDeterminable, Missing: []string{"fbt"}}
		}
		tr.Condition = conditionFor(tr.To, tr.Assessment.Condition)
		return tr
	}

	if st.DataMissing {
		tr.DataMissingChanged = true
		st.DataMissing = false
	}
	if !st.LastReading.IsZero() && r.Time.Sub(st.LastReading) > t.cfg.StaleAfter {
		st.ClearSince = time.Time{} // the hold must be observed without a gap
		st.FrostStreak = 0          // "consecutive" does not span a gap
	}
	if r.PredictedFBT == nil && len(fc) > 0 {
		r = r.WithForecast(fc, defaultLead)
	}
	tr.Assessment = Assess(r)
	if rs.belowFrostPoint() {
		st.FrostStreak++
	} else {
		st.FrostStreak = 0
	}
	tr.Raw, tr.Reasons = t.rawLevel(rs, tr.Assessment, fc, r.Time)
	tr.Expected, tr.ExpectedIn = t.expected(fc)

	switch {
	case tr.Raw > st.Level:
		st.Level, st.Since = tr.Raw, r.Time
		st.ClearSince = time.Time{}
	case tr.Raw < st.Level && t.clearCondition(rs):
		if st.ClearSince.IsZero() {
			st.ClearSince = r.Time
		}
		tr.ClearingFor = r.Time.Sub(st.ClearSince)
		if tr.ClearingFor >= t.cfg.ClearHold {
			st.Level, st.Since = tr.Raw, r.Time
			st.ClearSince = time.Time{}
			tr.AllClear = tr.Raw == LevelNone
		}
	default:
		st.ClearSince = time.Time{}
	}
	st.LastReading, st.LastFBT = r.Time, new(rs.fbt)
	tr.To = st.Level
	tr.Changed = tr.To != tr.From
	tr.Condition = conditionFor(tr.To, tr.Assessment.Condition)
	return tr
}

// conditionFor returns the condition to show with level l: an Alarm never
// carries a text weaker than "Glätte vorhanden".
func conditionFor(l Level, c Condition) Condition {
	if l == LevelAlarm && c < SlipperyPresent {
		return SlipperyPresent
	}
	return c
}

// belowFrostPoint reports whether hoar frost can grow: FBT below the frost
// point where ice can form at all, that is below 0 degC, or at or below the
// freezing temperature where one is measured (residual salt from preventive
// spreading dissolves the deposit until the road is colder than that). Above
// it the frost point (Magnus over ice) has no meaning; what forms is dew.
func (r resolved) belowFrostPoint() bool {
	if !r.hasFBT || !r.hasTf || r.fbt >= r.tf {
		return false
	}
	if r.hasTg {
		// Pure water freezes at 0 degC: a reading above is sensor offset.
		return r.fbt <= min(r.tg, 0)
	}
	return r.fbt < 0
}

func (t *Tracker) clearCondition(rs resolved) bool {
	return rs.fbt >= t.cfg.ClearFBT || (rs.hasTg && rs.fbt >= rs.tg+t.cfg.ClearMargin)
}

// levelOf applies the Warnung and Alarm rules to resolved values; frost is
// whether FBT has been below the frost point, where ice can form (see
// belowFrostPoint), for FrostReadings readings.
func (t *Tracker) levelOf(rs resolved, cond Condition, frost bool) (Level, []string) {
	if !rs.hasFBT {
		return LevelNone, nil
	}
	var reasons []string
	water := rs.hasState && (rs.state.HasWater() || rs.state.Frozen())
	if water && rs.fbt <= rs.freezing() {
		reasons = append(reasons, "fbt_le_freezing_wet")
	}
	if frost {
		reasons = append(reasons, "fbt_below_frost_point")
	}
	if cond == SlipperyPresent || cond == IceSnowOnRoad {
		reasons = append(reasons, "slippery_observed")
	}
	if len(reasons) > 0 {
		return LevelAlarm, reasons
	}
	if rs.fbt <= t.cfg.WarnFBT {
		if rs.hasTf && rs.fbt <= rs.tf+t.cfg.FrostMargin {
			reasons = append(reasons, "near_frost_point")
		}
		if rs.hasState && rs.state.HasWater() && rs.fbt-rs.freezing() <= t.cfg.FreezingMargin {
			reasons = append(reasons, "wet_near_freezing")
		}
		if len(reasons) > 0 {
			return LevelWarnung, reasons
		}
	}
	return LevelNone, nil
}

func (t *Tracker) rawLevel(rs resolved, a Assessment, fc []HorizonAssessment, at time.Time) (Level, []string) {
	lvl, reasons := t.levelOf(rs, a.Condition, t.state.FrostStreak >= t.cfg.FrostReadings)
	if lvl > LevelVorwarnung {
		return lvl, reasons
	}
	if rs.fbt <= t.cfg.VorwarnFBT && t.falling(rs.fbt, fc, at) {
		reasons = append(reasons, "fbt_falling")
	}
	// The tree's "sofort möglich" states for black ice and hoar frost mean
	// the road can turn slippery without any further cooling; the crew
	// should be ready even when FBT is steady. The tree ignores residual
	// salt, so a wet road well above a measured freezing temperature (the
	// all-clear margin) does not count.
	salted := rs.hasTg && rs.fbt >= rs.tg+t.cfg.ClearMargin
	// A condition the tree only reached by assuming the worst for a missing
	// input (Conservative) does not count: a guess should not page anyone.
	if !a.Conservative && ((a.Condition == BlackIceImmediate && !salted) || a.Condition == OnPrecipitationOrFrostImmediate) {
		reasons = append(reasons, "tree_immediate")
	}
	for _, h := range fc {
		if h.Horizon > t.cfg.VorwarnHorizon || h.FBT == nil {
			continue
		}
		if *h.FBT <= t.cfg.VorwarnPredictedFBT {
			reasons = append(reasons, "predicted_fbt_low")
			break
		}
	}
	if e, in := t.expected(fc); e >= LevelWarnung && in <= t.cfg.VorwarnHorizon {
		reasons = append(reasons, "forecast_warning")
	}
	if len(reasons) > 0 {
		return LevelVorwarnung, reasons
	}
	return LevelNone, nil
}

// falling uses the forecast's FBT trend, or else the change since the last
// reading.
func (t *Tracker) falling(fbt float64, fc []HorizonAssessment, at time.Time) bool {
	for _, h := range fc {
		if h.FBTTrend != nil {
			return *h.FBTTrend < -t.cfg.FallingRate
		}
	}
	st := t.state
	if st.LastFBT == nil || st.LastReading.IsZero() || !at.After(st.LastReading) {
		return false
	}
	hours := at.Sub(st.LastReading).Hours()
	return (fbt-*st.LastFBT)/hours < -t.cfg.FallingRate
}

// expected returns the highest Warnung/Alarm level the forecast horizons
// reach and the earliest horizon reaching Warnung or above.
func (t *Tracker) expected(fc []HorizonAssessment) (Level, time.Duration) {
	best, in := LevelNone, time.Duration(0)
	for _, h := range sortedHorizons(fc) {
		if h.FBT == nil {
			continue
		}
		var rs resolved
		rs.fbt, rs.hasFBT = optTemp(h.FBT)
		if !rs.hasFBT {
			continue
		}
		if v, ok := optTemp(h.Assessment.FrostPoint); ok {
			rs.tf, rs.hasTf = v, true
		}
		if v, ok := optTemp(h.Assessment.FreezingTemp); ok {
			rs.tg, rs.hasTg = v, true
		}
		if s := h.Assessment.Surface; s != nil && s.Valid() {
			rs.state, rs.hasState = *s, true
		}
		// A predicted frost point crossing counts at once: the streak rule
		// guards against single noisy readings, not against a trend.
		frost := rs.belowFrostPoint()
		lvl, _ := t.levelOf(rs, h.Assessment.Condition, frost)
		if lvl >= LevelWarnung && best == LevelNone {
			in = h.Horizon
		}
		if lvl > best {
			best = lvl
		}
	}
	return best, in
}
