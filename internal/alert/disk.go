package alert

import (
	"errors"
	"fmt"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

func init() {
	register(KindDisk, kindSpec{level: LevelInfo, build: newDiskEval, check: func(p string, r RuleConfig) []error {
		if r.MaxShare < 0 || r.MaxShare > 1 {
			return []error{fmt.Errorf("%s.max_share: must be in (0,1]", p)}
		}
		return nil
	}})
}

func newDiskEval(x env, r *rule) (evaluator, error) {
	du, budget := x.disk()
	if du == nil {
		return nil, errors.New("disk rule needs Options.Disk")
	}
	b := r.cfg.BudgetBytes
	if b == 0 {
		b = budget
	}
	if b <= 0 {
		return nil, errors.New("disk rule needs budget_bytes or a store disk budget")
	}
	return &diskEval{du: du, r: r, budget: b, share: cmpF(r.cfg.MaxShare, 0.9)}, nil
}

// diskEval: store usage against its budget, 5 points of hysteresis.
type diskEval struct {
	du     DiskUsage
	r      *rule
	budget int64
	share  float64
	on     bool
}

func (d *diskEval) observe(devInfo, []measurement.Measurement) []condition { return nil }

func (d *diskEval) tick(now time.Time) []condition {
	u := float64(d.du.DiskUsage()) / float64(d.budget)
	if u >= d.share {
		d.on = true
	} else if u < d.share-0.05 {
		d.on = false
	}
	l := map[string]string{"rule": d.r.cfg.Name, "kind": d.r.cfg.Kind}
	return []condition{{Subject: "store", Labels: l, At: now, Active: d.on, Level: d.r.level, Value: u,
		Values: map[string]float64{"used_share": u, "budget_bytes": float64(d.budget)}}}
}
