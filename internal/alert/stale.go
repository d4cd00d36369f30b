package alert

import (
	"encoding/json"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

func init() {
	register(KindStale, kindSpec{level: LevelWarnung, build: func(x env, r *rule) (evaluator, error) {
		f := r.cfg.Factor
		if f == 0 {
			f = 3
		}
		return &staleEval{env: x, r: r, factor: f, def: cmp(r.cfg.DefaultInterval, 15*time.Minute), st: staleState{Last: map[string]time.Time{}}}, nil
	}})
}

// staleEval: a device that sent nothing for Factor x its profile's uplink
// interval. Data coming back resolves the stale alert; it never clears any
// other alert.
//
// A device's silence is measured on the data's own clock (the newest time
// any device reported) while others still report, plus the time the whole
// network has been quiet on the engine's clock. Data runs behind the
// engine's clock by the pipeline's delay, which under the simulator's
// virtual clock (600 virtual seconds per real one) is many minutes on a
// loaded machine: comparing a device's data time with the engine's clock
// would call every device silent whenever the pipeline lags.
type staleEval struct {
	env    env
	r      *rule
	factor float64
	def    time.Duration
	st     staleState
	chg    bool
}

type staleState struct {
	// Start is when the rule began watching (engine clock).
	Start time.Time `json:"start"`
	// Last is each device's newest data time.
	Last map[string]time.Time `json:"last"`
	// First and Newest are the oldest and newest data time seen from any
	// device since Start: the data clock.
	First  time.Time `json:"first,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
	// Heard is when data last arrived from any device (engine clock).
	Heard time.Time `json:"heard,omitzero"`
	// StartData is the data clock at Start, from which a device that
	// never sent is silent.
	StartData time.Time `json:"start_data,omitzero"`
}

func (s *staleEval) limit(d devInfo) time.Duration {
	iv := d.Interval
	if iv == 0 {
		iv = s.def
	}
	return time.Duration(float64(iv) * s.factor)
}

func (s *staleEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	now := s.env.clock()
	last := s.st.Last[d.EUI]
	for _, m := range ms {
		// A time ahead of the engine's clock (a device clock that runs
		// fast) must not move the data clock past everyone else.
		t := m.Time
		if t.After(now) {
			t = now
		}
		if t.After(last) || rewound(last, t) {
			last = t
		}
	}
	if rewound(s.st.Newest, last) {
		// A replayed simulation: its clock starts over, so does the rule.
		s.st = staleState{Start: now, Last: map[string]time.Time{}}
	}
	s.st.Last[d.EUI] = last
	if s.st.First.IsZero() || last.Before(s.st.First) {
		s.st.First = last
	}
	if last.After(s.st.Newest) {
		s.st.Newest = last
	}
	s.st.Heard = now
	s.chg = true
	return []condition{{Subject: d.EUI, Labels: s.env.labels(s.r, &d, ""), At: last, Active: false}}
}

// age is how long device eui has been silent: on the data clock since its
// last data (or since the rule started, if it never sent), plus
// the network's quiet time on the engine's clock.
func (s *staleEval) age(eui string, now time.Time) (time.Duration, bool) {
	last, seen := s.st.Last[eui]
	if s.st.Heard.IsZero() {
		// Nothing heard since the rule started, or a state saved before
		// the data clock existed: the engine's clock alone.
		ref := s.st.Start
		if seen {
			ref = last
		}
		return now.Sub(ref), seen
	}
	ref := last
	if !seen {
		ref = s.st.StartData
		if ref.IsZero() {
			ref = s.st.First
		}
	}
	return max(0, s.st.Newest.Sub(ref)) + max(0, now.Sub(s.st.Heard)), seen
}

func (s *staleEval) tick(now time.Time) []condition {
	if s.st.Start.IsZero() {
		s.st.Start, s.st.StartData = now, s.st.Newest
		s.chg = true
	}
	var out []condition
	for _, d := range s.env.devices() {
		if !s.r.selects(d) {
			continue
		}
		age, seen := s.age(d.EUI, now)
		lim := s.limit(d)
		if age <= lim {
			continue
		}
		c := condition{Subject: d.EUI, Labels: s.env.labels(s.r, &d, ""), At: now, Active: true, Level: s.r.level,
			Value: age.Minutes(), Values: map[string]float64{"age_min": age.Minutes(), "limit_min": lim.Minutes()},
			Info: map[string]string{}}
		if seen {
			c.Info["last_seen"] = s.st.Last[d.EUI].Format(time.RFC3339)
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
