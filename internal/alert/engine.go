package alert

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/ingest"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// KVStore gives the engine its durable namespaces; *store.Store has it.
type KVStore interface {
	KV(name string) *store.KV
}

// Devices is the device registry as the engine reads it.
type Devices interface {
	Get(eui lorawan.EUI64) (device.Device, bool)
	List() []device.Device
}

// Profiles looks up firmware profiles (uplink interval) and builds
// downlink payloads; *profile.Set has both.
type Profiles interface {
	Get(id string) (*profile.Profile, bool)
	Downlink(id, name string, args map[string]float64) (profile.Downlink, error)
}

// Downlinker queues an application downlink; *network.Server has it.
type Downlinker interface {
	EnqueueDownlink(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool) (string, error)
}

// DownlinkFunc adapts a function to Downlinker, so the composition root can
// hand the engine a closure over a network server built after it (the
// network layer needs ingest, ingest needs the engine as observer).
type DownlinkFunc func(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool) (string, error)

// EnqueueDownlink implements Downlinker.
func (f DownlinkFunc) EnqueueDownlink(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool) (string, error) {
	return f(devEUI, fport, payload, confirmed)
}

// Publisher publishes one MQTT message (internal/mqtt provides it).
type Publisher interface {
	Publish(ctx context.Context, topic string, payload []byte, retained bool) error
}

// Gateways reports when each gateway (EUI hex) was last heard, on the same
// clock as Options.Now.
type Gateways interface {
	GatewaysLastSeen() map[string]time.Time
}

// GatewaysFunc adapts a function to Gateways. For semtechudp, whose
// last-seen times are wall-clock, while a simulation evaluates on the
// virtual clock, return now() - time.Since(lastSeen) per gateway: gateway
// liveness is a real-time matter.
type GatewaysFunc func() map[string]time.Time

// GatewaysLastSeen implements Gateways.
func (f GatewaysFunc) GatewaysLastSeen() map[string]time.Time { return f() }

// DiskUsage reports the bytes the store uses; *store.Store has it.
type DiskUsage interface {
	DiskUsage() int64
}

// Options are the engine's dependencies. Store and Now are required.
type Options struct {
	Config    Config
	Store     KVStore
	Devices   Devices // nil: no device metadata, stale rules see only devices that sent data
	Sites     []site.Site
	Profiles  Profiles   // nil: no uplink intervals, no actions
	Downlinks Downlinker // nil: actions are logged as failed
	MQTT      Publisher  // required when an mqtt receiver is configured
	Gateways  Gateways   // for gateway rules
	Disk      DiskUsage  // for disk rules
	// DiskBudget is the default budget of disk rules (store.disk_budget).
	DiskBudget int64
	// Now is the evaluation clock: the simulator's virtual clock in
	// simulation, time.Now otherwise.
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	HTTPClient *http.Client
}

// Engine evaluates rules and owns alerts, silences and the notification
// queue. Observe is safe to call from any goroutine; the API methods and
// Reload too.
type Engine struct {
	cfg     Config
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	loc     *time.Location
	rules   []*rule
	sites   map[string]site.Site
	inhibit []inhibitRule
	recv    map[string]ReceiverConfig

	queue chan []measurement.Measurement
	// retick carries a reloaded eval_interval to Run's ticker.
	retick chan time.Duration

	mu       sync.Mutex
	alerts   map[string]*Alert
	silences map[string]Silence
	dirty    map[string]bool // alert ids to persist
	kv       *store.KV
	start    time.Time

	out *outbox
	m   metrics
	// smtpRoots overrides the system roots for STARTTLS (tests).
	smtpRoots *x509.CertPool
}

var _ ingest.Observer = (*Engine)(nil)

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

// New builds the engine and loads its persisted state.
func New(opts Options) (*Engine, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	if opts.Store == nil || opts.Now == nil {
		return nil, errors.New("alert: Store and Now are required")
	}
	cfg := withDefaults(opts.Config)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	e := &Engine{
		opts: opts, now: opts.Now,
		log:      opts.Logger.With("component", "alert"),
		queue:    make(chan []measurement.Measurement, cfg.QueueSize),
		retick:   make(chan time.Duration, 1),
		alerts:   map[string]*Alert{},
		silences: map[string]Silence{},
		dirty:    map[string]bool{},
		kv:       opts.Store.KV("alert"),
		m:        newMetrics(opts.Registerer),
	}
	b, err := e.build(cfg, opts.Sites)
	if err != nil {
		return nil, err
	}
	e.cfg, e.loc, e.sites, e.recv, e.inhibit, e.rules = b.cfg, b.loc, b.sites, b.recv, b.inhibit, b.rules
	if e.out, err = newOutbox(e); err != nil {
		return nil, err
	}
	if err := e.load(); err != nil {
		return nil, err
	}
	// A restart is a reload: alerts of rules removed while the daemon was
	// down end the same way (see Reload).
	e.retireOrphans(e.now())
	e.persistDirty(false)
	return e, nil
}

// withDefaults fills the zero fields of a validated configuration.
func withDefaults(cfg Config) Config {
	if cfg.EvalInterval == 0 {
		cfg.EvalInterval = time.Second
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 1024
	}
	if cfg.Language == "" {
		cfg.Language = "de"
	}
	if cfg.Timezone == "" {
		cfg.Timezone = "Europe/Berlin"
	}
	if cfg.GroupBy == "" {
		cfg.GroupBy = "site"
	}
	if cfg.RepeatInterval == 0 {
		cfg.RepeatInterval = time.Hour
	}
	if cfg.EscalateAfter == 0 {
		cfg.EscalateAfter = 30 * time.Minute
	}
	if cfg.ResolvedRetention == 0 {
		cfg.ResolvedRetention = 24 * time.Hour
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	return cfg
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
	ev, err := newEvaluator(e, r)
	if err != nil {
		return nil, err
	}
	r.eval = ev
	return r, nil
}

// Observe queues a stored batch for evaluation; it never blocks. A full
// queue drops the batch and counts it.
func (e *Engine) Observe(ms []measurement.Measurement) {
	if len(ms) == 0 {
		return
	}
	select {
	case e.queue <- slices.Clone(ms):
	default:
		e.m.dropped.Inc()
	}
}

// Run evaluates queued batches and ticks until ctx is done, and delivers
// notifications from the durable queue. It saves the state on return.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.out.run(ctx)
	}()
	e.mu.Lock()
	every := e.cfg.EvalInterval
	e.mu.Unlock()
	t := time.NewTicker(every)
	defer t.Stop()
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			e.mu.Lock()
			e.persistDirty(true)
			err := e.saveEvalState()
			e.mu.Unlock()
			return err
		case ms := <-e.queue:
			e.process(ms)
		case <-t.C:
			e.Tick()
		case d := <-e.retick:
			t.Reset(d)
		}
	}
}

// process evaluates one batch synchronously.
func (e *Engine) process(ms []measurement.Measurement) {
	byDev := map[string][]measurement.Measurement{}
	var order []string
	for _, m := range ms {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) || m.Time.IsZero() {
			// No rule can judge it, and JSON (state, payloads) cannot carry it.
			continue
		}
		if _, ok := byDev[m.Device]; !ok {
			order = append(order, m.Device)
		}
		byDev[m.Device] = append(byDev[m.Device], m)
	}
	e.m.evaluated.Inc()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, dev := range order {
		dms := byDev[dev]
		sort.SliceStable(dms, func(i, j int) bool { return dms[i].Time.Before(dms[j].Time) })
		di := e.devInfo(dev)
		for _, r := range e.rules {
			if !r.selects(di) {
				continue
			}
			for _, c := range r.eval.observe(di, dms) {
				e.apply(r, c)
			}
		}
	}
	e.dispatch(e.now())
}

// Tick runs the clock-driven checks (stale, gateways, disk, period ends)
// and due repeats and escalations at Options.Now.
func (e *Engine) Tick() {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.rules {
		for _, c := range r.eval.tick(now) {
			e.apply(r, c)
		}
	}
	e.dispatch(now)
	e.persistDirty(true)
	for id, s := range e.silences {
		// Expired silences are kept a week for the record, then dropped.
		if now.Sub(s.EndsAt) > 7*24*time.Hour {
			if err := e.kv.Delete([]byte("s/" + id)); err == nil {
				delete(e.silences, id)
			}
		}
	}
	if err := e.saveEvalState(); err != nil {
		e.log.Error("save alert state", "err", err)
	}
}

// devInfo is what rules know about a device.
type devInfo struct {
	EUI      string
	Dev      device.Device
	Known    bool
	Site     *site.Site
	Profile  *profile.Profile
	Interval time.Duration
}

func (e *Engine) devInfo(eui string) devInfo {
	di := devInfo{EUI: eui}
	var id lorawan.EUI64
	if e.opts.Devices != nil && id.UnmarshalText([]byte(eui)) == nil {
		di.Dev, di.Known = e.opts.Devices.Get(id)
	}
	return e.fill(di)
}

func (e *Engine) fill(di devInfo) devInfo {
	if di.Known {
		if s, ok := e.sites[di.Dev.Site]; ok {
			di.Site = &s
		}
		if e.opts.Profiles != nil && di.Dev.Profile != "" {
			if p, ok := e.opts.Profiles.Get(di.Dev.Profile); ok {
				di.Profile = p
				di.Interval = p.UplinkInterval
			}
		}
	}
	return di
}

func (e *Engine) allDevices() []devInfo {
	if e.opts.Devices == nil {
		return nil
	}
	var out []devInfo
	for _, d := range e.opts.Devices.List() {
		b, _ := d.DevEUI.MarshalText()
		out = append(out, e.fill(devInfo{EUI: string(b), Dev: d, Known: true}))
	}
	return out
}

func (r *rule) selects(di devInfo) bool {
	s := r.cfg.Select
	if len(s.Devices) > 0 && !slices.ContainsFunc(s.Devices, func(x string) bool { return strings.EqualFold(x, di.EUI) }) {
		return false
	}
	if len(s.Profiles) > 0 && !slices.Contains(s.Profiles, di.Dev.Profile) {
		return false
	}
	if len(s.Sites) > 0 && !slices.Contains(s.Sites, di.Dev.Site) {
		return false
	}
	if len(s.Teams) > 0 && (di.Site == nil || !slices.Contains(s.Teams, di.Site.Team)) {
		return false
	}
	if len(s.Tags) > 0 && !slices.ContainsFunc(s.Tags, func(t string) bool { return slices.Contains(di.Dev.Tags, t) }) {
		return false
	}
	return true
}

// labels builds the labels of an alert about a device and/or site.
func (e *Engine) labels(r *rule, di *devInfo, siteID string) map[string]string {
	l := map[string]string{"rule": r.cfg.Name, "kind": r.cfg.Kind}
	if di != nil {
		l["device"] = di.EUI
		if di.Known {
			l["device_name"] = di.Dev.Name
			l["profile"] = di.Dev.Profile
			siteID = di.Dev.Site
		}
	}
	if s, ok := e.sites[siteID]; ok {
		l["site"] = s.ID
		l["site_name"] = s.Name
		l["section"] = s.ID
		if s.Road != "" {
			l["road"] = s.Road
			l["km"] = fmt.Sprintf("%.1f", s.Km)
		}
		if s.Route != "" {
			l["route"] = s.Route
		}
		if s.Team != "" {
			l["team"] = s.Team
		}
	} else if siteID != "" {
		l["site"] = siteID
		l["section"] = siteID
	}
	return l
}

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
	for _, d := range e.allDevices() {
		switch {
		case len(act.Devices) > 0:
			if slices.ContainsFunc(act.Devices, func(x string) bool { return strings.EqualFold(x, d.EUI) }) {
				targets = append(targets, d)
			}
		case d.Dev.Profile == act.Profile && d.Dev.Site == a.Labels["site"]:
			targets = append(targets, d)
		}
	}
	var done []string
	for _, d := range targets {
		res, err := e.queueDownlink(d, act)
		if err != nil {
			e.log.Error("alert action", "alert_id", a.ID, "dev_eui", d.EUI, "command", act.Command, "err", err)
			done = append(done, d.EUI+":"+act.Command+":failed")
			continue
		}
		e.log.Info("alert action queued", "alert_id", a.ID, "dev_eui", d.EUI, "command", act.Command, "downlink_id", res)
		done = append(done, d.EUI+":"+act.Command+":queued")
	}
	if len(done) == 0 {
		done = append(done, act.Command+":no target")
	}
	a.ActionDone = strings.Join(done, ",")
}

func (e *Engine) queueDownlink(d devInfo, act *ActionConfig) (string, error) {
	if e.opts.Profiles == nil || e.opts.Downlinks == nil {
		return "", errors.New("no profiles or downlink queue wired")
	}
	dl, err := e.opts.Profiles.Downlink(d.Dev.Profile, act.Command, act.Args)
	if err != nil {
		return "", fmt.Errorf("build downlink: %w", err)
	}
	return e.opts.Downlinks.EnqueueDownlink(d.Dev.DevEUI, dl.FPort, dl.Payload, act.Confirmed || dl.Confirmed)
}

// note is one alert in one notification.
type note struct {
	Kind  string // firing, repeat, escalation, resolved, acknowledged
	Alert Alert
}

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
	type key struct{ recv, group string }
	groups := map[key][]note{}
	var keys []key
	add := func(recvs []string, n note) {
		g := e.groupKey(&n.Alert)
		for _, rc := range recvs {
			if n.Kind == "resolved" && !e.recv[rc].sendResolved() {
				continue
			}
			k := key{rc, g}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], n)
		}
	}
	ids := make([]string, 0, len(e.alerts))
	// waitFrom is, per group, when its oldest not yet notified alert
	// started firing: group_wait runs per group, as in Alertmanager.
	waitFrom := map[string]time.Time{}
	for id, a := range e.alerts {
		ids = append(ids, id)
		if a.State == StateFiring && a.Notified == 0 && !a.Silenced && !a.Inhibited {
			g := e.groupKey(a)
			if w, ok := waitFrom[g]; !ok || a.FiringSince.Before(w) {
				waitFrom[g] = a.FiringSince
			}
		}
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
		muted := a.Silenced || a.Inhibited
		switch a.State {
		case StateFiring:
			if muted {
				continue
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
				add(r.recv, note{kind, a.clone()})
				if a.Escalated {
					add(r.esc, note{kind, a.clone()})
				}
				e.dirty[id] = true
			}
			if !a.Escalated && len(r.esc) > 0 && now.Sub(a.FiringSince) >= r.escAfter {
				a.Escalated = true
				add(r.esc, note{"escalation", a.clone()})
				e.dirty[id] = true
			}
		case StateAcknowledged:
			if a.LevelChanged && !muted {
				a.LevelChanged = false
				a.Notified++
				a.LastNotified = now
				add(r.recv, note{"firing", a.clone()})
				e.dirty[id] = true
			}
		case StateResolved:
			if a.Notified > 0 && a.Info["resolved_sent"] == "" {
				if !a.Silenced {
					add(r.recv, note{"resolved", a.clone()})
					if a.Escalated {
						add(r.esc, note{"resolved", a.clone()})
					}
				}
				if a.Info == nil {
					a.Info = map[string]string{}
				}
				a.Info["resolved_sent"] = "1"
				e.dirty[id] = true
			}
			if now.Sub(a.ResolvedAt) > e.cfg.ResolvedRetention {
				delete(e.alerts, id)
				e.dirty[id] = true
			}
		}
	}
	for _, k := range keys {
		if err := e.out.enqueue(e.recv[k.recv], k.group, groups[k], now); err != nil {
			e.log.Error("queue notification", "receiver", k.recv, "err", err)
		}
	}
	e.persistDirty(false)
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

// List returns the alerts matching f, most urgent first.
func (e *Engine) List(f Filter) []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Alert
	for _, a := range e.alerts {
		if f.matches(a) {
			out = append(out, a.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Level != out[j].Level {
			return out[i].Level > out[j].Level
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ErrNotFound is returned for an unknown alert or silence id.
var ErrNotFound = errors.New("alert: not found")

// ErrState is returned when an alert cannot be acknowledged in its state.
var ErrState = errors.New("alert: not in a state that allows this")

// Acknowledge marks a firing alert as taken by who at at: repeats and
// escalation stop; a higher level later fires again. MQTT receivers get
// the new state.
func (e *Engine) Acknowledge(id, who string, at time.Time) error {
	if who == "" {
		return errors.New("alert: acknowledge needs a name")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.alerts[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if a.State != StateFiring {
		return fmt.Errorf("%w: %s is %s", ErrState, id, a.State)
	}
	a.State = StateAcknowledged
	a.AckBy, a.AckAt = who, at
	e.dirty[id] = true
	e.log.Info("alert acknowledged", "alert_id", id, "by", who, "at", at)
	if r := e.ruleByName(a.Rule); r != nil {
		for _, rn := range r.recv {
			if rc := e.recv[rn]; rc.Type == "mqtt" {
				if err := e.out.enqueue(rc, e.groupKey(a), []note{{"acknowledged", a.clone()}}, at); err != nil {
					e.log.Error("queue notification", "receiver", rn, "err", err)
				}
			}
		}
	}
	e.persistDirty(false)
	return nil
}

// CreateSilence stores s (a new ID is assigned when empty) and returns it.
func (e *Engine) CreateSilence(s Silence) (Silence, error) {
	if len(s.Matchers) == 0 {
		return Silence{}, errors.New("alert: silence needs at least one matcher")
	}
	if !s.EndsAt.After(s.StartsAt) {
		return Silence{}, errors.New("alert: silence must end after it starts")
	}
	for _, m := range s.Matchers {
		if m.Regex {
			if _, err := compileMatcher(m.Value); err != nil {
				return Silence{}, fmt.Errorf("alert: silence matcher %s: %w", m.Label, err)
			}
		}
	}
	if s.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.ID = hex.EncodeToString(b[:])
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.putJSON("s/"+s.ID, s); err != nil {
		return Silence{}, err
	}
	e.silences[s.ID] = s
	return s, nil
}

// Silences lists silences, active or not, by start.
func (e *Engine) Silences() []Silence {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Silence, 0, len(e.silences))
	for _, s := range e.silences {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartsAt.Before(out[j].StartsAt) })
	return out
}

// ExpireSilence ends a silence at at.
func (e *Engine) ExpireSilence(id string, at time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.silences[id]
	if !ok {
		return fmt.Errorf("%w: silence %s", ErrNotFound, id)
	}
	if at.Before(s.EndsAt) {
		s.EndsAt = at
		if s.StartsAt.After(at) {
			s.StartsAt = at
		}
	}
	if err := e.putJSON("s/"+s.ID, s); err != nil {
		return err
	}
	e.silences[id] = s
	return nil
}

// persistence

func (e *Engine) putJSON(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := e.kv.Put([]byte(key), b); err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	return nil
}

func (e *Engine) persistDirty(all bool) {
	for id, urgent := range e.dirty {
		if !urgent && !all {
			continue
		}
		var err error
		if a, ok := e.alerts[id]; ok {
			err = e.putJSON("a/"+id, a)
		} else {
			err = e.kv.Delete([]byte("a/" + id))
		}
		if err != nil {
			e.log.Error("save alert", "alert_id", id, "err", err)
			continue
		}
		delete(e.dirty, id)
	}
}

func (e *Engine) saveEvalState() error {
	var errs []error
	for _, r := range e.rules {
		p, ok := r.eval.(persister)
		if !ok || !p.dirty() {
			continue
		}
		b, err := p.save()
		if err == nil {
			err = e.kv.Put([]byte("e/"+r.cfg.Name), b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("save rule %s state: %w", r.cfg.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) load() error {
	evals := map[string][]byte{}
	err := e.kv.ForEach(func(k, v []byte) error {
		key := string(k)
		switch {
		case strings.HasPrefix(key, "a/"):
			var a Alert
			if err := json.Unmarshal(v, &a); err != nil {
				e.log.Warn("skip unreadable alert state", "key", key, "err", err)
				return nil
			}
			e.alerts[a.ID] = &a
		case strings.HasPrefix(key, "s/"):
			var s Silence
			if err := json.Unmarshal(v, &s); err != nil {
				e.log.Warn("skip unreadable silence", "key", key, "err", err)
				return nil
			}
			e.silences[s.ID] = s
		case strings.HasPrefix(key, "e/"):
			evals[key[2:]] = slices.Clone(v)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load alert state: %w", err)
	}
	for _, r := range e.rules {
		if p, ok := r.eval.(persister); ok && evals[r.cfg.Name] != nil {
			if err := p.load(evals[r.cfg.Name]); err != nil {
				e.log.Warn("rule state not restored", "rule", r.cfg.Name, "err", err)
			}
		}
	}
	return nil
}
