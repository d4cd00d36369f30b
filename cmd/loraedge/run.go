package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/influx"
	"github.com/loraedge/loraedge/internal/ingest"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/mqtt"
	"github.com/loraedge/loraedge/internal/mqttin"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/sdnotify"
	"github.com/loraedge/loraedge/internal/secret"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/uplink"
)

// runFlags maps the run command's flags to configuration keys; a flag that
// is set beats the environment and the file.
var runFlags = map[string]string{
	"listen":     "udp.listen",
	"data-dir":   "data_dir",
	"log-level":  "log.level",
	"log-format": "log.format",
	"simulate":   "simulator.enabled",
	"scenario":   "simulator.scenario",
	"speed":      "simulator.speed",
	"http":       "http.listen",
}

func newRunCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon (the default command)",
		Args:  cobra.NoArgs,
	}
	f := cmd.Flags()
	f.StringP("config", "c", "", "configuration file (default: $LORAEDGE_CONFIG, else built-in defaults)")
	f.String("listen", "", "UDP address for packet forwarders (udp.listen)")
	f.String("data-dir", "", "data directory (data_dir)")
	f.String("log-level", "", "debug, info, warn or error (log.level)")
	f.String("log-format", "", "json or text (log.format)")
	f.Bool("simulate", false, "run the built-in simulator against this daemon (simulator.enabled)")
	f.String("scenario", "", "simulator scenario (simulator.scenario)")
	f.Float64("speed", 0, "simulator speed: virtual seconds per real second (simulator.speed)")
	f.String("http", "", "HTTP address of the API and web page, e.g. :8080 (http.listen)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(cmd, e)
		if err != nil {
			return err
		}
		d, err := newDaemon(cfg, e.stderr)
		if err != nil {
			return err
		}
		d.reload = func() (config.Config, error) { return loadConfig(cmd, e) }
		d.configFile = configFile(cmd, e)
		return d.run(cmd.Context())
	}
	return cmd
}

// loadConfig merges the --config file (or $LORAEDGE_CONFIG), environment
// and the flags of cmd.
func loadConfig(cmd *cobra.Command, e env) (config.Config, error) {
	return config.Load(config.Source{File: configFile(cmd, e), Env: e.environ, Flags: cmd.Flags(), FlagKeys: runFlags})
}

func configFile(cmd *cobra.Command, e env) string {
	file, _ := cmd.Flags().GetString("config")
	if file == "" {
		file = lookupEnv(e.environ, config.EnvPrefix+"CONFIG")
	}
	return file
}

func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if len(kv) > len(name) && kv[:len(name)] == name && kv[len(name)] == '=' {
			return kv[len(name)+1:]
		}
	}
	return ""
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	lvl, _ := config.ParseLevel(c.Level) // validated with the config
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// loadProfiles loads the built-in firmware profiles, then the configured
// directory's, and checks that every device names a known profile.
func loadProfiles(c config.Config) (*profile.Set, error) {
	reg, err := all.NewRegistry()
	if err != nil {
		return nil, err
	}
	sources := []profile.Source{profile.Embedded()}
	if c.Profiles.Dir != "" {
		sources = append(sources, profile.Source{FS: os.DirFS(c.Profiles.Dir), Name: c.Profiles.Dir})
	}
	set, err := profile.Load(reg, sources...)
	if err != nil {
		return nil, fmt.Errorf("firmware profiles: %w", err)
	}
	var errs []error
	for i, d := range c.Devices {
		if d.Profile == "" {
			continue
		}
		if _, ok := set.Get(d.Profile); !ok {
			errs = append(errs, fmt.Errorf("devices[%d].profile: unknown firmware profile %q", i, d.Profile))
		}
	}
	return set, errors.Join(errs...)
}

// withSimulator adds the simulated scenario's sites and devices to c,
// unless c already lists them (so their keys can be overridden).
func withSimulator(c config.Config) config.Config {
	have := map[string]bool{}
	for _, s := range c.Sites {
		have[s.ID] = true
	}
	for _, s := range sim.Sites(c.Simulator.Scenario) {
		if !have[s.ID] {
			c.Sites = append(c.Sites, site.Site{ID: s.ID, Name: s.Name, Kind: site.Kind(s.Kind), Lat: s.Lat, Lon: s.Lon,
				Road: s.Road, Km: s.Km, Route: s.Route, Team: s.Team})
		}
	}
	devs := map[string]bool{}
	for _, d := range c.Devices {
		devs[d.DevEUI.String()] = true
	}
	for _, d := range sim.Devices(c.Simulator.Scenario) {
		if !devs[d.DevEUI.String()] {
			c.Devices = append(c.Devices, d)
		}
	}
	return c
}

// daemon is the composition root: every component, built with explicit
// dependencies.
type daemon struct {
	cfg       config.Config
	log       *slog.Logger
	metrics   *prometheus.Registry
	devices   *device.Registry
	profiles  *profile.Set
	store     *store.Store
	udp       *semtechudp.Server
	net       *network.Server
	ingest    *ingest.Ingester
	bridge    *bridge
	http      *httpapi.Server
	mqtt      *mqtt.Sink
	mqttin    *mqttin.Source
	influx    *influx.Sink
	uplinks   *uplinkFanout
	observers *observerFanout
	alerts    *alert.Engine
	simClock  atomic.Pointer[sim.Clock]
	// ready is set once the store is open and the UDP port bound.
	ready atomic.Bool
	// reload loads the configuration again for SIGHUP.
	reload     func() (config.Config, error)
	configFile string
	notify     *sdnotify.Notifier
}

func newDaemon(cfg config.Config, logw io.Writer) (*daemon, error) {
	if cfg.Simulator.Enabled {
		if _, ok := sim.LookupScenario(cfg.Simulator.Scenario); !ok {
			return nil, fmt.Errorf("simulator.scenario: unknown scenario %q (have %v)", cfg.Simulator.Scenario, sim.Scenarios())
		}
		cfg = withSimulator(cfg)
		cfg.Alert = demoAlerts(cfg.Alert)
	}
	d := &daemon{cfg: cfg, log: newLogger(cfg.Log, logw), metrics: prometheus.NewRegistry(), notify: sdnotify.New()}
	if err := d.build(); err != nil {
		if d.net != nil {
			d.net.Close()
		}
		if d.store != nil {
			d.store.Close()
		}
		return nil, err
	}
	return d, nil
}

// build creates the components in dependency order.
func (d *daemon) build() (err error) {
	cfg := d.cfg
	d.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if d.profiles, err = loadProfiles(cfg); err != nil {
		return err
	}
	if d.devices, err = device.NewRegistry(cfg.Devices); err != nil {
		return err
	}
	kek, err := loadKEK(cfg.Keys)
	if err != nil {
		return err
	}
	d.store, err = store.Open(store.Options{
		Dir:            filepath.Join(cfg.DataDir, "store"),
		Logger:         d.log,
		Registerer:     d.metrics,
		CommitInterval: cfg.Store.CommitInterval,
		DiskBudget:     cfg.Store.DiskBudget,
	})
	if err != nil {
		return err
	}
	var sealer device.Sealer
	if kek != nil {
		sealer = kek
	}
	if err := d.devices.PersistSealed(d.store.KV("devices"), sealer); err != nil {
		// A stored device that no longer validates is reported, not fatal:
		// the others and the configured ones still work.
		d.log.Error("some API-managed devices could not be loaded", "err", err)
	}
	d.observers = &observerFanout{}
	if cfg.Simulator.Enabled {
		// A newcomer running `make run` sees the values arrive.
		d.observers.add(liveLog{d.log})
	}
	d.ingest, err = ingest.New(ingest.Options{
		Devices: d.devices, Profiles: d.profiles, Store: d.store, Observers: []ingest.Observer{d.observers},
		Logger: d.log, Registerer: d.metrics,
	})
	if err != nil {
		return err
	}
	d.bridge = newBridge()
	d.uplinks = &uplinkFanout{hs: []uplink.Handler{d.ingest}}
	d.udp, err = semtechudp.NewServer(semtechudp.Options{
		Addr:       cfg.UDP.Listen,
		QueueSize:  cfg.UDP.QueueSize,
		ReadBuffer: cfg.UDP.ReadBuffer,
		Logger:     d.log,
		Registerer: d.metrics,
		OnTxAck:    d.bridge.onTxAck,
	})
	if err != nil {
		return err
	}
	d.net, err = network.NewServer(network.Options{
		Config:     cfg.Network,
		Devices:    d.devices,
		StatePath:  filepath.Join(cfg.DataDir, "network.db"),
		KEK:        kek,
		Sender:     d.bridge,
		Handler:    d.uplinks,
		Logger:     d.log,
		Registerer: d.metrics,
	})
	if err != nil {
		return err
	}
	d.bridge.udp, d.bridge.net = d.udp, d.net
	if err := d.buildMQTT(); err != nil {
		return err
	}
	if err := d.buildInflux(); err != nil {
		return err
	}
	if err := d.buildAlerts(); err != nil {
		return err
	}
	if cfg.HTTP.Listen != "" {
		var read, admin []string
		if cfg.HTTP.ReadToken != "" {
			read = append(read, cfg.HTTP.ReadToken)
		}
		if cfg.HTTP.AdminToken != "" {
			admin = append(admin, cfg.HTTP.AdminToken)
		}
		d.http, err = httpapi.New(httpapi.Options{
			ReadTokens: read, AdminTokens: admin,
			Gateways: d.udp, Devices: d.devices, Sessions: d.net, Sites: siteList(cfg.Sites),
			Series: d.store, Downlinks: downlinker{d.net, d.profiles},
			OpenData: openData{cfg: cfg.OpenData, devices: d.devices, series: d.store},
			Reports:  reportService{d.energyService()},
			Alerts:   d.alertService(),
			Gatherer: d.metrics, Registerer: d.metrics, Logger: d.log, Now: d.now,
			Ready: d.healthy,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// run binds the UDP port, runs every component and shuts down in order:
// sources (UDP, network, simulator) stop first, then the ingest queue is
// drained into the store, then the store closes.
func (d *daemon) run(ctx context.Context) error {
	defer d.store.Close()
	defer d.net.Close()
	if err := d.udp.Listen(); err != nil {
		return fmt.Errorf("listen for packet forwarders: %w", err)
	}
	var httpListener net.Listener
	if d.http != nil {
		l, err := net.Listen("tcp", d.cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("listen for HTTP: %w", err)
		}
		httpListener = l
	}
	warnReadableConfig(d.log, d.configFile, d.cfg)
	// Start-up (profiles, codecs, config) leaves garbage the heap target
	// would keep; a gateway with 128 MB should not carry it while idle.
	debug.FreeOSMemory()
	d.ready.Store(true)
	if err := d.notify.Ready(); err != nil {
		d.log.Warn("systemd notification failed", "err", err)
	}
	d.log.Info("loraedge started", "version", version, "udp", d.udp.LocalAddr().String(),
		"devices", len(d.devices.List()), "profiles", d.profiles.Len(), "data_dir", d.cfg.DataDir)
	if httpListener != nil {
		d.log.Info("web page and API", "url", "http://"+reachable(httpListener.Addr())+"/")
	}

	ingestCtx, stopIngest := context.WithCancel(context.WithoutCancel(ctx))
	defer stopIngest()
	ingestDone := make(chan error, 1)
	go func() { ingestDone <- d.ingest.Run(ingestCtx) }()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.udp.Run(gctx) })
	g.Go(func() error { return d.bridge.run(gctx) })
	g.Go(func() error { return d.net.Run(gctx) })
	g.Go(func() error { return d.store.Run(gctx) })
	if httpListener != nil {
		g.Go(func() error { return d.http.Run(gctx, httpListener) })
	}
	if d.mqtt != nil {
		g.Go(func() error { return d.mqtt.Run(gctx) })
	}
	if d.alerts != nil {
		g.Go(func() error { return d.alerts.Run(gctx) })
	}
	if d.influx != nil {
		g.Go(func() error { return d.influx.Run(gctx) })
	}
	if d.mqttin != nil {
		g.Go(func() error { return d.mqttin.Run(gctx) })
	}
	g.Go(func() error { return d.notify.Watchdog(gctx, d.healthy) })
	g.Go(func() error { return d.reloadOnHUP(gctx) })
	if d.cfg.Simulator.Enabled {
		g.Go(func() error {
			return d.runSimulator(gctx)
		})
	}
	err := g.Wait()
	_ = d.notify.Stopping()
	stopIngest()
	if ierr := <-ingestDone; ierr != nil {
		err = errors.Join(err, ierr)
	}
	d.log.Info("loraedge stopped", "err", err)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// runSimulator plays the scenario again and again, a week later each time,
// so that `make run` keeps showing data. The first run is placed in the
// current week (same weekday and hour as the scenario's own start), so the
// web page's "last hours" views show it.
func (d *daemon) runSimulator(ctx context.Context) error {
	sc, _ := sim.LookupScenario(d.cfg.Simulator.Scenario)
	const week = 7 * 24 * time.Hour
	start := sc.Start
	if now := time.Now(); now.After(start) {
		start = start.Add(now.Sub(start) / week * week)
	}
	for ctx.Err() == nil {
		s, err := sim.New(sim.Options{
			Target:   reachable(d.udp.LocalAddr()),
			Scenario: d.cfg.Simulator.Scenario,
			Speed:    d.cfg.Simulator.Speed,
			Gateways: d.cfg.Simulator.Gateways,
			Start:    start,
			Logger:   d.log,
		})
		if err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
		d.simClock.Store(s.Clock())
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("simulator: %w", err)
		}
		start = start.Add(week)
	}
	return nil
}

// now is the daemon's clock for time-driven logic (alerts): the
// simulator's virtual clock while it runs, else the wall clock.
func (d *daemon) now() time.Time {
	if c := d.simClock.Load(); c != nil {
		return c.Now()
	}
	return time.Now()
}

// reachable is where a local client reaches a listener on addr: a
// wildcard listen address is reached on loopback.
func reachable(addr net.Addr) string {
	var ip net.IP
	var port int
	switch a := addr.(type) {
	case *net.UDPAddr:
		ip, port = a.IP, a.Port
	case *net.TCPAddr:
		ip, port = a.IP, a.Port
	default:
		return addr.String()
	}
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}

// liveLog logs every stored batch, one line per device.
type liveLog struct{ log *slog.Logger }

func (l liveLog) Observe(ms []measurement.Measurement) {
	byDev := map[string][]string{}
	var order []string
	for _, m := range ms {
		if _, ok := byDev[m.Device]; !ok {
			order = append(order, m.Device)
		}
		byDev[m.Device] = append(byDev[m.Device], fmt.Sprintf("%s=%.4g%s", m.Quantity, m.Value, unitSuffix(m.Unit)))
	}
	for _, dev := range order {
		l.log.Info("stored", "component", "ingest", "dev_eui", dev, "values", strings.Join(byDev[dev], " "))
	}
}

func unitSuffix(u string) string {
	if u == "1" || u == "" {
		return ""
	}
	return u
}

// healthy is nil once the daemon is up and its store has not failed.
func (d *daemon) healthy() error {
	if !d.ready.Load() {
		return errors.New("starting")
	}
	return d.store.Err()
}

// reloadOnHUP applies device, profile and (later) alert rule changes from
// the configuration file on SIGHUP, without stopping the uplink path. A
// file that does not load or validate changes nothing.
func (d *daemon) reloadOnHUP(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			_ = d.notify.Reloading()
			if err := d.reloadConfig(); err != nil {
				d.log.Error("reload refused, keeping the running configuration", "err", err)
			}
			_ = d.notify.Ready()
		}
	}
}

func (d *daemon) reloadConfig() error {
	if d.reload == nil {
		return errors.New("no configuration source")
	}
	cfg, err := d.reload()
	if err != nil {
		return err
	}
	if d.cfg.Simulator.Enabled {
		cfg.Simulator = d.cfg.Simulator
		cfg = withSimulator(cfg)
		cfg.Alert = demoAlerts(cfg.Alert) // as newDaemon does
	}
	profiles, err := loadProfiles(cfg)
	if err != nil {
		return err
	}
	// Alert rules are checked before anything changes: a bad alert
	// section must not leave devices reloaded and rules not.
	reloadAlerts := d.alerts != nil && cfg.Alert.Enabled
	if reloadAlerts {
		if err := d.alerts.CheckConfig(cfg.Alert); err != nil {
			return err
		}
	} else if (d.alerts != nil) != cfg.Alert.Enabled {
		d.log.Warn("alert.enabled changed: takes effect after a restart", "enabled", cfg.Alert.Enabled)
	}
	if err := d.devices.Reload(cfg.Devices); err != nil {
		return err
	}
	d.ingest.SetProfiles(profiles)
	if reloadAlerts {
		if err := d.alerts.Reload(cfg.Alert, cfg.Sites); err != nil {
			return err
		}
	}
	d.log.Info("configuration reloaded", "devices", len(d.devices.List()), "profiles", profiles.Len())
	return nil
}

// warnReadableConfig warns when the configuration file holds keys or
// tokens and others than the owner and group may read it.
func warnReadableConfig(log *slog.Logger, file string, cfg config.Config) {
	if file == "" {
		return
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm()&0o004 == 0 {
		return
	}
	if len(cfg.Devices) > 0 || cfg.HTTP.AdminToken != "" || cfg.HTTP.ReadToken != "" {
		log.Warn("the configuration file holds keys or tokens and is readable by everyone; chmod 640", "file", file, "mode", fi.Mode().Perm().String())
	}
}

// loadKEK returns the configured key-encryption key, or nil.
func loadKEK(c config.Keys) (*secret.KEK, error) {
	switch {
	case c.KEKFile != "":
		return secret.Load(c.KEKFile)
	case c.KEK != "":
		return secret.Parse(c.KEK)
	}
	return nil, nil
}

// buildMQTT creates the MQTT sink and source when enabled. A disabled sink's
// cursor is removed, or the store would keep its log for it forever.
func (d *daemon) buildMQTT() error {
	cfg := d.cfg
	if !cfg.MQTT.Enabled {
		if err := d.store.RemoveCursor(mqtt.CursorName); err != nil {
			return err
		}
	} else {
		mc := cfg.MQTT
		mc.Gateway = cfg.GatewayID
		sink, err := mqtt.New(mqtt.Options{Config: mc, Log: d.store, Devices: d.devices, Profiles: d.profiles,
			Downlinks: d.net, Logger: d.log, Registerer: d.metrics, Now: d.now})
		if err != nil {
			return err
		}
		d.mqtt = sink
		d.uplinks.hs = append(d.uplinks.hs, sink) // live uplink events

	}
	if cfg.MQTTIn.Enabled {
		ic := cfg.MQTTIn
		ic.Gateway = cfg.GatewayID
		src, err := mqttin.New(mqttin.Options{Config: ic, Devices: d.devices, Handler: d.ingest,
			Logger: d.log, Registerer: d.metrics, Now: d.now})
		if err != nil {
			return err
		}
		d.mqttin = src
	}
	return nil
}

// uplinkFanout hands every verified uplink to each handler in turn; none
// of them blocks. Handlers are added while the daemon is built, never later.
type uplinkFanout struct{ hs []uplink.Handler }

func (f *uplinkFanout) HandleUplink(ctx context.Context, up uplink.Uplink) error {
	var errs []error
	for _, h := range f.hs {
		if err := h.HandleUplink(ctx, up); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// alertService is the API's view of the engine, nil when alerts are off
// (the API then answers 501).
func (d *daemon) alertService() httpapi.AlertService {
	if d.alerts == nil {
		return nil
	}
	return alertService{eng: d.alerts, now: d.now}
}

// observerFanout tells every observer about stored batches. Observers are
// added while the daemon is built, never later.
type observerFanout struct{ obs []ingest.Observer }

func (f *observerFanout) add(o ingest.Observer) { f.obs = append(f.obs, o) }

func (f *observerFanout) Observe(ms []measurement.Measurement) {
	for _, o := range f.obs {
		o.Observe(ms)
	}
}

// buildInflux creates the InfluxDB sink; its cursor exists from now on, so
// nothing appended later is missed. A disabled sink's cursor is removed.
func (d *daemon) buildInflux() error {
	if !d.cfg.Influx.Enabled {
		return d.store.RemoveCursor(influx.CursorName)
	}
	sink, err := influx.New(d.store, d.cfg.Influx, influx.Options{GatewayID: d.cfg.GatewayID, Logger: d.log, Registerer: d.metrics})
	if err != nil {
		return fmt.Errorf("influx: %w", err)
	}
	d.influx = sink
	return nil
}
