package alert

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/device"
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

// Downlinker queues an application downlink that is dropped unsent once
// expiry (from now, on the network layer's clock) has passed; *network.Server has it. Its queue survives restarts,
// so an id it returns is reported on after one.
type Downlinker interface {
	EnqueueDownlinkExpiring(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool, expiry time.Duration) (string, error)
}

// DownlinkFunc adapts a function to Downlinker, so the composition root can
// hand the engine a closure over a network server built after it (the
// network layer needs ingest, ingest needs the engine as observer).
type DownlinkFunc func(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool, expiry time.Duration) (string, error)

// EnqueueDownlinkExpiring implements Downlinker.
func (f DownlinkFunc) EnqueueDownlinkExpiring(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool, expiry time.Duration) (string, error) {
	return f(devEUI, fport, payload, confirmed, expiry)
}

// Publisher publishes one MQTT message (internal/mqtt provides it).
type Publisher = notify.Publisher

// Gateways reports when each gateway (EUI hex) was last heard, on the same
// clock as Options.Now.
type Gateways interface {
	GatewaysLastSeen() map[string]time.Time
}

// GatewayTxAcks is implemented by a Gateways that also knows whether each
// gateway confirms its downlinks; the gateway rule then raises an alert
// for a gateway whose TX_ACKs stop while its PULL_DATA continue.
type GatewayTxAcks interface {
	GatewaysTxAcks() map[string]TxAckHealth
}

// TxAckHealth is one gateway's downlink confirmation record.
type TxAckHealth struct {
	// MissingRun counts the TX_ACKs missing since the last one that came.
	MissingRun uint64
	// LastPullData is the gateway's latest accepted PULL_DATA, on the
	// same clock as Options.Now.
	LastPullData time.Time
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
	// Remote sends actions on devices homed at a peer of the county
	// network; nil: an action's device not in the registry is no target.
	Remote RemoteActions
	// Roads gives ice rules the physics forecast of road sites; nil keeps
	// them on the trend forecast.
	Roads RoadForecasts
	// Calendar gives energy_waste rules the use times of buildings; nil:
	// the default NRW calendar.
	Calendar *calendar.Calendar
	// OutdoorSensors names each building's outdoor air_temperature sensor
	// (site ID -> DevEUI, as energy.sites[].temperature_device), for the
	// degree days of energy_waste rules.
	OutdoorSensors map[string]string
	// DiskBudget is the default budget of disk rules (store.disk_budget).
	DiskBudget int64
	// Now is the evaluation clock: the simulator's virtual clock in
	// simulation, time.Now otherwise.
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	HTTPClient *http.Client
	// SMTPRoots overrides the system roots for e-mail TLS (a private CA).
	SMTPRoots *x509.CertPool
}

// Engine evaluates rules and owns alerts and silences; it hands due
// notifications to its outbox. Observe is safe to call from any goroutine;
// the API methods and Reload too.
type Engine struct {
	cfg     Config
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	env     *facts
	rules   []*rule
	inhibit []inhibitRule
	// recv are the receivers by name, for routing decisions; the outbox
	// keeps its own copy for delivery.
	recv map[string]ReceiverConfig

	queue chan []measurement.Measurement
	// updates carries action outcomes to Run.
	updates chan ActionUpdate
	// retick carries a reloaded eval_interval to Run's ticker.
	retick chan time.Duration

	mu       sync.Mutex
	alerts   map[string]*Alert
	silences map[string]Silence
	dirty    map[string]bool // alert ids to persist
	kv       *store.KV

	out *notify.Outbox
	m   metrics
	am  actionMetrics
}

type metrics struct {
	dropped   prometheus.Counter
	evaluated prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "loraedge_alert_observe_dropped_total",
			Help: "Measurement batches dropped because the alert evaluation queue was full."}),
		evaluated: prometheus.NewCounter(prometheus.CounterOpts{Name: "loraedge_alert_batches_evaluated_total",
			Help: "Measurement batches evaluated."}),
	}
	if reg != nil {
		reg.MustRegister(m.dropped, m.evaluated)
	}
	return m
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
	e := &Engine{
		opts: opts, now: opts.Now,
		env:      &facts{now: opts.Now, devs: opts.Devices, profiles: opts.Profiles, gws: opts.Gateways, du: opts.Disk, budget: opts.DiskBudget, roads: opts.Roads, cal: opts.Calendar, outdoor: opts.OutdoorSensors},
		log:      opts.Logger.With("component", "alert"),
		queue:    make(chan []measurement.Measurement, cfg.QueueSize),
		retick:   make(chan time.Duration, 1),
		alerts:   map[string]*Alert{},
		silences: map[string]Silence{},
		dirty:    map[string]bool{},
		kv:       opts.Store.KV("alert"),
		m:        newMetrics(opts.Registerer),
		am:       newActionMetrics(opts.Registerer),
		updates:  make(chan ActionUpdate, actionUpdateQueue),
	}
	b, err := e.build(cfg, opts.Sites)
	if err != nil {
		return nil, err
	}
	e.cfg, e.env.loc, e.env.sites, e.recv, e.inhibit, e.rules = b.cfg, b.loc, b.sites, b.recv, b.inhibit, b.rules
	e.out, err = notify.New(notify.Options{Store: opts.Store, MQTT: opts.MQTT, HTTPClient: opts.HTTPClient,
		SMTPRoots: opts.SMTPRoots, Logger: e.log, Registerer: opts.Registerer}, b.notifySettings())
	if err != nil {
		return nil, err
	}
	if err := e.load(); err != nil {
		return nil, err
	}
	// A restart is a reload: alerts of rules removed while the daemon was
	// down end the same way (see Reload).
	e.retireOrphans(e.now())
	e.endUnreported(e.now())
	e.persistDirty(false)
	return e, nil
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
		e.out.Run(ctx)
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
		case u := <-e.updates:
			e.applyActionUpdate(u)
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
		di := e.env.device(dev)
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
