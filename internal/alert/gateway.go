package alert

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

func init() {
	register(KindGateway, kindSpec{level: LevelInfo, build: func(x env, r *rule) (evaluator, error) {
		gw := x.gateways()
		if gw == nil {
			return nil, errors.New("gateway rule needs Options.Gateways")
		}
		if r.cfg.MissingTxAcks < 0 {
			return nil, errors.New("missing_tx_acks must not be negative")
		}
		missing := r.cfg.MissingTxAcks
		if missing == 0 {
			missing = 3
		}
		return &gatewayEval{gw: gw, r: r, after: cmp(r.cfg.OfflineAfter, 5*time.Minute), missing: uint64(missing)}, nil
	}})
}

// Conditions of the gateway rule, in the label "condition".
const (
	gatewayOffline      = "offline"
	gatewayTxAckMissing = "tx_ack_missing"
)

// gatewayEval: gateways not heard for OfflineAfter, and gateways that keep
// polling (PULL_DATA within OfflineAfter) but confirm none of their last
// MissingTxAcks downlinks: their downlinks go elsewhere (a spoofed
// PULL_DATA) or their radio fails.
type gatewayEval struct {
	gw      Gateways
	r       *rule
	after   time.Duration
	missing uint64
}

func (g *gatewayEval) observe(devInfo, []measurement.Measurement) []condition { return nil }

func (g *gatewayEval) tick(now time.Time) []condition {
	var out []condition
	for id, last := range g.gw.GatewaysLastSeen() {
		age := now.Sub(last)
		l := map[string]string{"rule": g.r.cfg.Name, "kind": g.r.cfg.Kind, "gateway_id": id, "condition": gatewayOffline}
		out = append(out, condition{Subject: id, Labels: l, At: now, Active: age > g.after, Level: g.r.level,
			Value: age.Minutes(), Values: map[string]float64{"age_min": age.Minutes()}})
	}
	if acks, ok := g.gw.(GatewayTxAcks); ok {
		for id, h := range acks.GatewaysTxAcks() {
			polling := now.Sub(h.LastPullData) <= g.after
			l := map[string]string{"rule": g.r.cfg.Name, "kind": g.r.cfg.Kind, "gateway_id": id, "condition": gatewayTxAckMissing}
			out = append(out, condition{Subject: id + "/tx_ack", Labels: l, At: now, Level: g.r.level,
				Active: polling && h.MissingRun >= g.missing, Value: float64(h.MissingRun),
				Values: map[string]float64{"missing_tx_acks": float64(h.MissingRun), "limit": float64(g.missing)}})
		}
	}
	slices.SortFunc(out, func(a, b condition) int { return strings.Compare(a.Subject, b.Subject) })
	return out
}
