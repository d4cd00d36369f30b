package alert

import (
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

func init() { register(KindBattery, kindSpec{level: LevelInfo, build: newBatteryEval}) }

// newBatteryEval: low voltage, low percent (15 % when neither is set) and
// the low_battery flag, each a part of one rule.
func newBatteryEval(x env, r *rule) (evaluator, error) {
	c := r.cfg
	var subs []evaluator
	if c.VoltageBelow > 0 {
		subs = append(subs, &thresholdEval{env: x, r: r, q: measurement.BatteryVoltage, below: true, series: map[string]*series{},
			bands: []bandL{{c.VoltageBelow, c.VoltageBelow + 0.1, r.level}}})
	}
	pct := c.PercentBelow
	if pct == 0 && c.VoltageBelow == 0 {
		pct = 15
	}
	if pct > 0 {
		subs = append(subs, &thresholdEval{env: x, r: r, q: measurement.BatteryPercent, below: true, series: map[string]*series{},
			bands: []bandL{{pct, pct + 5, r.level}}})
	}
	subs = append(subs, &flagEval{env: x, r: r, qs: []measurement.Quantity{measurement.LowBattery}})
	return multiEval(subs), nil
}

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
