package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/loraedge/loraedge/internal/gauge"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
)

func init() {
	register(KindWaterLevel, kindSpec{level: LevelWarnung, check: checkWaterLevel,
		build: func(x env, r *rule) (evaluator, error) { return newWaterLevelEval(x, r), nil }})
}

// WaterLevelConfig tunes the water_level rule: the warning stages of the
// selected gauges (one list for all, or a list per gauge site), their
// hysteresis and all-clear, the rate window and the forecast horizon.
type WaterLevelConfig struct {
	// Stages apply to every selected gauge without its own list.
	Stages []StageConfig `mapstructure:"stages" yaml:"stages"`
	// Gauges gives stages per gauge site.
	Gauges []GaugeStages `mapstructure:"gauges" yaml:"gauges"`
	// Hysteresis: a stage is left only when the level falls this far
	// below its threshold (m, default 0.05).
	Hysteresis float64 `mapstructure:"hysteresis_m" yaml:"hysteresis_m"`
	// ClearHold: the all-clear (Entwarnung) comes once the level stayed
	// below the first stage (minus hysteresis) this long (default 30m).
	ClearHold time.Duration `mapstructure:"clear_hold" yaml:"clear_hold"`
	// RateWindow is the window of the rate of rise and the trend (1h).
	RateWindow time.Duration `mapstructure:"rate_window" yaml:"rate_window"`
	// ForecastHorizon: the time the next stage is reached is forecast
	// when it lies within this horizon (default 12h).
	ForecastHorizon time.Duration `mapstructure:"forecast_horizon" yaml:"forecast_horizon"`
	// StaleAfter: a gauge without a reading this long raises its own
	// "gauge stale" alert and marks its warning as without data (1h).
	StaleAfter time.Duration `mapstructure:"stale_after" yaml:"stale_after"`
}

// StageConfig is one warning stage: entered at Level (m above the gauge
// zero). Name defaults to IW1, IW2, ... (NRW's Informationswerte); Alert
// is the alert level (default: the highest stage alarm, the one below
// warnung, the others vorwarnung).
type StageConfig struct {
	Name  string  `mapstructure:"name" yaml:"name"`
	Level float64 `mapstructure:"level_m" yaml:"level_m"`
	Alert string  `mapstructure:"alert_level" yaml:"alert_level"`
}

// GaugeStages are the stages of one gauge site.
type GaugeStages struct {
	Site   string        `mapstructure:"site" yaml:"site"`
	Stages []StageConfig `mapstructure:"stages" yaml:"stages"`
}

// maxStages: NRW has three Informationswerte, Bavaria four Meldestufen.
const maxStages = 4

// Water level defaults.
const (
	defaultHysteresis = 0.05
	defaultClearHold  = 30 * time.Minute
	defaultRateWindow = time.Hour
	defaultHorizon    = 12 * time.Hour
	defaultGaugeStale = time.Hour
	// minRise is the smallest rate (cm/h) that counts as rising or
	// falling and gets a forecast: below it a gauge's scatter dominates.
	minRise = 0.5
)

func checkWaterLevel(p string, r RuleConfig) []error {
	w := r.WaterLevel
	var errs []error
	if len(w.Stages) == 0 && len(w.Gauges) == 0 {
		errs = append(errs, fmt.Errorf("%s.water_level: give stages or gauges", p))
	}
	errs = append(errs, checkStages(p+".water_level.stages", w.Stages)...)
	seen := map[string]bool{}
	for i, g := range w.Gauges {
		gp := fmt.Sprintf("%s.water_level.gauges[%d]", p, i)
		switch {
		case g.Site == "":
			errs = append(errs, fmt.Errorf("%s.site: required", gp))
		case seen[g.Site]:
			errs = append(errs, fmt.Errorf("%s.site: %q listed twice", gp, g.Site))
		}
		seen[g.Site] = true
		if len(g.Stages) == 0 {
			errs = append(errs, fmt.Errorf("%s.stages: required", gp))
		}
		errs = append(errs, checkStages(gp+".stages", g.Stages)...)
	}
	if w.Hysteresis < 0 {
		errs = append(errs, fmt.Errorf("%s.water_level.hysteresis_m: must not be negative", p))
	}
	if w.ClearHold < 0 || w.RateWindow < 0 || w.ForecastHorizon < 0 || w.StaleAfter < 0 {
		errs = append(errs, fmt.Errorf("%s.water_level: durations must not be negative", p))
	}
	return errs
}

func checkStages(p string, ss []StageConfig) []error {
	var errs []error
	if len(ss) > maxStages {
		errs = append(errs, fmt.Errorf("%s: at most %d stages, got %d", p, maxStages, len(ss)))
	}
	names := map[string]bool{}
	for i, s := range ss {
		if i > 0 && s.Level <= ss[i-1].Level {
			errs = append(errs, fmt.Errorf("%s[%d].level_m: %g must be above the stage before (%g)", p, i, s.Level, ss[i-1].Level))
		}
		if s.Name != "" && names[s.Name] {
			errs = append(errs, fmt.Errorf("%s[%d].name: %q listed twice", p, i, s.Name))
		}
		names[s.Name] = true
		if s.Alert != "" {
			if _, err := ParseLevel(s.Alert); err != nil {
				errs = append(errs, fmt.Errorf("%s[%d].alert_level: %w", p, i, err))
			}
		}
	}
	return errs
}

// stage is a resolved StageConfig.
type stage struct {
	name  string
	level float64
	alert Level
}

func resolveStages(ss []StageConfig) []stage {
	out := make([]stage, len(ss))
	for i, s := range ss {
		st := stage{name: s.Name, level: s.Level}
		if st.name == "" {
			st.name = fmt.Sprintf("IW%d", i+1)
		}
		switch fromTop := len(ss) - 1 - i; {
		case s.Alert != "":
			st.alert, _ = ParseLevel(s.Alert)
		case fromTop == 0 && len(ss) > 1:
			st.alert = LevelAlarm
		case fromTop == 1 || len(ss) == 1:
			st.alert = LevelWarnung
		default:
			st.alert = LevelVorwarnung
		}
		out[i] = st
	}
	return out
}

// gaugeState is what the rule keeps per gauge site.
type gaugeState struct {
	// Active is the stage in force (1-based), 0 for none.
	Active     int               `json:"active"`
	Pts        []point           `json:"pts"`
	Last       time.Time         `json:"last"`
	BelowSince time.Time         `json:"below_since,omitzero"`
	Stale      bool              `json:"stale,omitempty"`
	Labels     map[string]string `json:"labels"`
}

// waterLevelEval judges the water level of each selected gauge site
// against its stages, with hysteresis, an explicit all-clear, the rate of
// rise over a window and a linear-trend forecast of the next stage.
type waterLevelEval struct {
	env    env
	r      *rule
	cfg    WaterLevelConfig
	stages map[string][]stage // by site; "" for the default list
	st     map[string]*gaugeState
	chg    bool
}

func newWaterLevelEval(x env, r *rule) *waterLevelEval {
	w := r.cfg.WaterLevel
	w.Hysteresis = cmpF(w.Hysteresis, defaultHysteresis)
	w.ClearHold = cmp(w.ClearHold, defaultClearHold)
	w.RateWindow = cmp(w.RateWindow, defaultRateWindow)
	w.ForecastHorizon = cmp(w.ForecastHorizon, defaultHorizon)
	w.StaleAfter = cmp(w.StaleAfter, defaultGaugeStale)
	ev := &waterLevelEval{env: x, r: r, cfg: w, stages: map[string][]stage{}, st: map[string]*gaugeState{}}
	if len(w.Stages) > 0 {
		ev.stages[""] = resolveStages(w.Stages)
	}
	for _, g := range w.Gauges {
		ev.stages[g.Site] = resolveStages(g.Stages)
	}
	return ev
}

func (ev *waterLevelEval) stagesFor(id string) []stage {
	if s, ok := ev.stages[id]; ok {
		return s
	}
	return ev.stages[""]
}

func (ev *waterLevelEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	if d.Site == nil || d.Site.Kind != site.Gauge {
		return nil
	}
	id := d.Site.ID
	stages := ev.stagesFor(id)
	if len(stages) == 0 {
		return nil
	}
	var pts []point
	for _, m := range ms {
		// A marked reading (sensor flag, impossible, a jump) never raises
		// or clears a warning.
		if m.Quantity == measurement.WaterLevel && !m.Invalid() && !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
			pts = append(pts, point{m.Time, m.Value})
		}
	}
	if len(pts) == 0 {
		return nil
	}
	slices.SortFunc(pts, func(a, b point) int { return a.T.Compare(b.T) })
	g := ev.st[id]
	if g == nil {
		g = &gaugeState{}
		ev.st[id] = g
	}
	g.Labels = ev.env.labels(ev.r, nil, id)
	g.Labels["gauge"] = d.Site.Name
	if d.Site.River != "" {
		g.Labels["river"] = d.Site.River
	}
	var out []condition
	for _, p := range pts {
		if rewound(g.Last, p.T) {
			*g = gaugeState{Labels: g.Labels}
		}
		if !p.T.After(g.Last) {
			continue
		}
		g.Last = p.T
		g.Pts = append(g.Pts, p)
		i := 0
		for i < len(g.Pts)-1 && p.T.Sub(g.Pts[i].T) > ev.cfg.RateWindow {
			i++
		}
		g.Pts = slices.Clone(g.Pts[i:])
		ev.chg = true
		if g.Stale {
			g.Stale = false
			out = append(out, condition{Subject: id + ":stale", Labels: maps.Clone(g.Labels), At: p.T})
		}
		out = append(out, ev.step(id, g, stages, p))
	}
	return out
}

// step moves gauge g to the stage its level p calls for and returns the
// condition with level, stage, rate and forecast.
func (ev *waterLevelEval) step(id string, g *gaugeState, stages []stage, p point) condition {
	target := 0
	for i, s := range stages {
		if p.V >= s.level {
			target = i + 1
		}
	}
	cur := max(g.Active, target)
	for target < cur && cur > 0 && p.V < stages[cur-1].level-ev.cfg.Hysteresis {
		cur-- // falls stage by stage, each with its hysteresis
	}
	allClear := false
	if cur == 0 && g.Active > 0 {
		if g.BelowSince.IsZero() {
			g.BelowSince = p.T
		}
		if p.T.Sub(g.BelowSince) < ev.cfg.ClearHold {
			cur = 1 // below the first stage, but not yet long enough
		} else {
			allClear, g.BelowSince = true, time.Time{}
		}
	} else if cur > 1 || p.V >= stages[0].level-ev.cfg.Hysteresis {
		g.BelowSince = time.Time{}
	}
	g.Active = cur
	c := condition{Subject: id, Labels: maps.Clone(g.Labels), At: p.T, Active: cur > 0, Value: p.V,
		Values: map[string]float64{"level_m": p.V}, Info: map[string]string{"first_stage": stages[0].name,
			"gauge": g.Labels["gauge"], "river": g.Labels["river"]}}
	if cur > 0 {
		s := stages[cur-1]
		c.Level = s.alert
		c.Info["stage"] = s.name
		c.Labels["stage"] = s.name
		c.Values["stage_level_m"] = s.level
	}
	if allClear {
		c.Info["all_clear"] = "true"
	}
	rate, ok := ev.rate(g)
	if !ok {
		return c
	}
	c.Values["rate_cm_h"] = rate
	switch {
	case rate >= minRise:
		c.Info["trend"] = "rising"
	case rate <= -minRise:
		c.Info["trend"] = "falling"
	default:
		c.Info["trend"] = "steady"
	}
	if next, at, ok := ev.forecast(stages, cur, p, rate); ok {
		lead := at.Sub(p.T)
		c.Info["next_stage"] = next.name
		c.Values["next_level_m"] = next.level
		c.Values["forecast_in_min"] = lead.Minutes()
		c.Info["forecast_in"] = formatLead(lead)
		c.Info["forecast_at"] = at.In(ev.env.location()).Format("15:04")
		c.Info["forecast_time"] = at.UTC().Format(time.RFC3339)
	}
	return c
}

// forecast extends the linear trend (rate cm/h) from level p to the stage
// above stage cur: the stage and the time it is reached, if the level
// rises and that time lies within the horizon.
func (ev *waterLevelEval) forecast(stages []stage, cur int, p point, rate float64) (stage, time.Time, bool) {
	if cur >= len(stages) || rate < minRise {
		return stage{}, time.Time{}, false
	}
	next := stages[cur]
	lead := time.Duration((next.level - p.V) * 100 / rate * float64(time.Hour))
	if lead > ev.cfg.ForecastHorizon {
		return stage{}, time.Time{}, false
	}
	return next, p.T.Add(lead), true
}

// rate is the least-squares slope of the window in cm/h, once the window
// holds three readings over at least a quarter of its length.
func (ev *waterLevelEval) rate(g *gaugeState) (float64, bool) {
	n := len(g.Pts)
	if n < 3 || g.Pts[n-1].T.Sub(g.Pts[0].T) < ev.cfg.RateWindow/4 {
		return 0, false
	}
	return gauge.Slope(g.Pts[0].T, func(yield func(time.Time, float64) bool) {
		for _, p := range g.Pts {
			if !yield(p.T, p.V) {
				return
			}
		}
	}) * 100, true
}

// tick raises "gauge stale" for a gauge without readings for StaleAfter:
// its own alert (a warning while a stage is in force, else info), and the
// stage alert is held with data_missing, never cleared.
func (ev *waterLevelEval) tick(now time.Time) []condition {
	var out []condition
	for _, id := range slices.Sorted(maps.Keys(ev.st)) {
		g := ev.st[id]
		if g.Stale || g.Last.IsZero() || now.Sub(g.Last) <= ev.cfg.StaleAfter {
			continue
		}
		g.Stale = true
		ev.chg = true
		lvl := LevelInfo
		if g.Active > 0 {
			lvl = LevelWarnung
		}
		age := now.Sub(g.Last)
		out = append(out,
			condition{Subject: id, Hold: true, At: now, Info: map[string]string{"data_missing": "true"}},
			condition{Subject: id + ":stale", Labels: maps.Clone(g.Labels), At: now, Active: true, Level: lvl, Value: age.Minutes(),
				Values: map[string]float64{"age_min": age.Minutes(), "limit_min": ev.cfg.StaleAfter.Minutes()},
				Info:   map[string]string{"condition": "gauge_stale", "last_seen": g.Last.UTC().Format(time.RFC3339), "gauge": g.Labels["gauge"], "river": g.Labels["river"]}})
	}
	return out
}

func (ev *waterLevelEval) save() ([]byte, error) { ev.chg = false; return json.Marshal(ev.st) }
func (ev *waterLevelEval) load(b []byte) error   { return json.Unmarshal(b, &ev.st) }
func (ev *waterLevelEval) dirty() bool           { return ev.chg }

// ValidateRefs reports the sites that water_level and crowd rules name
// but the configuration does not have as gauges or areas.
func (c Config) ValidateRefs(sites []site.Site) error {
	kinds := map[string]site.Kind{}
	for _, s := range sites {
		kinds[s.ID] = s.Kind
	}
	var ps problems
	ref := func(p, id string, want site.Kind) {
		switch k, ok := kinds[id]; {
		case id == "":
		case !ok:
			ps.add("%s: unknown site %q", p, id)
		case k != want:
			ps.add("%s: site %q is of kind %s, not %s", p, id, k, want)
		}
	}
	for i, r := range c.Rules {
		for j, g := range r.WaterLevel.Gauges {
			ref(fmt.Sprintf("alert.rules[%d].water_level.gauges[%d].site", i, j), g.Site, site.Gauge)
		}
		for j, a := range r.Crowd.Areas {
			ref(fmt.Sprintf("alert.rules[%d].crowd.areas[%d].site", i, j), a.Site, site.Area)
		}
	}
	return errors.Join(ps...)
}
