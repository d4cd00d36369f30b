package alert

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
)

func init() {
	register(KindCrowd, kindSpec{level: LevelWarnung, check: checkCrowd,
		build: func(x env, r *rule) (evaluator, error) { return newCrowdEval(x, r), nil }})
}

// CrowdConfig tunes the crowd rule for the selected area sites: the
// occupancy (sum of the counters' in minus out since the daily reset,
// plus the people_count sensors) and the inflow per minute against their
// limits.
type CrowdConfig struct {
	// MaxOccupancy in persons; 0 takes the area's capacity; with neither
	// the occupancy is not judged.
	MaxOccupancy int `mapstructure:"max_occupancy" yaml:"max_occupancy"`
	// MaxInflow in persons per minute over InflowWindow; 0: not judged.
	MaxInflow    float64       `mapstructure:"max_inflow_per_min" yaml:"max_inflow_per_min"`
	InflowWindow time.Duration `mapstructure:"inflow_window" yaml:"inflow_window"` // default 5m
	// ResetAt is the local time of day ("04:00", the default) when the
	// counted occupancy starts again from zero: counters drift (people
	// counted in but not out), so a new day must not inherit the error.
	ResetAt string `mapstructure:"reset_at" yaml:"reset_at"`
	// ClearShare: an alert clears below this share of its limit (0.9).
	ClearShare float64 `mapstructure:"clear_share" yaml:"clear_share"`
	// Areas overrides the limits per area site.
	Areas []AreaLimits `mapstructure:"areas" yaml:"areas"`
}

// AreaLimits are one area's own limits (zero: the rule's).
type AreaLimits struct {
	Site         string  `mapstructure:"site" yaml:"site"`
	MaxOccupancy int     `mapstructure:"max_occupancy" yaml:"max_occupancy"`
	MaxInflow    float64 `mapstructure:"max_inflow_per_min" yaml:"max_inflow_per_min"`
}

const (
	defaultInflowWindow = 5 * time.Minute
	defaultResetAt      = "04:00"
	defaultClearShare   = 0.9
)

// parseClock parses "HH:MM" into minutes after midnight.
func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day like 04:00", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

func checkCrowd(p string, r RuleConfig) []error {
	c := r.Crowd
	var errs []error
	if c.MaxOccupancy < 0 || c.MaxInflow < 0 {
		errs = append(errs, fmt.Errorf("%s.crowd: limits must not be negative", p))
	}
	if c.InflowWindow < 0 {
		errs = append(errs, fmt.Errorf("%s.crowd.inflow_window: must not be negative", p))
	}
	if c.ResetAt != "" {
		if _, err := parseClock(c.ResetAt); err != nil {
			errs = append(errs, fmt.Errorf("%s.crowd.reset_at: %w", p, err))
		}
	}
	if c.ClearShare < 0 || c.ClearShare >= 1 {
		errs = append(errs, fmt.Errorf("%s.crowd.clear_share: %g is outside 0..1", p, c.ClearShare))
	}
	for i, a := range c.Areas {
		if a.Site == "" {
			errs = append(errs, fmt.Errorf("%s.crowd.areas[%d].site: required", p, i))
		}
		if a.MaxOccupancy < 0 || a.MaxInflow < 0 {
			errs = append(errs, fmt.Errorf("%s.crowd.areas[%d]: limits must not be negative", p, i))
		}
	}
	return errs
}

// counter is one cumulative people counter series.
type counter struct {
	Raw float64 `json:"raw"` // last reading
	Acc float64 `json:"acc"` // counted since the area's reset
	In  bool    `json:"in"`
}

// areaState is what the crowd rule keeps per area.
type areaState struct {
	Counters map[string]*counter `json:"counters"`
	Counts   map[string]float64  `json:"counts"` // people_count by device:channel
	Inflow   []point             `json:"inflow"` // counted in, by time
	ResetDay string              `json:"reset_day"`
	Last     time.Time           `json:"last"`
	Occ      bool                `json:"occ"`
	Flow     bool                `json:"flow"`
	Labels   map[string]string   `json:"labels"`
	Capacity int                 `json:"capacity"`
	// History is the occupancy after each evaluation, for the web page.
	History []point `json:"history"`
}

// maxHistory bounds an area's occupancy history: a day at one value per
// 5-min uplink.
const maxHistory = 288

// crowdEval judges each selected area's occupancy and inflow.
type crowdEval struct {
	env     env
	r       *rule
	cfg     CrowdConfig
	resetAt int // minutes after local midnight
	st      map[string]*areaState
	chg     bool
}

func newCrowdEval(x env, r *rule) *crowdEval {
	c := r.cfg.Crowd
	c.InflowWindow = cmp(c.InflowWindow, defaultInflowWindow)
	c.ClearShare = cmpF(c.ClearShare, defaultClearShare)
	if c.ResetAt == "" {
		c.ResetAt = defaultResetAt
	}
	at, _ := parseClock(c.ResetAt)
	return &crowdEval{env: x, r: r, cfg: c, resetAt: at, st: map[string]*areaState{}}
}

func (ev *crowdEval) limits(id string, capacity int) (int, float64) {
	occ, flow := ev.cfg.MaxOccupancy, ev.cfg.MaxInflow
	for _, a := range ev.cfg.Areas {
		if a.Site == id {
			if a.MaxOccupancy > 0 {
				occ = a.MaxOccupancy
			}
			if a.MaxInflow > 0 {
				flow = a.MaxInflow
			}
		}
	}
	if occ == 0 {
		occ = capacity
	}
	return occ, flow
}

func (ev *crowdEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	if d.Site == nil || d.Site.Kind != site.Area {
		return nil
	}
	id := d.Site.ID
	a := ev.st[id]
	if a == nil {
		a = &areaState{Counters: map[string]*counter{}, Counts: map[string]float64{}}
		ev.st[id] = a
	}
	a.Labels = ev.env.labels(ev.r, nil, id)
	a.Labels["area"] = d.Site.Name
	a.Capacity = d.Site.Capacity
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(x, y measurement.Measurement) int { return x.Time.Compare(y.Time) })
	seen := false
	for _, m := range ms {
		if m.Quantity != measurement.PeopleIn && m.Quantity != measurement.PeopleOut && m.Quantity != measurement.PeopleCount ||
			math.IsNaN(m.Value) || math.IsInf(m.Value, 0) || m.Value < 0 {
			continue
		}
		if rewound(a.Last, m.Time) {
			*a = areaState{Counters: map[string]*counter{}, Counts: map[string]float64{}, Labels: a.Labels, Capacity: a.Capacity}
		}
		ev.resetIfDue(a, m.Time)
		ev.count(a, d.EUI, m)
		if m.Time.After(a.Last) {
			a.Last = m.Time
		}
		seen = true
	}
	if !seen {
		return nil
	}
	ev.chg = true
	return ev.judge(id, a, a.Last)
}

// count adds one reading to the area's counters.
func (ev *crowdEval) count(a *areaState, eui string, m measurement.Measurement) {
	key := eui + ":" + string(m.Quantity) + ":" + strconv.Itoa(m.Channel)
	if m.Quantity == measurement.PeopleCount {
		a.Counts[key] = m.Value
		return
	}
	c := a.Counters[key]
	if c == nil {
		// The first reading is the baseline: what the counter counted
		// before the rule saw it is not in the area now.
		a.Counters[key] = &counter{Raw: m.Value, In: m.Quantity == measurement.PeopleIn}
		return
	}
	delta := m.Value - c.Raw
	if delta < 0 {
		delta = m.Value // the counter restarted from zero
	}
	c.Raw = m.Value
	c.Acc += delta
	if c.In && delta > 0 {
		a.Inflow = append(a.Inflow, point{m.Time, delta})
	}
}

// resetIfDue starts the counted occupancy again from zero once a day at
// the configured local time.
func (ev *crowdEval) resetIfDue(a *areaState, t time.Time) {
	lt := t.In(ev.env.location())
	day := lt.Format(time.DateOnly)
	if lt.Hour()*60+lt.Minute() < ev.resetAt {
		day = lt.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	if day <= a.ResetDay {
		return // ISO dates: the reset only moves forward
	}
	if a.ResetDay != "" {
		for _, c := range a.Counters {
			c.Acc = 0
		}
		a.Inflow = nil
	}
	a.ResetDay = day
	ev.chg = true
}

// measure returns area a's occupancy and its inflow per minute over the
// window ending at t.
func (ev *crowdEval) measure(a *areaState, t time.Time) (occ, perMin float64) {
	for _, c := range a.Counters {
		if c.In {
			occ += c.Acc
		} else {
			occ -= c.Acc
		}
	}
	occ = max(occ, 0) // more counted out than in: drift, not negative people
	for _, v := range a.Counts {
		occ += v
	}
	in := 0.0
	for _, p := range a.Inflow {
		if t.Sub(p.T) < ev.cfg.InflowWindow {
			in += p.V
		}
	}
	return occ, in / ev.cfg.InflowWindow.Minutes()
}

// judge returns the occupancy and inflow conditions of area id at t.
func (ev *crowdEval) judge(id string, a *areaState, t time.Time) []condition {
	occ, perMin := ev.measure(a, t)
	i := 0
	for i < len(a.Inflow) && t.Sub(a.Inflow[i].T) >= ev.cfg.InflowWindow {
		i++
	}
	a.Inflow = slices.Clone(a.Inflow[i:])
	if n := len(a.History); n > 0 && !t.After(a.History[n-1].T) {
		a.History[n-1].V = occ // counters of one time, judged one by one
	} else {
		a.History = append(a.History, point{t, occ})
		if len(a.History) > maxHistory {
			a.History = slices.Clone(a.History[len(a.History)-maxHistory:])
		}
	}
	maxOcc, maxFlow := ev.limits(id, a.Capacity)
	vals := func() map[string]float64 {
		v := map[string]float64{"occupancy": occ, "inflow_per_min": perMin}
		if maxOcc > 0 {
			v["max_occupancy"] = float64(maxOcc)
		}
		if maxFlow > 0 {
			v["max_inflow_per_min"] = maxFlow
		}
		if a.Capacity > 0 {
			v["capacity"] = float64(a.Capacity)
		}
		return v
	}
	info := map[string]string{"area": a.Labels["area"], "reset_at": ev.cfg.ResetAt}
	var out []condition
	if maxOcc > 0 {
		a.Occ = hysteresis(a.Occ, occ, float64(maxOcc), ev.cfg.ClearShare)
		c := condition{Subject: id + ":occupancy", Labels: maps.Clone(a.Labels), At: t, Active: a.Occ, Level: ev.r.level,
			Value: occ, Values: vals(), Info: maps.Clone(info)}
		c.Labels["condition"], c.Info["condition"] = "occupancy", "occupancy"
		out = append(out, c)
	}
	if maxFlow > 0 {
		a.Flow = hysteresis(a.Flow, perMin, maxFlow, ev.cfg.ClearShare)
		c := condition{Subject: id + ":inflow", Labels: maps.Clone(a.Labels), At: t, Active: a.Flow, Level: ev.r.level,
			Value: perMin, Values: vals(), Info: maps.Clone(info)}
		c.Labels["condition"], c.Info["condition"] = "inflow", "inflow"
		out = append(out, c)
	}
	return out
}

// hysteresis: on above limit, off below share x limit.
func hysteresis(on bool, v, limit, share float64) bool {
	if on {
		return v >= limit*share
	}
	return v > limit
}

// tick applies the daily reset to areas without readings.
func (ev *crowdEval) tick(now time.Time) []condition {
	var out []condition
	for _, id := range slices.Sorted(maps.Keys(ev.st)) {
		a := ev.st[id]
		day := a.ResetDay
		ev.resetIfDue(a, now)
		if a.ResetDay != day {
			out = append(out, ev.judge(id, a, now)...)
		}
	}
	return out
}

func (ev *crowdEval) save() ([]byte, error) { ev.chg = false; return json.Marshal(ev.st) }
func (ev *crowdEval) load(b []byte) error   { return json.Unmarshal(b, &ev.st) }
func (ev *crowdEval) dirty() bool           { return ev.chg }
