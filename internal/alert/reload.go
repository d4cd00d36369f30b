package alert

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/loraedge/loraedge/internal/site"
)

// CheckConfig reports every problem Reload would refuse cfg for, changing
// nothing. The daemon calls it before it reloads anything else, so that a
// SIGHUP with a bad alert section leaves devices and profiles alone too.
func (e *Engine) CheckConfig(cfg Config) error {
	_, err := e.prepare(cfg, nil)
	return err
}

func (e *Engine) prepare(cfg Config, sites []site.Site) (*built, error) {
	if err := cfg.Validate(); err != nil {
		// Building rules from an invalid configuration would only repeat
		// these problems in other words.
		return nil, err
	}
	return e.build(withDefaults(cfg), sites)
}

// Reload applies a new alerting configuration (and site list) to the
// running engine, safely with respect to Run, Observe, Tick and the API:
// the swap happens under the engine's lock, so an evaluation sees either
// the old or the new rules, never a mix. cfg is validated and every rule
// built first; a bad configuration changes nothing and the error names
// every problem.
//
// What survives:
//   - Queued measurement batches and queued notifications: neither the
//     evaluation queue nor the durable notification queue is touched.
//     Notifications for a receiver that no longer exists are dropped when
//     their turn comes (logged), as after a restart.
//   - Alerts of a kept rule (same name and kind) keep their state,
//     notification count and acknowledgement: a firing alert is not
//     announced again. Repeats and escalations follow the new settings.
//   - The evaluator state of a kept rule: when only routing changed
//     (receivers, escalation, repeat, for, action, select) the running
//     evaluator goes on as is; when its parameters changed (thresholds, ice
//     tuning, ...) the new evaluator takes over the old one's state (ice
//     trackers with their hysteresis and Entwarnung hold, leak and air
//     counters, last uplinks of stale rules, threshold series).
//
// Alerts of a removed rule, or of a rule whose kind changed, are resolved
// quietly: state resolved with Info["resolved_by"] = "config_reload", no
// all-clear is sent (their receivers may be gone as well), they stay in
// List for resolved_retention and then go away; pending ones are dropped.
// The rule's persisted evaluator state is deleted.
//
// queue_size cannot change at run time (the queue is allocated once; the
// old size is kept and a warning logged); eval_interval does.
func (e *Engine) Reload(cfg Config, sites []site.Site) error {
	b, err := e.prepare(cfg, sites)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if b.cfg.QueueSize != e.cfg.QueueSize {
		e.log.Warn("alert.queue_size changes after a restart", "running", e.cfg.QueueSize, "configured", b.cfg.QueueSize)
		b.cfg.QueueSize = e.cfg.QueueSize
	}
	var kept, changed, added []string
	rules := make([]*rule, 0, len(b.rules))
	for _, nr := range b.rules {
		old := e.ruleByName(nr.src.Name)
		switch {
		case old == nil || old.src.Kind != nr.src.Kind:
			added = append(added, nr.src.Name)
			rules = append(rules, nr)
		case sameEvaluator(old.src, nr.src):
			// The old evaluator goes on; it points at old, so old takes the
			// new settings in place.
			ev := old.eval
			*old = *nr
			old.eval = ev
			kept = append(kept, nr.src.Name)
			rules = append(rules, old)
		default:
			e.takeOver(old, nr)
			changed = append(changed, nr.src.Name)
			rules = append(rules, nr)
		}
	}
	var removed []string
	for _, old := range e.rules {
		if i := slices.IndexFunc(rules, func(r *rule) bool { return r.src.Name == old.src.Name }); i < 0 || rules[i].src.Kind != old.src.Kind {
			removed = append(removed, old.src.Name)
			// Its state must not come back into a rule of that name added
			// now (another kind) or later.
			if err := e.kv.Delete([]byte("e/" + old.src.Name)); err != nil {
				e.log.Error("delete rule state", "rule", old.src.Name, "err", err)
			}
		}
	}
	oldInterval := e.cfg.EvalInterval
	e.rules, e.env.sites, e.inhibit, e.env.loc = rules, b.sites, b.inhibit, b.loc
	e.recv, e.cfg = b.recv, b.cfg
	e.out.Configure(b.notifySettings())
	if e.cfg.EvalInterval != oldInterval {
		select {
		case <-e.retick: // an older reload's interval Run has not taken yet
		default:
		}
		e.retick <- e.cfg.EvalInterval
	}
	retired := e.retireOrphans(e.now())
	e.persistDirty(false)
	if err := e.saveEvalState(); err != nil {
		e.log.Error("save alert state", "err", err)
	}
	e.log.Info("alert configuration reloaded", "rules", len(rules), "kept", kept, "changed", changed, "added", added,
		"removed", removed, "alerts_retired", retired, "receivers", len(e.recv))
	return nil
}

// sameEvaluator reports whether two configurations of a rule evaluate the
// same way; the fields left out are read from the rule on every use.
func sameEvaluator(a, b RuleConfig) bool {
	strip := func(r RuleConfig) RuleConfig {
		r.Select, r.Receivers, r.EscalateTo, r.EscalateAfter, r.RepeatInterval, r.For, r.Action = Select{}, nil, nil, 0, 0, 0, nil
		return r
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

// takeOver moves the state of old's evaluator into nr's, built from the
// changed parameters of the same rule. Persisted evaluators go through
// their saved form, exactly as across a restart; the new state is written
// at once, so a crash right after the reload restores it too.
func (e *Engine) takeOver(old, nr *rule) {
	if err := moveState(old.eval, nr.eval); err != nil {
		e.log.Warn("rule state not carried over, starting fresh", "rule", nr.src.Name, "err", err)
		return
	}
	if p, ok := nr.eval.(persister); ok {
		b, err := p.save()
		if err == nil {
			err = e.kv.Put([]byte("e/"+nr.src.Name), b)
		}
		if err != nil {
			e.log.Error("save rule state", "rule", nr.src.Name, "err", err)
		}
	}
}

func moveState(from, to evaluator) error {
	switch f := from.(type) {
	case persister:
		t, ok := to.(persister)
		if !ok {
			return fmt.Errorf("%T cannot take %T", to, from)
		}
		b, err := f.save()
		if err != nil {
			return err
		}
		return t.load(b)
	case *thresholdEval:
		t, ok := to.(*thresholdEval)
		if !ok {
			return errors.New("quantity or direction changed")
		}
		return t.takeState(f)
	case multiEval:
		t, ok := to.(multiEval)
		if !ok || len(t) != len(f) {
			return errors.New("parts changed")
		}
		var errs []error
		for i := range f {
			errs = append(errs, moveState(f[i], t[i]))
		}
		return errors.Join(errs...)
	case *diskEval:
		if t, ok := to.(*diskEval); ok {
			t.on = f.on
		}
	}
	// flag and gateway rules keep no state.
	return nil
}

// sameLevelBand maps a series' band to the new band of the same level, so
// an active threshold stays in hysteresis; -1 (none) when that level is
// gone, and the next reading decides afresh.
func sameLevelBand(from, to []bandL, cur int) int {
	if cur < 0 || cur >= len(from) {
		return -1
	}
	return slices.IndexFunc(to, func(b bandL) bool { return b.level == from[cur].level })
}

// retireOrphans resolves quietly the alerts whose rule is gone or now of
// another kind, and returns how many. Pending ones were never announced
// and are dropped.
func (e *Engine) retireOrphans(now time.Time) int {
	n := 0
	for id, a := range e.alerts {
		if r := e.ruleByName(a.Rule); r != nil && r.cfg.Kind == a.Kind {
			continue
		}
		switch a.State {
		case StateResolved:
			continue
		case StatePending:
			delete(e.alerts, id)
		default:
			a.State = StateResolved
			a.ResolvedAt = now
			a.LevelChanged = false
			if a.Info == nil {
				a.Info = map[string]string{}
			}
			a.Info["resolved_by"] = "config_reload"
			// Marked sent: nobody is told, the rule that routed it is gone.
			a.Info["resolved_sent"] = "1"
		}
		e.dirty[id] = true
		n++
		e.log.Info("alert retired: its rule was removed or changed kind", "alert_id", id, "rule", a.Rule)
	}
	return n
}
