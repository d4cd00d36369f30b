package alert

import (
	"errors"
	"slices"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

func init() {
	register(KindGateway, kindSpec{level: LevelInfo, build: func(x env, r *rule) (evaluator, error) {
		gw := x.gateways()
		if gw == nil {
			return nil, errors.New("gateway rule needs Options.Gateways")
		}
		return &gatewayEval{gw: gw, r: r, after: cmp(r.cfg.OfflineAfter, 5*time.Minute)}, nil
	}})
}

// gatewayEval: gateways not heard for OfflineAfter.
type gatewayEval struct {
	gw    Gateways
	r     *rule
	after time.Duration
}

func (g *gatewayEval) observe(devInfo, []measurement.Measurement) []condition { return nil }

func (g *gatewayEval) tick(now time.Time) []condition {
	var out []condition
	for id, last := range g.gw.GatewaysLastSeen() {
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
