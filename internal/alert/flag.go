package alert

import (
	"fmt"
	"slices"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

func init() {
	register(KindFlag, kindSpec{level: LevelWarnung, build: newFlagEval, check: func(p string, r RuleConfig) []error {
		var errs []error
		for _, q := range r.Quantities {
			if !measurement.Known(measurement.Quantity(q)) {
				errs = append(errs, fmt.Errorf("%s.quantities: unknown quantity %q", p, q))
			}
		}
		return errs
	}})
}

func newFlagEval(x env, r *rule) (evaluator, error) {
	qs := []measurement.Quantity{measurement.LeakAlarm, measurement.BurstAlarm, measurement.BackflowAlarm, measurement.DryAlarm, measurement.TamperAlarm}
	if len(r.cfg.Quantities) > 0 {
		qs = nil
		for _, q := range r.cfg.Quantities {
			qs = append(qs, measurement.Quantity(q))
		}
	}
	return &flagEval{env: x, r: r, qs: qs}, nil
}

// flagEval: meter alarm flags, active while the quantity is 1.
type flagEval struct {
	env env
	r   *rule
	qs  []measurement.Quantity
}

func (f *flagEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	var out []condition
	for _, m := range ms {
		if !slices.Contains(f.qs, m.Quantity) {
			continue
		}
		c := condition{Subject: d.EUI + ":" + string(m.Quantity), Labels: f.env.labels(f.r, &d, ""), At: m.Time,
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
