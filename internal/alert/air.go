package alert

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

func init() {
	register(KindAirQuality, kindSpec{level: LevelWarnung, build: func(x env, r *rule) (evaluator, error) { return newAirEval(x, r), nil },
		check: func(p string, r RuleConfig) []error {
			var errs []error
			switch r.Quantity {
			case string(measurement.PM10), string(measurement.PM2_5), string(measurement.NO2), string(measurement.PM1):
			default:
				errs = append(errs, fmt.Errorf("%s.quantity: %q is not pm10, pm2_5, pm1 or no2", p, r.Quantity))
			}
			if r.Period != "" && r.Period != "hour" && r.Period != "day" {
				errs = append(errs, fmt.Errorf("%s.period: %q is not hour or day", p, r.Period))
			}
			return errs
		}})
}

// airEval: outdoor PM10/PM2.5/NO2 against the EU limit values with their
// averaging periods (daily mean for PM, hourly mean for NO2, 2008/50/EC).
// A period counts only with MinCoverage of its expected readings (75 %,
// a day needs 18 h). Exceeding periods are counted per calendar year; the
// alert fires for an exceeding period (Warnung) and becomes an Alarm when
// the year's count passes AllowedPerYear. Low-cost sensors are indicative,
// never proof against a limit value: the texts say so.
type airEval struct {
	env     env
	r       *rule
	q       measurement.Quantity
	period  string
	limit   float64
	allowed int
	cov     float64
	def     time.Duration
	st      map[string]*airDev
	chg     bool
}

type airDev struct {
	Start    time.Time         `json:"start,omitzero"`
	Sum      float64           `json:"sum"`
	N        int               `json:"n"`
	Interval time.Duration     `json:"interval"`
	Exceed   map[int]int       `json:"exceed"`
	Labels   map[string]string `json:"labels"`
}

func newAirEval(x env, r *rule) *airEval {
	c := r.cfg
	a := &airEval{env: x, r: r, q: measurement.Quantity(c.Quantity), period: c.Period, limit: c.Limit,
		allowed: c.AllowedPerYear, cov: cmpF(c.MinCoverage, 0.75), def: cmp(c.DefaultInterval, 10*time.Minute), st: map[string]*airDev{}}
	// 2008/50/EC (39. BImSchV) values; 2024/2881 tightens them from 2030.
	defaults := map[measurement.Quantity]struct {
		p     string
		limit float64
		n     int
	}{
		measurement.PM10:  {"day", 50, 35},
		measurement.PM2_5: {"day", 25, 18},
		measurement.PM1:   {"day", 25, 18},
		measurement.NO2:   {"hour", 200, 18},
	}
	d := defaults[a.q]
	if a.period == "" {
		a.period = d.p
	}
	if a.limit == 0 {
		a.limit = d.limit
	}
	if a.allowed == 0 {
		a.allowed = d.n
	}
	return a
}

func (a *airEval) periodStart(t time.Time) time.Time {
	loc := a.env.location()
	l := t.In(loc)
	if a.period == "hour" {
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), 0, 0, 0, loc)
	}
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}

func (a *airEval) periodEnd(s time.Time) time.Time {
	if a.period == "hour" {
		return s.Add(time.Hour)
	}
	return s.AddDate(0, 0, 1)
}

func (a *airEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	var out []condition
	for _, m := range ms {
		if m.Quantity != a.q || math.IsNaN(m.Value) || m.Value < 0 {
			continue
		}
		st := a.st[d.EUI]
		if st == nil {
			st = &airDev{Exceed: map[int]int{}}
			a.st[d.EUI] = st
		}
		st.Labels = a.env.labels(a.r, &d, "")
		st.Labels["quantity"] = string(a.q)
		st.Interval = cmp(d.Interval, a.def)
		ps := a.periodStart(m.Time)
		if rewound(st.Start, m.Time) {
			st.Start, st.Sum, st.N = time.Time{}, 0, 0
		}
		if !st.Start.IsZero() && ps.After(st.Start) {
			if c, ok := a.finalize(d.EUI, st); ok {
				out = append(out, c)
			}
		}
		if st.Start.IsZero() {
			st.Start = ps
		}
		if ps.Equal(st.Start) {
			st.Sum += m.Value
			st.N++
		}
		a.chg = true
	}
	return out
}

// finalize closes the running period and judges it.
func (a *airEval) finalize(eui string, st *airDev) (condition, bool) {
	start, sum, n := st.Start, st.Sum, st.N
	st.Start, st.Sum, st.N = time.Time{}, 0, 0
	end := a.periodEnd(start)
	if st.Interval <= 0 {
		st.Interval = a.def
	}
	need := int(math.Ceil(a.cov * float64(end.Sub(start)) / float64(st.Interval)))
	if n == 0 || n < max(need, 1) {
		return condition{}, false
	}
	mean := sum / float64(n)
	exceed := mean > a.limit
	year := start.Year()
	if exceed {
		st.Exceed[year]++
	}
	lvl := a.r.level
	if st.Exceed[year] > a.allowed {
		lvl = LevelAlarm
	}
	return condition{Subject: eui + ":" + string(a.q), Labels: maps.Clone(st.Labels), At: end, Active: exceed, Level: lvl, Value: mean,
		Values: map[string]float64{"mean": mean, "limit": a.limit, "exceedances": float64(st.Exceed[year]), "allowed": float64(a.allowed), "samples": float64(n)},
		Info:   map[string]string{"period": a.period, "period_start": start.Format(time.RFC3339)}}, true
}

func (a *airEval) tick(now time.Time) []condition {
	var out []condition
	for eui, st := range a.st {
		if st.Start.IsZero() || now.Before(a.periodEnd(st.Start).Add(st.Interval)) {
			continue
		}
		if c, ok := a.finalize(eui, st); ok {
			out = append(out, c)
		}
		a.chg = true
	}
	return out
}

func (a *airEval) save() ([]byte, error) { a.chg = false; return json.Marshal(a.st) }
func (a *airEval) load(b []byte) error   { return json.Unmarshal(b, &a.st) }
func (a *airEval) dirty() bool           { return a.chg }
