package alert

import (
	"errors"
	"fmt"
	"time"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/site"
)

type inhibitRule struct {
	src, dst Level
	equal    []string
}

type rule struct {
	cfg RuleConfig
	// src is the rule as configured; cfg may carry kind defaults an
	// evaluator filled in. Reload compares src.
	src      RuleConfig
	level    Level
	recv     []string
	esc      []string
	repeat   time.Duration
	escAfter time.Duration
	eval     evaluator
}

// built is everything the engine derives from its configuration: New
// installs it, Reload swaps it in.
type built struct {
	cfg     Config
	loc     *time.Location
	sites   map[string]site.Site
	recv    map[string]ReceiverConfig
	inhibit []inhibitRule
	rules   []*rule
}

// notifySettings is what the outbox follows of the configuration.
func (b *built) notifySettings() notify.Settings {
	return notify.Settings{Receivers: b.cfg.Receivers, Language: b.cfg.Language, Location: b.loc,
		RetryMin: b.cfg.RetryMin, RetryMax: b.cfg.RetryMax}
}

// build derives the engine's settings and fresh rules (evaluators without
// state) from a validated cfg with defaults. It reads only e.opts, so it
// may run without e.mu. Every problem is reported.
func (e *Engine) build(cfg Config, sites []site.Site) (*built, error) {
	b := &built{cfg: cfg, sites: map[string]site.Site{}, recv: map[string]ReceiverConfig{}}
	var errs []error
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		errs = append(errs, fmt.Errorf("alert timezone: %w", err))
	}
	b.loc = loc
	for _, s := range sites {
		b.sites[s.ID] = s
	}
	for _, r := range cfg.Receivers {
		if r.Type == "mqtt" && e.opts.MQTT == nil {
			errs = append(errs, fmt.Errorf("alert receiver %q: mqtt needs a publisher", r.Name))
		}
		b.recv[r.Name] = r
	}
	if len(cfg.Inhibit) == 0 {
		b.inhibit = []inhibitRule{{src: LevelWarnung, dst: LevelVorwarnung, equal: []string{"section"}}}
	}
	for _, in := range cfg.Inhibit {
		s, _ := ParseLevel(in.SourceMin)
		d, _ := ParseLevel(in.TargetMax)
		b.inhibit = append(b.inhibit, inhibitRule{src: s, dst: d, equal: in.Equal})
	}
	for _, rc := range cfg.Rules {
		r, err := e.newRule(cfg, rc)
		if err != nil {
			errs = append(errs, fmt.Errorf("alert rule %q: %w", rc.Name, err))
			continue
		}
		b.rules = append(b.rules, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return b, nil
}

func (e *Engine) newRule(cfg Config, rc RuleConfig) (*rule, error) {
	r := &rule{cfg: rc, src: rc, recv: rc.Receivers, esc: rc.EscalateTo, repeat: rc.RepeatInterval, escAfter: rc.EscalateAfter}
	if len(r.recv) == 0 {
		r.recv = cfg.DefaultReceivers
	}
	if r.repeat == 0 {
		r.repeat = cfg.RepeatInterval
	}
	if r.escAfter == 0 {
		r.escAfter = cfg.EscalateAfter
	}
	r.level = defaultLevel(rc.Kind)
	if rc.Level != "" {
		r.level, _ = ParseLevel(rc.Level)
	}
	ev, err := newEvaluator(e.env, r)
	if err != nil {
		return nil, err
	}
	r.eval = ev
	return r, nil
}
