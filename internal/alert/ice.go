package alert

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/ice"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
)

func init() {
	register(KindIce, kindSpec{level: LevelWarnung, build: func(x env, r *rule) (evaluator, error) { return newIceEval(x, r) }})
}

// iceEval feeds internal/ice per road site: every uplink with a road
// surface temperature becomes a Sample (missing values taken from the
// site's other devices if at most maxFill old), the trend Forecast runs on
// the site's recent samples, and the site's Tracker decides the level with
// its hysteresis and Entwarnung. Missing data holds the warning.
type iceEval struct {
	env   env
	r     *rule
	tcfg  ice.TrackerConfig
	fopts ice.ForecastOptions
	st    map[string]*station
	chg   bool
}

// maxFill is how old a value of another device at the same site may be to
// complete a reading (one missed 15-min uplink).
const maxFill = 30 * time.Minute

type station struct {
	Tracker ice.TrackerState  `json:"tracker"`
	Hist    []ice.Sample      `json:"hist"`
	Latest  map[string]point  `json:"latest"`
	Labels  map[string]string `json:"labels"`
	// ForecastWarn: the physics forecast's ice risk holds a Vorwarnung.
	ForecastWarn bool `json:"forecast_warn,omitempty"`
	trk          *ice.Tracker
}

func newIceEval(x env, r *rule) (*iceEval, error) {
	ic := r.cfg.Ice
	ev := &iceEval{env: x, r: r, st: map[string]*station{},
		tcfg:  ice.TrackerConfig{VorwarnFBT: ic.VorwarnFBT, WarnFBT: ic.WarnFBT, ClearFBT: ic.ClearFBT, ClearHold: ic.ClearHold, StaleAfter: ic.StaleAfter},
		fopts: ice.ForecastOptions{Window: ic.TrendWindow}}
	if _, err := ice.NewTracker(ev.tcfg, ice.TrackerState{}); err != nil {
		return nil, fmt.Errorf("ice: %w", err)
	}
	if _, err := ice.Forecast(nil, time.Time{}, ev.fopts); err != nil {
		return nil, fmt.Errorf("ice: %w", err)
	}
	return ev, nil
}

func (ev *iceEval) station(id string) *station {
	s := ev.st[id]
	if s == nil {
		s = &station{Latest: map[string]point{}}
		ev.st[id] = s
	}
	if s.trk == nil {
		t, err := ice.NewTracker(ev.tcfg, s.Tracker)
		if err != nil {
			// Restored state the tracker rejects: start clean rather than stop.
			t, _ = ice.NewTracker(ev.tcfg, ice.TrackerState{})
		}
		s.trk = t
	}
	return s
}

var iceQuantities = []measurement.Quantity{measurement.RoadSurfaceTemperature, measurement.AirTemperature,
	measurement.RelativeHumidity, measurement.DewPoint, measurement.RoadSurfaceState, measurement.WaterFilmHeight,
	measurement.FreezingTemperature}

func (ev *iceEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	if d.Site == nil || d.Site.Kind != site.Road {
		return nil
	}
	s := ev.station(d.Site.ID)
	s.Labels = ev.env.labels(ev.r, nil, d.Site.ID)
	var out []condition
	var times []time.Time
	for _, m := range ms {
		if slices.Contains(iceQuantities, m.Quantity) {
			if p, ok := s.Latest[string(m.Quantity)]; !ok || !m.Time.Before(p.T) || rewound(p.T, m.Time) {
				s.Latest[string(m.Quantity)] = point{m.Time, m.Value}
			}
			if m.Quantity == measurement.RoadSurfaceTemperature {
				times = append(times, m.Time)
			}
		}
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	times = slices.Compact(times)
	for _, t := range times {
		if rewound(s.Tracker.LastReading, t) {
			s.Tracker, s.Hist = ice.TrackerState{}, nil
			s.trk, _ = ice.NewTracker(ev.tcfg, s.Tracker)
		}
		if n := len(s.Hist); n > 0 && !t.After(s.Hist[n-1].Time) {
			continue // duplicate or late reading: the tracker would ignore it anyway
		}
		smp := ice.Sample{Time: t}
		val := func(q measurement.Quantity) *float64 {
			p, ok := s.Latest[string(q)]
			if !ok || t.Sub(p.T) > maxFill || p.T.After(t) {
				return nil
			}
			v := p.V
			return &v
		}
		smp.FBT = val(measurement.RoadSurfaceTemperature)
		smp.LT = val(measurement.AirTemperature)
		smp.RH = val(measurement.RelativeHumidity)
		smp.TPT = val(measurement.DewPoint)
		smp.WaterFilm = val(measurement.WaterFilmHeight)
		smp.FreezingTemp = val(measurement.FreezingTemperature)
		if v := val(measurement.RoadSurfaceState); v != nil {
			if st, err := ice.ParseSurfaceState(*v); err == nil {
				smp.State = &st
			}
		}
		s.Hist = append(s.Hist, smp)
		keep := cmp(ev.fopts.Window, time.Hour) + 15*time.Minute
		i := 0
		for i < len(s.Hist) && t.Sub(s.Hist[i].Time) > keep {
			i++
		}
		s.Hist = slices.Clone(s.Hist[i:])
		fc, err := ice.Forecast(s.Hist, t, ev.fopts)
		if err != nil {
			fc = nil
		}
		rd := ice.Reading{Sample: smp}.WithForecast(fc, cmp(ev.fopts.Lead, time.Hour))
		tr := s.trk.Observe(rd, fc, t)
		s.Tracker = s.trk.State()
		ev.chg = true
		out = append(out, ev.withOutlook(ev.condition(d.Site.ID, s, smp, fc, tr), d.Site.ID, t))
	}
	return out
}

func iceLevel(l ice.Level) Level {
	switch l {
	case ice.LevelVorwarnung:
		return LevelVorwarnung
	case ice.LevelWarnung:
		return LevelWarnung
	case ice.LevelAlarm:
		return LevelAlarm
	}
	return LevelInfo
}

func (ev *iceEval) condition(id string, s *station, smp ice.Sample, fc []ice.HorizonAssessment, tr ice.Transition) condition {
	c := condition{Subject: id, Labels: maps.Clone(s.Labels), At: tr.At, Active: tr.To != ice.LevelNone, Level: iceLevel(tr.To),
		Values: map[string]float64{}, Info: map[string]string{}}
	put := func(k string, v *float64) {
		if v != nil {
			c.Values[k] = *v
		}
	}
	as := tr.Assessment
	put("fbt", smp.FBT)
	put("lt", smp.LT)
	put("rh", smp.RH)
	put("water_film", smp.WaterFilm)
	put("dew_point", as.DewPoint)
	put("frost_point", as.FrostPoint)
	put("freezing_temp", as.FreezingTemp)
	if smp.FBT != nil {
		c.Value = *smp.FBT
	}
	if len(fc) > 0 && fc[0].FBTTrend != nil {
		c.Values["trend_k_h"] = *fc[0].FBTTrend
	}
	if as.Surface != nil {
		c.Values["surface_state"] = float64(*as.Surface)
		c.Info["surface_de"] = as.Surface.German()
		c.Info["surface_en"] = as.Surface.English()
	}
	// The Tracker's condition, not the tree's: it matches the level, so an
	// Alarm never reads "sofort möglich".
	c.Info["condition"] = tr.Condition.String()
	c.Info["condition_de"] = tr.Condition.German()
	c.Info["condition_en"] = tr.Condition.English()
	c.Info["reasons"] = strings.Join(tr.Reasons, ",")
	if tr.Expected != ice.LevelNone {
		c.Info["expected"] = iceLevel(tr.Expected).String()
		c.Values["expected_in_min"] = tr.ExpectedIn.Minutes()
	}
	if tr.DataMissing {
		c.Info["data_missing"] = "true"
	}
	if tr.AllClear {
		c.Info["all_clear"] = "true"
	}
	return c
}

func (ev *iceEval) tick(now time.Time) []condition {
	var out []condition
	ids := make([]string, 0, len(ev.st))
	for id := range ev.st {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := ev.station(id)
		tr := s.trk.Tick(now)
		if !tr.DataMissingChanged {
			continue
		}
		s.Tracker = s.trk.State()
		ev.chg = true
		v := ""
		if tr.DataMissing {
			v = "true"
		}
		// Missing data never clears: the warning is held and says so.
		out = append(out, condition{Subject: id, Hold: true, At: now, Info: map[string]string{"data_missing": v}})
	}
	return out
}

func (ev *iceEval) save() ([]byte, error) { ev.chg = false; return json.Marshal(ev.st) }
func (ev *iceEval) load(b []byte) error   { return json.Unmarshal(b, &ev.st) }
func (ev *iceEval) dirty() bool           { return ev.chg }
