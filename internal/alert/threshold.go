package alert

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

func init() {
	register(KindThreshold, kindSpec{level: LevelWarnung, check: checkThreshold,
		build: func(x env, r *rule) (evaluator, error) {
			c := r.cfg
			return &thresholdEval{env: x, r: r, q: measurement.Quantity(c.Quantity), bands: ruleBands(c, r.level), below: c.Direction == "below", window: c.Window, series: map[string]*series{}}, nil
		}})
	register(KindCO2, kindSpec{level: LevelWarnung, build: func(x env, r *rule) (evaluator, error) {
		c := r.cfg
		bands := ruleBands(c, r.level)
		if c.On == nil && len(c.Bands) == 0 {
			// UBA: above 1000 ppm ventilate, above 2000 ppm unacceptable.
			bands = []bandL{{1000, 800, LevelWarnung}, {2000, 1800, LevelAlarm}}
		}
		w := c.Window
		if w == 0 {
			w = 5 * time.Minute
		}
		return &thresholdEval{env: x, r: r, q: measurement.CO2, bands: bands, window: w, series: map[string]*series{}}, nil
	}})
	register(KindRate, kindSpec{level: LevelWarnung, check: checkThreshold,
		build: func(x env, r *rule) (evaluator, error) {
			c := r.cfg
			return &thresholdEval{env: x, r: r, q: measurement.Quantity(c.Quantity), bands: ruleBands(c, r.level), below: c.Direction == "below", window: cmp(c.Window, time.Hour), rate: true, series: map[string]*series{}}, nil
		}})
}

func checkThreshold(p string, r RuleConfig) []error {
	var errs []error
	if r.Quantity == "" {
		errs = append(errs, fmt.Errorf("%s.quantity: required", p))
	}
	if (r.On == nil) == (len(r.Bands) == 0) {
		errs = append(errs, fmt.Errorf("%s: give either on/off or bands", p))
	}
	return errs
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
	env    env
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
		v, ok := t.value(s, m)
		if !ok {
			continue
		}
		s.band = nextBand(t.bands, t.below, s.band, v)
		c := condition{Subject: subj, Labels: t.env.labels(t.r, &d, ""), At: m.Time, Value: v, Active: s.band >= 0,
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

// value adds m to the series' window and returns what is judged: the
// window mean, or the slope for a rate rule (not yet known: false).
func (t *thresholdEval) value(s *series, m measurement.Measurement) (float64, bool) {
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
			return 0, false
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
	return v, true
}

func (t *thresholdEval) tick(time.Time) []condition { return nil }

// takeState carries the series of a threshold evaluator whose parameters
// changed over to t, each in the band of the same level.
func (t *thresholdEval) takeState(f *thresholdEval) error {
	if t.q != f.q || t.rate != f.rate || t.below != f.below {
		return errors.New("quantity or direction changed")
	}
	for k, s := range f.series {
		// Points outside a shorter window drop out with the next reading.
		t.series[k] = &series{pts: slices.Clone(s.pts), band: sameLevelBand(f.bands, t.bands, s.band)}
	}
	return nil
}
