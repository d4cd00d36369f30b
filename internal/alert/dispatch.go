package alert

import (
	"sort"
	"time"

	"github.com/loraedge/loraedge/internal/alert/notify"
)

// dispatch decides which notifications are due at now, groups them and
// puts them into the durable queue.
func (e *Engine) dispatch(now time.Time) {
	// Silences and inhibition first.
	for _, a := range e.alerts {
		a.Silenced = false
		for _, s := range e.silences {
			if s.Active(now) && s.Matches(a.Labels) {
				a.Silenced = true
				break
			}
		}
		a.Inhibited = e.inhibited(a)
	}
	b := &batch{e: e, groups: map[batchKey][]notify.Note{}}
	waitFrom := e.groupWaitFrom()
	ids := make([]string, 0, len(e.alerts))
	for id := range e.alerts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := e.alerts[id]
		r := e.ruleByName(a.Rule)
		if r == nil {
			// Retired: its rule is gone (see Reload). No notifications;
			// listed for the retention like any resolved alert.
			if a.State == StateResolved && now.Sub(a.ResolvedAt) > e.cfg.ResolvedRetention {
				delete(e.alerts, id)
				e.dirty[id] = true
			}
			continue
		}
		switch a.State {
		case StateFiring:
			e.dueFiring(r, a, now, waitFrom, b)
		case StateAcknowledged:
			if a.LevelChanged && !a.Silenced && !a.Inhibited {
				a.LevelChanged = false
				a.Notified++
				a.LastNotified = now
				b.add(r.recv, notify.Note{Kind: "firing", Alert: a.Clone()})
				e.dirty[id] = true
			}
		case StateResolved:
			e.dueResolved(r, a, now, b)
		}
	}
	for _, k := range b.keys {
		if err := e.out.Enqueue(k.recv, k.group, b.groups[k], now); err != nil {
			e.log.Error("queue notification", "receiver", k.recv, "err", err)
		}
	}
	e.persistDirty(false)
}

type batchKey struct{ recv, group string }

// batch collects the notes due in one evaluation by receiver and group, in
// the order they became due: one group for one receiver is one message.
type batch struct {
	e      *Engine
	groups map[batchKey][]notify.Note
	keys   []batchKey
}

func (b *batch) add(recvs []string, n notify.Note) {
	g := b.e.groupKey(&n.Alert)
	for _, rc := range recvs {
		if n.Kind == "resolved" && !b.e.recv[rc].WantsResolved() {
			continue
		}
		k := batchKey{rc, g}
		if _, ok := b.groups[k]; !ok {
			b.keys = append(b.keys, k)
		}
		b.groups[k] = append(b.groups[k], n)
	}
}

// groupWaitFrom returns, per group, when its oldest not yet notified alert
// started firing: group_wait runs per group, as in Alertmanager.
func (e *Engine) groupWaitFrom() map[string]time.Time {
	waitFrom := map[string]time.Time{}
	for _, a := range e.alerts {
		if a.State == StateFiring && a.Notified == 0 && !a.Silenced && !a.Inhibited {
			g := e.groupKey(a)
			if w, ok := waitFrom[g]; !ok || a.FiringSince.Before(w) {
				waitFrom[g] = a.FiringSince
			}
		}
	}
	return waitFrom
}

// dueFiring adds the first message, a level change, a repeat or the
// escalation of a firing alert when due.
func (e *Engine) dueFiring(r *rule, a *Alert, now time.Time, waitFrom map[string]time.Time, b *batch) {
	if a.Silenced || a.Inhibited {
		return
	}
	kind := ""
	switch {
	case a.Notified == 0 && now.Sub(waitFrom[e.groupKey(a)]) < e.cfg.GroupWait:
		// Wait for more alerts of the group (evaluated again on
		// every tick), so a route's stations arrive in one message.
	case a.Notified == 0 || a.LevelChanged:
		kind = "firing"
	case now.Sub(a.LastNotified) >= r.repeat:
		kind = "repeat"
	}
	if kind != "" {
		a.Notified++
		a.LastNotified = now
		a.LevelChanged = false
		b.add(r.recv, notify.Note{Kind: kind, Alert: a.Clone()})
		if a.Escalated {
			b.add(r.esc, notify.Note{Kind: kind, Alert: a.Clone()})
		}
		e.dirty[a.ID] = true
	}
	if !a.Escalated && len(r.esc) > 0 && now.Sub(a.FiringSince) >= r.escAfter {
		a.Escalated = true
		b.add(r.esc, notify.Note{Kind: "escalation", Alert: a.Clone()})
		e.dirty[a.ID] = true
	}
}

// dueResolved adds the all-clear once and drops the alert after the
// retention.
func (e *Engine) dueResolved(r *rule, a *Alert, now time.Time, b *batch) {
	if a.Notified > 0 && a.Info["resolved_sent"] == "" {
		if !a.Silenced {
			b.add(r.recv, notify.Note{Kind: "resolved", Alert: a.Clone()})
			if a.Escalated {
				b.add(r.esc, notify.Note{Kind: "resolved", Alert: a.Clone()})
			}
		}
		if a.Info == nil {
			a.Info = map[string]string{}
		}
		a.Info["resolved_sent"] = "1"
		e.dirty[a.ID] = true
	}
	if now.Sub(a.ResolvedAt) > e.cfg.ResolvedRetention {
		delete(e.alerts, a.ID)
		e.dirty[a.ID] = true
	}
}

func (e *Engine) ruleByName(n string) *rule {
	for _, r := range e.rules {
		if r.cfg.Name == n {
			return r
		}
	}
	return nil
}

func (e *Engine) inhibited(a *Alert) bool {
	if a.State == StateResolved {
		return false
	}
	for _, in := range e.inhibit {
		if a.Level > in.dst {
			continue
		}
		for _, b := range e.alerts {
			if b == a || (b.State != StateFiring && b.State != StateAcknowledged) || b.Level < in.src || b.Level <= a.Level {
				continue
			}
			eq := len(in.equal) > 0
			for _, l := range in.equal {
				if a.Labels[l] == "" || a.Labels[l] != b.Labels[l] {
					eq = false
					break
				}
			}
			if eq {
				return true
			}
		}
	}
	return false
}

func (e *Engine) groupKey(a *Alert) string {
	switch e.cfg.GroupBy {
	case "none":
		return a.ID
	case "route":
		if r := a.Labels["route"]; r != "" {
			return "route:" + r
		}
	}
	if s := a.Labels["site"]; s != "" {
		return "site:" + s
	}
	if g := a.Labels["gateway_id"]; g != "" {
		return "gateway:" + g
	}
	return "rule:" + a.Rule
}
