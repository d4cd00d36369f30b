package alert

import (
	"slices"
	"strings"
	"time"
)

// GaugeView is what a water_level rule knows of one gauge, for the API and
// the web page: the stages, the stage in force, the latest level, the rate
// of rise and the forecast of the next stage.
type GaugeView struct {
	Rule       string      `json:"rule"`
	Site       string      `json:"site"`
	Stages     []StageView `json:"stages"`
	Hysteresis float64     `json:"hysteresis_m"`
	Stage      string      `json:"stage,omitempty"`
	Level      *float64    `json:"level_m,omitempty"`
	At         time.Time   `json:"at,omitzero"`
	Rate       *float64    `json:"rate_cm_h,omitempty"`
	NextStage  string      `json:"next_stage,omitempty"`
	ForecastAt time.Time   `json:"forecast_at,omitzero"`
	Stale      bool        `json:"stale,omitempty"`
}

// StageView is one warning stage.
type StageView struct {
	Name  string  `json:"name"`
	Level float64 `json:"level_m"`
	Alert Level   `json:"alert_level"`
}

// AreaView is what a crowd rule knows of one area.
type AreaView struct {
	Rule         string      `json:"rule"`
	Site         string      `json:"site"`
	Occupancy    float64     `json:"occupancy"`
	InflowPerMin float64     `json:"inflow_per_min"`
	MaxOccupancy int         `json:"max_occupancy,omitempty"`
	MaxInflow    float64     `json:"max_inflow_per_min,omitempty"`
	Capacity     int         `json:"capacity,omitempty"`
	ResetAt      string      `json:"reset_at"`
	At           time.Time   `json:"at,omitzero"`
	History      []PointView `json:"history"`
}

// PointView is one value at a time.
type PointView struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Gauges returns the view of every gauge a water_level rule has stages for
// (named in its gauges list, or seen with data), by site and rule.
func (e *Engine) Gauges() []GaugeView {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []GaugeView
	for _, r := range e.rules {
		ev, ok := r.eval.(*waterLevelEval)
		if !ok {
			continue
		}
		ids := map[string]bool{}
		for id := range ev.st {
			ids[id] = true
		}
		for id := range ev.stages {
			if id != "" {
				ids[id] = true
			}
		}
		for id := range ids {
			if stages := ev.stagesFor(id); len(stages) > 0 {
				out = append(out, ev.view(id, stages))
			}
		}
	}
	slices.SortFunc(out, func(a, b GaugeView) int { return strings.Compare(a.Site+"/"+a.Rule, b.Site+"/"+b.Rule) })
	return out
}

func (ev *waterLevelEval) view(id string, stages []stage) GaugeView {
	v := GaugeView{Rule: ev.r.cfg.Name, Site: id, Hysteresis: ev.cfg.Hysteresis}
	for _, s := range stages {
		v.Stages = append(v.Stages, StageView{Name: s.name, Level: s.level, Alert: s.alert})
	}
	g := ev.st[id]
	if g == nil || len(g.Pts) == 0 {
		return v
	}
	p := g.Pts[len(g.Pts)-1]
	v.Level, v.At, v.Stale = &p.V, p.T, g.Stale
	if g.Active > 0 {
		v.Stage = stages[min(g.Active, len(stages))-1].name
	}
	if rate, ok := ev.rate(g); ok {
		v.Rate = &rate
		if next, at, ok := ev.forecast(stages, g.Active, p, rate); ok {
			v.NextStage, v.ForecastAt = next.name, at
		}
	}
	return v
}

// Areas returns the view of every area a crowd rule has seen data of.
func (e *Engine) Areas() []AreaView {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []AreaView
	for _, r := range e.rules {
		ev, ok := r.eval.(*crowdEval)
		if !ok {
			continue
		}
		for id, a := range ev.st {
			occ, flow := ev.measure(a, a.Last)
			maxOcc, maxFlow := ev.limits(id, a.Capacity)
			v := AreaView{Rule: r.cfg.Name, Site: id, Occupancy: occ, InflowPerMin: flow, MaxOccupancy: maxOcc,
				MaxInflow: maxFlow, Capacity: a.Capacity, ResetAt: ev.cfg.ResetAt, At: a.Last, History: []PointView{}}
			for _, p := range a.History {
				v.History = append(v.History, PointView(p))
			}
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b AreaView) int { return strings.Compare(a.Site+"/"+a.Rule, b.Site+"/"+b.Rule) })
	return out
}
