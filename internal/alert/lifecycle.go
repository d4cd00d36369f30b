package alert

import (
	"errors"
	"fmt"
	"github.com/loraedge/loraedge/internal/alert/notify"
	"slices"
	"strings"
	"time"
)

// condition is what a rule says about one subject.
type condition struct {
	Subject string
	Labels  map[string]string
	Active  bool
	// Hold updates details of an existing alert without changing its state
	// (e.g. "data missing" on an ice warning: never an all-clear).
	Hold   bool
	Level  Level
	Value  float64
	Values map[string]float64
	Info   map[string]string
	At     time.Time
}

// apply moves an alert through its lifecycle.
func (e *Engine) apply(r *rule, c condition) {
	id := r.cfg.Name + "/" + c.Subject
	a := e.alerts[id]
	if c.Hold {
		if a != nil && a.State != StateResolved {
			for k, v := range c.Info {
				if a.Info == nil {
					a.Info = map[string]string{}
				}
				a.Info[k] = v
			}
			e.markDirty(id, false)
		}
		return
	}
	if !c.Active {
		if a == nil || a.State == StateResolved {
			return
		}
		if a.State == StatePending {
			delete(e.alerts, id)
			e.dirty[id] = true
			return
		}
		a.State = StateResolved
		a.ResolvedAt = c.At
		a.ObservedAt = c.At
		a.Value = c.Value
		mergeDetails(a, c)
		e.dirty[id] = true
		e.log.Info("alert resolved", "alert_id", id, "at", c.At)
		return
	}
	urgent := false
	if a == nil || a.State == StateResolved {
		a = &Alert{ID: id, Rule: r.cfg.Name, Kind: r.cfg.Kind, State: StatePending, ActiveSince: c.At, Level: c.Level}
		e.alerts[id] = a
		urgent = true
	}
	a.Labels = c.Labels
	a.Labels["level"] = c.Level.String()
	if (a.State == StateFiring || a.State == StateAcknowledged) && c.Level != a.Level {
		if c.Level > a.Level && a.State == StateAcknowledged {
			// A higher level needs a new acknowledgement.
			a.State = StateFiring
			a.AckBy, a.AckAt = "", time.Time{}
			a.Escalated = false
			a.FiringSince = c.At
		}
		a.LevelChanged = true
		urgent = true
	}
	a.Level = c.Level
	a.Value = c.Value
	a.ObservedAt = c.At
	mergeDetails(a, c)
	if a.State == StatePending && c.At.Sub(a.ActiveSince) >= r.cfg.For {
		a.State = StateFiring
		a.FiringSince = c.At
		e.log.Info("alert firing", "alert_id", id, "level", a.Level.String(), "at", c.At)
		e.runAction(r, a)
		urgent = true
	}
	e.markDirty(id, urgent)
}

// markDirty records that alert id must be saved: urgent changes (state,
// level, notifications) at the end of this evaluation, value updates of an
// unchanged alert with the next tick, to spare the flash one fsync per
// uplink and alert.
func (e *Engine) markDirty(id string, urgent bool) {
	e.dirty[id] = e.dirty[id] || urgent
}

func mergeDetails(a *Alert, c condition) {
	if c.Values != nil {
		a.Values = c.Values
	}
	if c.Info != nil {
		a.Info = c.Info
	}
}

// runAction queues the rule's downlink once per firing.
func (e *Engine) runAction(r *rule, a *Alert) {
	act := r.cfg.Action
	if act == nil || a.ActionDone != "" {
		return
	}
	var targets []devInfo
	for _, d := range e.env.devices() {
		switch {
		case len(act.Devices) > 0:
			if slices.ContainsFunc(act.Devices, func(x string) bool { return strings.EqualFold(x, d.EUI) }) {
				targets = append(targets, d)
			}
		case d.Dev.Profile == act.Profile && d.Dev.Site == a.Labels["site"]:
			targets = append(targets, d)
		}
	}
	now := e.now()
	var done []notify.ActionTarget
	for _, d := range targets {
		t := notify.ActionTarget{Device: d.EUI, Command: act.Command, State: notify.ActionQueued, At: now}
		res, err := e.queueDownlink(d, act)
		if err != nil {
			e.log.Error("alert action", "alert_id", a.ID, "dev_eui", d.EUI, "command", act.Command, "err", err)
			t.State, t.Reason = notify.ActionFailed, err.Error()
		} else {
			e.log.Info("alert action queued", "alert_id", a.ID, "dev_eui", d.EUI, "command", act.Command, "downlink_id", res)
			t.ID = res
		}
		e.am.outcomes.WithLabelValues(t.State).Inc()
		done = append(done, t)
	}
	done = append(done, e.runRemoteActions(a, act, targets, now)...)
	a.Actions = done
	if len(done) == 0 {
		a.ActionDone = act.Command + ":no target"
		return
	}
	a.ActionDone = actionSummary(done)
}

// queueDownlink queues the action's command for a local device; it is not
// sent after the action's expiry (a valve's close must not come a day late).
func (e *Engine) queueDownlink(d devInfo, act *ActionConfig) (string, error) {
	if e.opts.Profiles == nil || e.opts.Downlinks == nil {
		return "", errors.New("no profiles or downlink queue wired")
	}
	dl, err := e.opts.Profiles.Downlink(d.Dev.Profile, act.Command, act.Args)
	if err != nil {
		return "", fmt.Errorf("build downlink: %w", err)
	}
	return e.opts.Downlinks.EnqueueDownlinkExpiring(d.Dev.DevEUI, dl.FPort, dl.Payload, act.Confirmed || dl.Confirmed, act.expiry())
}
