package alert

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

func init() {
	register(KindLeak, kindSpec{level: LevelAlarm, build: newLeakEval, check: func(p string, r RuleConfig) []error {
		if r.NightFrom < 0 || r.NightFrom > 23 || r.NightTo < 0 || r.NightTo > 24 || (r.NightTo != 0 && r.NightTo <= r.NightFrom) {
			return []error{fmt.Errorf("%s: night_from/night_to must be hours with from < to", p)}
		}
		return nil
	}})
	register(KindBurst, kindSpec{level: LevelAlarm, build: newBurstEval, check: func(p string, r RuleConfig) []error {
		if r.NominalM3H <= 0 {
			return []error{fmt.Errorf("%s.nominal_m3h: required (q3 of the meter)", p)}
		}
		return nil
	}})
}

func newBurstEval(x env, r *rule) (evaluator, error) {
	c := r.cfg
	share := c.Share
	if share == 0 {
		share = 0.2
	}
	on := share * c.NominalM3H * 1000 // l/h
	if r.cfg.For == 0 {
		r.cfg.For = 30 * time.Minute
	}
	return &flowEval{env: x, r: r, burstOn: on, pulseL: pulseLitres(c), state: map[string]*flowState{}}, nil
}

func newLeakEval(x env, r *rule) (evaluator, error) {
	c := r.cfg
	lz := c.ZeroHourIn
	if lz == 0 {
		lz = 24 * time.Hour
	}
	nf, nt := c.NightFrom, c.NightTo
	if nf == 0 && nt == 0 {
		nf, nt = 2, 4
	}
	nm := c.NightMinLPH
	if nm == 0 {
		nm = 10
	}
	return &flowEval{env: x, r: r, leak: true, zeroIn: lz, nightFrom: nf, nightTo: nt, nightMin: nm, pulseL: pulseLitres(c), state: map[string]*flowState{}}, nil
}

func pulseLitres(c RuleConfig) float64 { return cmpF(c.PulseLitres, 1) }

// flowEval: water leak and burst from a meter's cumulative volume
// (water_volume m3, pulse_count x PulseLitres) or its volume_flow (m3/h).
// Flows are litres per hour over the interval between two readings, so the
// detection floor is one meter step per uplink interval.
//
// Leak (domain.md section 4): no continuous zero-flow hour in ZeroHourIn
// (Kamstrup's rule), or the minimum flow of the night window (02-04 h local)
// above NightMinLPH. A zero-flow hour clears it. Burst: flow above Share x
// nominal for For (default 30 min), cleared below 80 % of that.
type flowEval struct {
	env  env
	r    *rule
	leak bool
	// leak
	zeroIn             time.Duration
	nightFrom, nightTo int
	nightMin           float64
	// burst
	burstOn float64
	pulseL  float64
	state   map[string]*flowState
	chg     bool
}

// flowState is one meter's persisted leak/burst state.
type flowState struct {
	Q            measurement.Quantity `json:"q"`
	LastT        time.Time            `json:"last_t"`
	LastL        float64              `json:"last_l"` // cumulative litres
	First        time.Time            `json:"first"`
	ZeroRunStart time.Time            `json:"zero_run_start,omitzero"`
	LastZeroHour time.Time            `json:"last_zero_hour,omitzero"`
	NightEnd     time.Time            `json:"night_end,omitzero"`
	NightMin     float64              `json:"night_min"`
	NightN       int                  `json:"night_n"`
	NightLeak    bool                 `json:"night_leak"`
	NightMinLast float64              `json:"night_min_last"`
	Band         int                  `json:"band"`
}

// zeroFlow is the flow under which an interval counts as "no flow": below
// one litre per two hours no meter of ours resolves anything.
const zeroFlow = 0.5 // l/h

func (f *flowEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	var out []condition
	for _, m := range ms {
		switch m.Quantity {
		case measurement.WaterVolume, measurement.PulseCount, measurement.VolumeFlow:
		default:
			continue
		}
		if q := f.r.cfg.Quantity; q != "" && string(m.Quantity) != q {
			continue
		}
		st := f.state[d.EUI]
		if st == nil {
			st = &flowState{Q: m.Quantity, First: m.Time, Band: -1}
			f.state[d.EUI] = st
		}
		if st.Q == m.Quantity && rewound(st.LastT, m.Time) {
			st = &flowState{Q: m.Quantity, First: m.Time, Band: -1}
			f.state[d.EUI] = st
		}
		if st.Q != m.Quantity || !m.Time.After(st.LastT) {
			continue
		}
		f.chg = true
		var flow float64
		t0 := st.LastT
		switch m.Quantity {
		case measurement.VolumeFlow:
			flow = m.Value * 1000
		default:
			l := m.Value * 1000
			if m.Quantity == measurement.PulseCount {
				l = m.Value * f.pulseL
			}
			prev, had := st.LastL, !st.LastT.IsZero()
			st.LastL = l
			if !had || l < prev {
				// First reading or meter replaced/reset: no interval yet.
				st.LastT = m.Time
				continue
			}
			flow = (l - prev) / m.Time.Sub(t0).Hours()
		}
		st.LastT = m.Time
		if t0.IsZero() {
			continue
		}
		c := condition{Subject: d.EUI, Labels: f.env.labels(f.r, &d, ""), At: m.Time, Value: flow,
			Values: map[string]float64{"flow_lph": flow}, Info: map[string]string{}}
		c.Labels["quantity"] = string(m.Quantity)
		if f.leak {
			f.leakStep(st, t0, m.Time, flow, &c)
		} else {
			st.Band = nextBand([]bandL{{f.burstOn, 0.8 * f.burstOn, f.r.level}}, false, st.Band, flow)
			c.Active = st.Band >= 0
			c.Level = f.r.level
			c.Values["limit_lph"] = f.burstOn
		}
		out = append(out, c)
	}
	return out
}

func (f *flowEval) leakStep(st *flowState, t0, t1 time.Time, flow float64, c *condition) {
	if flow < zeroFlow {
		if st.ZeroRunStart.IsZero() {
			st.ZeroRunStart = t0
		}
		if t1.Sub(st.ZeroRunStart) >= time.Hour {
			st.LastZeroHour = t1
			st.NightLeak = false
		}
	} else {
		st.ZeroRunStart = time.Time{}
	}
	// Night window of the local day t0 falls on.
	loc := f.env.location()
	l0 := t0.In(loc)
	ns := time.Date(l0.Year(), l0.Month(), l0.Day(), f.nightFrom, 0, 0, 0, loc)
	ne := time.Date(l0.Year(), l0.Month(), l0.Day(), f.nightTo, 0, 0, 0, loc)
	if !t0.Before(ns) && !t1.After(ne) {
		if !st.NightEnd.Equal(ne) {
			st.NightEnd, st.NightMin, st.NightN = ne, flow, 0
		}
		st.NightMin = min(st.NightMin, flow)
		st.NightN++
	}
	if st.NightN > 0 && !t1.Before(st.NightEnd) {
		if st.NightMin > f.nightMin {
			st.NightLeak = true
			st.NightMinLast = st.NightMin
		}
		st.NightN = 0
	}
	ref := st.LastZeroHour
	if ref.IsZero() {
		ref = st.First
	}
	noZero := t1.Sub(ref)
	zeroLeak := f.zeroIn > 0 && noZero > f.zeroIn
	c.Active = st.NightLeak || zeroLeak
	c.Level = f.r.level
	c.Values["hours_without_zero_flow"] = noZero.Hours()
	if st.NightLeak {
		c.Values["night_min_lph"] = st.NightMinLast
		c.Values["night_limit_lph"] = f.nightMin
		c.Info["reason"] = "night_min_flow"
	}
	if zeroLeak {
		c.Info["reason"] = "no_zero_flow_hour"
	}
}

func (f *flowEval) tick(time.Time) []condition { return nil }

func (f *flowEval) save() ([]byte, error) { f.chg = false; return json.Marshal(f.state) }
func (f *flowEval) load(b []byte) error   { return json.Unmarshal(b, &f.state) }
func (f *flowEval) dirty() bool           { return f.chg }
