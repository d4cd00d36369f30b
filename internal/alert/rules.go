package alert

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

// evaluator is the rule-kind specific part of a rule: it turns the
// measurements of one selected device, or the clock, into conditions.
type evaluator interface {
	observe(d devInfo, ms []measurement.Measurement) []condition
	tick(now time.Time) []condition
}

// persister is implemented by evaluators whose state must survive a
// restart (ice trackers, leak hours, exceedance counts, last uplinks).
type persister interface {
	save() ([]byte, error)
	load([]byte) error
	dirty() bool
}

func defaultLevel(kind string) Level {
	switch kind {
	case KindGateway, KindDisk, KindBattery:
		return LevelInfo
	case KindLeak, KindBurst:
		return LevelAlarm
	}
	return LevelWarnung
}

func newEvaluator(e *Engine, r *rule) (evaluator, error) {
	c := r.cfg
	dir := c.Direction == "below"
	switch c.Kind {
	case KindThreshold:
		return &thresholdEval{e: e, r: r, q: measurement.Quantity(c.Quantity), bands: ruleBands(c, r.level), below: dir, window: c.Window, series: map[string]*series{}}, nil
	case KindCO2:
		bands := ruleBands(c, r.level)
		if c.On == nil && len(c.Bands) == 0 {
			// UBA: above 1000 ppm ventilate, above 2000 ppm unacceptable.
			bands = []bandL{{1000, 800, LevelWarnung}, {2000, 1800, LevelAlarm}}
		}
		w := c.Window
		if w == 0 {
			w = 5 * time.Minute
		}
		return &thresholdEval{e: e, r: r, q: measurement.CO2, bands: bands, window: w, series: map[string]*series{}}, nil
	case KindRate:
		return &thresholdEval{e: e, r: r, q: measurement.Quantity(c.Quantity), bands: ruleBands(c, r.level), below: dir, window: cmp(c.Window, time.Hour), rate: true, series: map[string]*series{}}, nil
	case KindBattery:
		var subs []evaluator
		if c.VoltageBelow > 0 {
			subs = append(subs, &thresholdEval{e: e, r: r, q: measurement.BatteryVoltage, below: true, series: map[string]*series{},
				bands: []bandL{{c.VoltageBelow, c.VoltageBelow + 0.1, r.level}}})
		}
		pct := c.PercentBelow
		if pct == 0 && c.VoltageBelow == 0 {
			pct = 15
		}
		if pct > 0 {
			subs = append(subs, &thresholdEval{e: e, r: r, q: measurement.BatteryPercent, below: true, series: map[string]*series{},
				bands: []bandL{{pct, pct + 5, r.level}}})
		}
		subs = append(subs, &flagEval{e: e, r: r, qs: []measurement.Quantity{measurement.LowBattery}})
		return multiEval(subs), nil
	case KindFlag:
		qs := []measurement.Quantity{measurement.LeakAlarm, measurement.BurstAlarm, measurement.BackflowAlarm, measurement.DryAlarm, measurement.TamperAlarm}
		if len(c.Quantities) > 0 {
			qs = nil
			for _, q := range c.Quantities {
				qs = append(qs, measurement.Quantity(q))
			}
		}
		return &flagEval{e: e, r: r, qs: qs}, nil
	case KindBurst:
		share := c.Share
		if share == 0 {
			share = 0.2
		}
		on := share * c.NominalM3H * 1000 // l/h
		if r.cfg.For == 0 {
			r.cfg.For = 30 * time.Minute
		}
		return &flowEval{e: e, r: r, burstOn: on, pulseL: pulseLitres(c), state: map[string]*flowState{}}, nil
	case KindLeak:
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
		return &flowEval{e: e, r: r, leak: true, zeroIn: lz, nightFrom: nf, nightTo: nt, nightMin: nm, pulseL: pulseLitres(c), state: map[string]*flowState{}}, nil
	case KindAirQuality:
		return newAirEval(e, r), nil
	case KindStale:
		f := c.Factor
		if f == 0 {
			f = 3
		}
		return &staleEval{e: e, r: r, factor: f, def: cmp(c.DefaultInterval, 15*time.Minute), st: staleState{Last: map[string]time.Time{}}}, nil
	case KindGateway:
		if e.opts.Gateways == nil {
			return nil, fmt.Errorf("gateway rule needs Options.Gateways")
		}
		return &gatewayEval{e: e, r: r, after: cmp(c.OfflineAfter, 5*time.Minute)}, nil
	case KindDisk:
		if e.opts.Disk == nil {
			return nil, fmt.Errorf("disk rule needs Options.Disk")
		}
		b := c.BudgetBytes
		if b == 0 {
			b = e.opts.DiskBudget
		}
		if b <= 0 {
			return nil, fmt.Errorf("disk rule needs budget_bytes or a store disk budget")
		}
		return &diskEval{e: e, r: r, budget: b, share: cmpF(c.MaxShare, 0.9)}, nil
	case KindIce:
		return newIceEval(e, r)
	}
	return nil, fmt.Errorf("unknown kind %q", c.Kind)
}

// rewindLimit: data this much older than what a rule has seen means the
// clock was reset (a simulation replayed on the same data directory), not
// a late reading: the rule's state for that series starts over.
const rewindLimit = 6 * time.Hour

func rewound(last, t time.Time) bool { return !last.IsZero() && last.Sub(t) > rewindLimit }

func cmp(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func cmpF(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func pulseLitres(c RuleConfig) float64 { return cmpF(c.PulseLitres, 1) }

type bandL struct {
	on, off float64
	level   Level
}

func ruleBands(c RuleConfig, def Level) []bandL {
	if c.On != nil {
		off := *c.On
		if c.Off != nil {
			off = *c.Off
		}
		return []bandL{{*c.On, off, def}}
	}
	var out []bandL
	for _, b := range c.Bands {
		l, _ := ParseLevel(b.Level)
		out = append(out, bandL{b.On, b.Off, l})
	}
	slices.SortFunc(out, func(a, b bandL) int { return int(a.level - b.level) })
	return out
}

// nextBand applies hysteresis: rise to the most severe band whose On is
// passed; otherwise stay in a band while its Off is not passed back.
func nextBand(bands []bandL, below bool, cur int, v float64) int {
	passOn := func(b bandL) bool {
		if below {
			return v <= b.on
		}
		return v >= b.on
	}
	holds := func(b bandL) bool {
		if below {
			return v < b.off
		}
		return v > b.off
	}
	hi := -1
	for i, b := range bands {
		if passOn(b) {
			hi = i
		}
	}
	if hi > cur {
		return hi
	}
	for i := cur; i >= 0; i-- {
		if holds(bands[i]) {
			return i
		}
	}
	return -1
}

type point struct {
	T time.Time
	V float64
}

type series struct {
	pts  []point
	band int
}

// thresholdEval: a quantity's window mean (or slope for rate rules)
// against bands with hysteresis; one subject per device and channel.
type thresholdEval struct {
	e      *Engine
	r      *rule
	q      measurement.Quantity
	bands  []bandL
	below  bool
	window time.Duration
	rate   bool
	series map[string]*series
}

func (t *thresholdEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	var out []condition
	for _, m := range ms {
		if m.Quantity != t.q || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			continue
		}
		subj := d.EUI + ":" + string(m.Quantity)
		if m.Channel != 0 {
			subj += ":" + strconv.Itoa(m.Channel)
		}
		s := t.series[subj]
		if s == nil {
			s = &series{band: -1}
			t.series[subj] = s
		}
		if n := len(s.pts); n > 0 && rewound(s.pts[n-1].T, m.Time) {
			s.pts, s.band = nil, -1
		}
		if n := len(s.pts); n > 0 && !m.Time.After(s.pts[n-1].T) {
			continue // old or duplicate
		}
		s.pts = append(s.pts, point{m.Time, m.Value})
		cut := m.Time.Add(-t.window)
		i := 0
		for i < len(s.pts)-1 && !s.pts[i].T.After(cut) {
			i++
		}
		s.pts = s.pts[i:]
		v := m.Value
		if t.rate {
			if len(s.pts) < 2 || s.pts[len(s.pts)-1].T.Sub(s.pts[0].T) < t.window/2 {
				continue
			}
			a, b := s.pts[0], s.pts[len(s.pts)-1]
			v = (b.V - a.V) / b.T.Sub(a.T).Hours()
		} else if t.window > 0 {
			// The mean over the window; with one sample per interval longer
			// than the window this is the latest value.
			sum := 0.0
			for _, p := range s.pts {
				sum += p.V
			}
			v = sum / float64(len(s.pts))
		}
		s.band = nextBand(t.bands, t.below, s.band, v)
		c := condition{Subject: subj, Labels: t.e.labels(t.r, &d, ""), At: m.Time, Value: v, Active: s.band >= 0,
			Values: map[string]float64{"value": v, "latest": m.Value}}
		c.Labels["quantity"] = string(m.Quantity)
		if s.band >= 0 {
			c.Level = t.bands[s.band].level
			c.Values["on"] = t.bands[s.band].on
			c.Values["off"] = t.bands[s.band].off
		}
		out = append(out, c)
	}
	return out
}

func (t *thresholdEval) tick(time.Time) []condition { return nil }

// multiEval combines evaluators of one rule (battery).
type multiEval []evaluator

func (m multiEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	var out []condition
	for _, e := range m {
		out = append(out, e.observe(d, ms)...)
	}
	return out
}

func (m multiEval) tick(now time.Time) []condition {
	var out []condition
	for _, e := range m {
		out = append(out, e.tick(now)...)
	}
	return out
}

// flagEval: meter alarm flags, active while the quantity is 1.
type flagEval struct {
	e  *Engine
	r  *rule
	qs []measurement.Quantity
}

func (f *flagEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	var out []condition
	for _, m := range ms {
		if !slices.Contains(f.qs, m.Quantity) {
			continue
		}
		c := condition{Subject: d.EUI + ":" + string(m.Quantity), Labels: f.e.labels(f.r, &d, ""), At: m.Time,
			Value: m.Value, Active: m.Value >= 0.5, Level: f.r.level}
		c.Labels["quantity"] = string(m.Quantity)
		if f.r.cfg.Level == "" && (m.Quantity == measurement.LeakAlarm || m.Quantity == measurement.BurstAlarm) {
			c.Level = LevelAlarm
		}
		out = append(out, c)
	}
	return out
}

func (f *flagEval) tick(time.Time) []condition { return nil }

// staleEval: a device that sent nothing for Factor x its profile's uplink
// interval. Data coming back resolves the stale alert; it never clears any
// other alert.
type staleEval struct {
	e      *Engine
	r      *rule
	factor float64
	def    time.Duration
	st     staleState
	chg    bool
}

type staleState struct {
	Start time.Time            `json:"start"`
	Last  map[string]time.Time `json:"last"`
}

func (s *staleEval) limit(d devInfo) time.Duration {
	iv := d.Interval
	if iv == 0 {
		iv = s.def
	}
	return time.Duration(float64(iv) * s.factor)
}

func (s *staleEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	last := s.st.Last[d.EUI]
	for _, m := range ms {
		if m.Time.After(last) || rewound(last, m.Time) {
			last = m.Time
		}
	}
	s.st.Last[d.EUI] = last
	s.chg = true
	return []condition{{Subject: d.EUI, Labels: s.e.labels(s.r, &d, ""), At: last, Active: false}}
}

func (s *staleEval) tick(now time.Time) []condition {
	if s.st.Start.IsZero() {
		s.st.Start = now
		s.chg = true
	}
	var out []condition
	for _, d := range s.e.allDevices() {
		if !s.r.selects(d) {
			continue
		}
		last, seen := s.st.Last[d.EUI]
		ref := last
		if !seen {
			ref = s.st.Start
		}
		age := now.Sub(ref)
		lim := s.limit(d)
		if age <= lim {
			continue
		}
		c := condition{Subject: d.EUI, Labels: s.e.labels(s.r, &d, ""), At: now, Active: true, Level: s.r.level,
			Value: age.Minutes(), Values: map[string]float64{"age_min": age.Minutes(), "limit_min": lim.Minutes()},
			Info: map[string]string{}}
		if seen {
			c.Info["last_seen"] = last.Format(time.RFC3339)
		}
		out = append(out, c)
	}
	return out
}

func (s *staleEval) save() ([]byte, error) { s.chg = false; return json.Marshal(s.st) }
func (s *staleEval) load(b []byte) error {
	if err := json.Unmarshal(b, &s.st); err != nil {
		return err
	}
	if s.st.Last == nil {
		s.st.Last = map[string]time.Time{}
	}
	return nil
}
func (s *staleEval) dirty() bool { return s.chg }

// gatewayEval: gateways not heard for OfflineAfter.
type gatewayEval struct {
	e     *Engine
	r     *rule
	after time.Duration
}

func (g *gatewayEval) observe(devInfo, []measurement.Measurement) []condition { return nil }

func (g *gatewayEval) tick(now time.Time) []condition {
	var out []condition
	for id, last := range g.e.opts.Gateways.GatewaysLastSeen() {
		age := now.Sub(last)
		l := map[string]string{"rule": g.r.cfg.Name, "kind": g.r.cfg.Kind, "gateway_id": id}
		out = append(out, condition{Subject: id, Labels: l, At: now, Active: age > g.after, Level: g.r.level,
			Value: age.Minutes(), Values: map[string]float64{"age_min": age.Minutes()}})
	}
	slices.SortFunc(out, func(a, b condition) int {
		if a.Subject < b.Subject {
			return -1
		}
		return 1
	})
	return out
}

// diskEval: store usage against its budget, 5 points of hysteresis.
type diskEval struct {
	e      *Engine
	r      *rule
	budget int64
	share  float64
	on     bool
}

func (d *diskEval) observe(devInfo, []measurement.Measurement) []condition { return nil }

func (d *diskEval) tick(now time.Time) []condition {
	u := float64(d.e.opts.Disk.DiskUsage()) / float64(d.budget)
	if u >= d.share {
		d.on = true
	} else if u < d.share-0.05 {
		d.on = false
	}
	l := map[string]string{"rule": d.r.cfg.Name, "kind": d.r.cfg.Kind}
	return []condition{{Subject: "store", Labels: l, At: now, Active: d.on, Level: d.r.level, Value: u,
		Values: map[string]float64{"used_share": u, "budget_bytes": float64(d.budget)}}}
}
