package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/basicstation"
	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/framelog"
	"github.com/loraedge/loraedge/internal/gauge"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/influx"
	"github.com/loraedge/loraedge/internal/ingest"
	"github.com/loraedge/loraedge/internal/mosmix"
	"github.com/loraedge/loraedge/internal/mqtt"
	"github.com/loraedge/loraedge/internal/mqttin"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/reportsched"
	"github.com/loraedge/loraedge/internal/roaming"
	"github.com/loraedge/loraedge/internal/sdnotify"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/sensorthings"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
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
// and the flags of cmd. With sections, only those top-level keys are
// checked: a command that serves no HTTP does not refuse to run over the
// http section.
func loadConfig(cmd *cobra.Command, e env, sections ...string) (config.Config, error) {
	return config.Load(config.Source{File: configFile(cmd, e), Env: e.environ, Flags: cmd.Flags(), FlagKeys: runFlags, Sections: sections})
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

// daemon is the composition root: every component, built with explicit
// dependencies.
type daemon struct {
	cfg       config.Config
	log       *slog.Logger
	metrics   *prometheus.Registry
	devices   *device.Registry
	profiles  *profile.Set
	adr       adrPolicy
	store     *store.Store
	udp       *semtechudp.Server
	net       *network.Server
	ingest    *ingest.Ingester
	gauges    *gauge.Deriver
	bridge    *bridge
	station   *basicstation.Server // nil unless basicstation.listen is set
	http      *httpapi.Server
	mqtt      *mqtt.Sink
	mqttin    *mqttin.Source
	influx    *influx.Sink
	sta       *sensorthings.Sink
	uplinks   *uplinkFanout
	observers *observerFanout
	frames    *framelog.Log
	alerts    *alert.Engine
	mosmix    *mosmix.Fetcher     // nil unless roadcast is enabled
	measures  measureOnce         // energy measures of the configuration and the API
	fed       *roaming.Federation // nil unless roaming is enabled
	sched     *reportsched.Scheduler
	simClock  atomic.Pointer[sim.Clock]
	// ready is set once the store is open and the UDP port bound.
	ready atomic.Bool
	// reload loads the configuration again for SIGHUP.
	reload     func() (config.Config, error)
	configFile string
	notify     *sdnotify.Notifier

	// peerActions is the outbox and ledger of alert actions across the
	// county network; nil unless roaming is enabled.
	peerActions *roaming.Actions
}

// run binds the UDP port, runs every component and shuts down in order:
// sources (UDP, network, simulator) stop first, then the ingest queue is
// drained into the store, then the store closes.
func (d *daemon) run(ctx context.Context) error {
	defer d.store.Close()
	defer d.net.Close()
	if d.fed != nil {
		defer d.fed.Close() // Run closes it too; this covers a start that fails before
		defer d.peerActions.Close()
	}
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
		scheme := "http://"
		if d.http.TLSEnabled() {
			scheme = "https://"
		}
		d.log.Info("web page and API", "url", scheme+reachable(httpListener.Addr())+"/")
		for _, w := range d.cfg.HTTP.Warnings() {
			d.log.Warn(w)
		}
	}

	ingestCtx, stopIngest := context.WithCancel(context.WithoutCancel(ctx))
	defer stopIngest()
	ingestDone := make(chan error, 1)
	go func() { ingestDone <- d.ingest.Run(ingestCtx) }()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.udp.Run(gctx) })
	g.Go(func() error { return d.bridge.run(gctx) })
	if d.station != nil {
		g.Go(func() error { return d.station.Run(gctx) })
		g.Go(func() error { return d.bridge.runStation(gctx) })
		d.log.Info("basics station LNS", "listen", d.station.Addr().String())
	}
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
	if d.sta != nil {
		g.Go(func() error { return d.sta.Run(gctx) })
	}
	if d.mqttin != nil {
		g.Go(func() error { return d.mqttin.Run(gctx) })
	}
	if d.mosmix != nil {
		g.Go(func() error { return d.mosmix.Run(gctx) })
	}
	if d.fed != nil {
		g.Go(func() error { return d.fed.Run(gctx) })
		g.Go(func() error { return d.peerActions.Run(gctx) })
	}
	if d.sched != nil {
		g.Go(func() error { d.sched.Run(gctx, time.Minute); return nil })
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
// so that `make run` keeps showing data. Each run plays on the clock the
// daemon judges time by (see simStart and now).
func (d *daemon) runSimulator(ctx context.Context) error {
	const week = 7 * 24 * time.Hour
	clock := d.simClock.Load()
	for ctx.Err() == nil {
		s, err := sim.New(sim.Options{
			Target: reachable(d.udp.LocalAddr()),
			Config: d.cfg.Simulator,
			Start:  clock.Start(),
			Clock:  clock,
			Logger: d.log,
		})
		if err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("simulator: %w", err)
		}
		clock = sim.NewClock(clock.Start().Add(week), d.cfg.Simulator.Speed)
		d.simClock.Store(clock)
	}
	return nil
}

// simStart is where the simulator's first run starts on its virtual clock:
// in the current week (same weekday and hour as the scenario's own
// start), so the web page's "last hours" views show it.
func simStart(scenario string) time.Time {
	const week = 7 * 24 * time.Hour
	sc, _ := sim.LookupScenario(scenario)
	start := sc.Start
	if now := time.Now(); now.After(start) {
		start = start.Add(now.Sub(start) / week * week)
	}
	return start
}

// now is the daemon's clock for time-driven logic (alerts): the
// simulator's virtual clock under the simulator (set from the start, so
// that no rule ever compares virtual data times with the wall clock),
// else the wall clock.
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

// healthy is nil once the daemon is up and its store has not failed.
func (d *daemon) healthy() error {
	if !d.ready.Load() {
		return errors.New("starting")
	}
	return d.store.Err()
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
