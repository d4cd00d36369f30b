package alert

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/alert/notify"
)

// ActionUpdate is an outcome of one action target, named by its ID: a
// local downlink's from the network layer, a remote action's from the
// peer outbox. State is one of the notify.Action* states.
type ActionUpdate struct {
	ID     string
	State  string
	Reason string
	At     time.Time
}

// defaultActionExpiry is how long an action is tried when the rule does
// not say.
const defaultActionExpiry = time.Hour

// actionUpdateQueue bounds the outcomes waiting for Run.
const actionUpdateQueue = 1024

type actionMetrics struct {
	outcomes *prometheus.CounterVec
	dropped  prometheus.Counter
}

func newActionMetrics(reg prometheus.Registerer) actionMetrics {
	m := actionMetrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loraedge_alert_action_outcomes_total",
			Help: "Outcomes of alert action targets recorded on their alerts, by state."}, []string{"state"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "loraedge_alert_action_updates_dropped_total",
			Help: "Action outcomes dropped because the engine's queue for them was full."}),
	}
	if reg != nil {
		reg.MustRegister(m.outcomes, m.dropped)
	}
	return m
}

// ActionOutcome queues an action target's outcome for Run; it never
// blocks (it is called on the network loop). A full queue drops it and
// counts it.
func (e *Engine) ActionOutcome(u ActionUpdate) {
	select {
	case e.updates <- u:
	default:
		e.am.dropped.Inc()
		e.log.Warn("action outcome dropped: queue full", "id", u.ID, "state", u.State)
	}
}

// applyActionUpdate records an outcome on the alert whose target it names
// and saves the alert; outcomes after a final one are ignored.
func (e *Engine) applyActionUpdate(u ActionUpdate) {
	if u.ID == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, a := range e.alerts {
		for i := range a.Actions {
			t := &a.Actions[i]
			if t.ID != u.ID || t.Final() {
				continue
			}
			if t.State == u.State && t.Reason == u.Reason {
				return
			}
			t.State, t.Reason, t.At = u.State, u.Reason, u.At
			a.ActionDone = actionSummary(a.Actions)
			e.am.outcomes.WithLabelValues(u.State).Inc()
			e.log.Info("alert action outcome", "alert_id", id, "dev_eui", t.Device, "command", t.Command,
				"peer", t.Peer, "state", t.State, "reason", t.Reason)
			e.markDirty(id, true)
			if t.Final() && (a.State == StateFiring || a.State == StateAcknowledged) {
				// Whether the valve closed matters to whoever got the
				// alert: tell them at once.
				a.LevelChanged = true
				e.dispatch(e.now())
			}
			e.persistDirty(false)
			return
		}
	}
}

// actionSummary is the ActionDone text of the targets.
func actionSummary(ts []notify.ActionTarget) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Device + ":" + t.Command + ":" + t.State
	}
	return strings.Join(parts, ",")
}

// actionOutcomeGrace is how long past its action's expiry a local target
// may still wait for its outcome: the network layer drops an expired item
// within seconds and reports it.
const actionOutcomeGrace = time.Minute

// endUnreported ends, at a start, the local targets still waiting well past
// their action's expiry: the network layer reported them by then, but the
// report was lost with the process (outcomes wait in memory until applied).
// Targets within their expiry keep waiting: their downlink survived the
// restart in the network layer's queue.
func (e *Engine) endUnreported(now time.Time) {
	for id, a := range e.alerts {
		expiry := defaultActionExpiry
		if r := e.ruleByName(a.Rule); r != nil && r.cfg.Action != nil {
			expiry = r.cfg.Action.expiry()
		}
		changed := false
		for i := range a.Actions {
			t := &a.Actions[i]
			if t.Peer != "" || t.ID == "" || t.Final() || !now.After(t.At.Add(expiry+actionOutcomeGrace)) {
				continue
			}
			t.State, t.Reason, t.At = notify.ActionExpired, "no outcome reported by the action's expiry", now
			changed = true
		}
		if changed {
			a.ActionDone = actionSummary(a.Actions)
			e.markDirty(id, true)
		}
	}
}

// expiry is the action's configured expiry or the default.
func (a *ActionConfig) expiry() time.Duration {
	if a.Expiry > 0 {
		return a.Expiry
	}
	return defaultActionExpiry
}
