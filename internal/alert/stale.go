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
type staleEval struct {
	env    env
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
	return []condition{{Subject: d.EUI, Labels: s.env.labels(s.r, &d, ""), At: last, Active: false}}
}

func (s *staleEval) tick(now time.Time) []condition {
	if s.st.Start.IsZero() {
		s.st.Start = now
		s.chg = true
	}
	var out []condition
	for _, d := range s.env.devices() {
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
		c := condition{Subject: d.EUI, Labels: s.env.labels(s.r, &d, ""), At: now, Active: true, Level: s.r.level,
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
