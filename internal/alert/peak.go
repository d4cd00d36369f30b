package alert

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

// KindPeakLoad is the 15-minute electricity peak above a contract limit.
const KindPeakLoad = "peak_load"

func init() {
	register(KindPeakLoad, kindSpec{level: LevelWarnung, build: newPeakEval, check: func(p string, r RuleConfig) []error {
		var errs []error
		if r.LimitKW <= 0 {
			errs = append(errs, fmt.Errorf("%s.limit_kw: required, the contract's 15-minute peak limit in kW", p))
		}
		switch r.Quantity {
		case "", string(measurement.EnergyActiveImport), string(measurement.PowerActive):
		default:
			errs = append(errs, fmt.Errorf("%s.quantity: %q is not energy_active_import or power_active", p, r.Quantity))
		}
		return errs
	}})
}

// peakQuarter is the measuring period of German load-profile metering
// (RLM): contract peaks are 15-minute mean powers.
const peakQuarter = 15 * time.Minute

func newPeakEval(x env, r *rule) (evaluator, error) {
	q := measurement.Quantity(r.cfg.Quantity)
	if q == "" {
		q = measurement.EnergyActiveImport
	}
	return &peakEval{env: x, r: r, q: q, state: map[string]*peakState{}}, nil
}

// peakEval: the mean power of each quarter hour (local clock quarters)
// from a cumulative energy register (kWh, the energy of an interval spread
// evenly over it) or from power samples (W, their mean); a quarter with
// less than 80 % of it covered is not judged. A quarter above LimitKW
// raises the alert, the next judged quarter at or below it resolves it.
type peakEval struct {
	env   env
	r     *rule
	q     measurement.Quantity
	state map[string]*peakState
	chg   bool
}

// peakState is one meter's open quarter.
type peakState struct {
	LastT   time.Time `json:"last_t"`
	LastV   float64   `json:"last_v"`
	Quarter time.Time `json:"quarter"`
	KWh     float64   `json:"kwh"`     // energy in the open quarter
	Covered float64   `json:"covered"` // hours of it with data
	Samples int       `json:"samples"` // power: samples summed in KWh as kW
}

func (p *peakEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	var out []condition
	for _, m := range ms {
		if m.Quantity != p.q || m.Value < 0 {
			continue
		}
		st := p.state[d.EUI]
		if st == nil || rewound(st.LastT, m.Time) {
			st = &peakState{}
			p.state[d.EUI] = st
		}
		if !m.Time.After(st.LastT) && !st.LastT.IsZero() {
			continue // duplicate or late reading
		}
		p.chg = true
		out = append(out, p.step(d, st, m)...)
	}
	return out
}

// quarterOf returns the start of the local quarter hour holding t.
func (p *peakEval) quarterOf(t time.Time) time.Time {
	l := t.In(p.env.location())
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute()/15*15, 0, 0, l.Location())
}

// step adds one reading and returns the conditions of quarters it closes.
func (p *peakEval) step(d devInfo, st *peakState, m measurement.Measurement) []condition {
	var out []condition
	closeUpTo := func(t time.Time) {
		for !st.Quarter.IsZero() && !t.Before(st.Quarter.Add(peakQuarter)) {
			if c, ok := p.judge(d, st); ok {
				out = append(out, c)
			}
			st.Quarter, st.KWh, st.Covered, st.Samples = st.Quarter.Add(peakQuarter), 0, 0, 0
			if t.Sub(st.Quarter) > 24*time.Hour {
				st.Quarter = p.quarterOf(t) // a long outage: skip ahead
			}
		}
		if st.Quarter.IsZero() {
			st.Quarter = p.quarterOf(t)
		}
	}
	if p.q == measurement.PowerActive {
		closeUpTo(m.Time)
		st.KWh += m.Value / 1000
		st.Samples++
		st.Covered = peakQuarter.Hours() // samples stand for the quarter
		st.LastT, st.LastV = m.Time, m.Value
		return out
	}
	prevT, prevV := st.LastT, st.LastV
	st.LastT, st.LastV = m.Time, m.Value
	if prevT.IsZero() || m.Value < prevV || m.Time.Sub(prevT) > time.Hour {
		// First reading, a register reset or a gap: no interval to spread.
		closeUpTo(m.Time)
		return out
	}
	rate := (m.Value - prevV) / m.Time.Sub(prevT).Hours() // kW
	for a := prevT; a.Before(m.Time); {
		closeUpTo(a)
		b := st.Quarter.Add(peakQuarter)
		if m.Time.Before(b) {
			b = m.Time
		}
		h := b.Sub(a).Hours()
		st.KWh += rate * h
		st.Covered += h
		a = b
	}
	closeUpTo(m.Time)
	return out
}

// judge turns a finished quarter into a condition; ok is false when too
// little of it was covered.
func (p *peakEval) judge(d devInfo, st *peakState) (condition, bool) {
	var kw float64
	switch {
	case p.q == measurement.PowerActive && st.Samples > 0:
		kw = st.KWh / float64(st.Samples)
	case p.q != measurement.PowerActive && st.Covered >= 0.8*peakQuarter.Hours():
		kw = st.KWh / st.Covered
	default:
		return condition{}, false
	}
	end := st.Quarter.Add(peakQuarter)
	c := condition{Subject: d.EUI, Labels: p.env.labels(p.r, &d, ""), At: end, Active: kw > p.r.cfg.LimitKW, Level: p.r.level,
		Value: kw, Values: map[string]float64{"peak_kw": kw, "limit_kw": p.r.cfg.LimitKW},
		Info: map[string]string{"quarter": st.Quarter.Format("2006-01-02 15:04") + "-" + end.Format("15:04")}}
	return c, true
}

func (p *peakEval) tick(time.Time) []condition { return nil }

func (p *peakEval) save() ([]byte, error) { p.chg = false; return json.Marshal(p.state) }
func (p *peakEval) load(b []byte) error {
	if err := json.Unmarshal(b, &p.state); err != nil {
		return err
	}
	if p.state == nil {
		p.state = map[string]*peakState{}
	}
	return nil
}
func (p *peakEval) dirty() bool { return p.chg }
