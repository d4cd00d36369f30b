package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/framelog"
	"github.com/loraedge/loraedge/internal/gauge"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/influx"
	"github.com/loraedge/loraedge/internal/ingest"
	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/mqtt"
	"github.com/loraedge/loraedge/internal/mqttin"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/sdnotify"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/uplink"
)

func newDaemon(cfg config.Config, logw io.Writer) (*daemon, error) {
	if cfg.Simulator.Enabled {
		if _, ok := sim.LookupScenario(cfg.Simulator.Scenario); !ok {
			return nil, fmt.Errorf("simulator.scenario: unknown scenario %q (have %v)", cfg.Simulator.Scenario, sim.Scenarios())
		}
		cfg = withSimulator(cfg)
		cfg.Alert = demoAlerts(cfg.Alert)
	}
	d := &daemon{cfg: cfg, log: newLogger(cfg.Log, logw), metrics: prometheus.NewRegistry(), notify: sdnotify.New()}
	if cfg.Simulator.Enabled {
		d.simClock.Store(sim.NewClock(simStart(cfg.Simulator.Scenario), cfg.Simulator.Speed))
	}
	if err := d.build(); err != nil {
		if d.net != nil {
			d.net.Close()
		}
		if d.fed != nil {
			_ = d.fed.Close()
		}
		if d.peerActions != nil {
			_ = d.peerActions.Close()
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
	kek, err := cfg.Keys.LoadKEK()
	if err != nil {
		return err
	}
	d.store, err = store.Open(store.Options{
		Dir:        filepath.Join(cfg.DataDir, "store"),
		Config:     cfg.Store,
		Logger:     d.log,
		Registerer: d.metrics,
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
	if d.frames, err = framelog.New(cfg.FrameLog, d.metrics); err != nil {
		return err
	}
	d.observers = &observerFanout{}
	if cfg.Simulator.Enabled {
		// A newcomer running `make run` sees the values arrive.
		d.observers.add(liveLog{d.log})
	}
	d.gauges = gauge.New(cfg.Sites)
	d.ingest, err = ingest.New(ingest.Options{
		Devices: d.devices, Profiles: d.profiles, Store: d.store, Observers: []ingest.Observer{d.observers}, Results: d.frames,
		Derive: d.gauges, Logger: d.log, Registerer: d.metrics,
	})
	if err != nil {
		return err
	}
	d.bridge = newBridge()
	d.bridge.frames, d.bridge.now = d.frames, d.now
	d.uplinks = &uplinkFanout{hs: []uplink.Handler{d.ingest}}
	d.udp, err = semtechudp.NewServer(semtechudp.Options{
		Config:     cfg.UDP,
		Gateways:   cfg.Gateways,
		Logger:     d.log,
		Registerer: d.metrics,
		OnTxAck:    d.bridge.onTxAck,
		// The simulator's gateways date frames by its virtual clock.
		TrustGPSTime: cfg.Simulator.Enabled,
	})
	if err != nil {
		return err
	}
	d.adr.profiles.Store(d.profiles)
	netOpts := network.Options{
		Config:     cfg.Network,
		ADRPolicy:  &d.adr,
		Devices:    d.devices,
		StatePath:  filepath.Join(cfg.DataDir, "network.db"),
		KEK:        kek,
		Sender:     d.bridge,
		Handler:    d.uplinks,
		Frames:     d.frames,
		Outcomes:   downlinkOutcomes{d},
		Logger:     d.log,
		Registerer: d.metrics,
	}
	d.bridge.txPower = cfg.Network.DownlinkTXPower
	if err := d.buildFederation(&netOpts); err != nil {
		return err
	}
	d.net, err = network.NewServer(netOpts)
	if err != nil {
		return err
	}
	d.bridge.udp, d.bridge.net = d.udp, d.net
	if err := d.buildStation(); err != nil {
		return err
	}
	if err := d.buildMQTT(); err != nil {
		return err
	}
	if err := d.buildInflux(); err != nil {
		return err
	}
	if err := d.buildSensorThings(); err != nil {
		return err
	}
	if err := d.buildRoadcast(); err != nil {
		return err
	}
	if err := d.buildAlerts(); err != nil {
		return err
	}
	if err := d.buildSchedule(); err != nil {
		return err
	}
	if cfg.HTTP.Listen != "" {
		d.http, err = httpapi.New(httpapi.Options{
			Config:   cfg.HTTP,
			Gateways: gatewayList{udp: d.udp, station: d.station}, Devices: d.devices, Sessions: d.net, MAC: macViews{d.net}, Sites: siteList(cfg.Sites),
			Series: d.store, Downlinks: downlinker{d.net, d.profiles},
			OpenData:  openData{cfg: cfg.OpenData, devices: d.devices, series: d.store, sites: cfg.Sites},
			Reports:   reportService{d.energyService()},
			Measures:  d.measureService(),
			Scheduled: d.scheduled(),
			Alerts:    d.alertService(),
			Roads:     d.roadForecasts(),
			Civil:     d.civilService(),
			Datex2:    datex2Publisher{cfg: cfg.Datex2, sites: cfg.Sites, devices: d.devices.List, last: d.store, now: d.now},
			Frames:    d.frames,
			Peers:     d.peerLister(),
			Gatherer:  d.metrics, Registerer: d.metrics, Logger: d.log, Now: d.now,
			Ready: d.healthy,
		})
		if err != nil {
			return err
		}
	}
	return nil
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

// alertService is the API's view of the engine, nil when alerts are off
// (the API then answers 501).
func (d *daemon) alertService() httpapi.AlertService {
	if d.alerts == nil {
		return nil
	}
	return alertService{eng: d.alerts, now: d.now}
}

// loadProfiles loads the built-in firmware profiles, then the configured
// directory's, and checks that every device names a known profile.
func loadProfiles(c config.Config) (*profile.Set, error) {
	reg, err := all.NewRegistry()
	if err != nil {
		return nil, err
	}
	set, err := profile.LoadDefault(reg, c.Profiles.Dir)
	if err != nil {
		return nil, fmt.Errorf("firmware profiles: %w", err)
	}
	var errs []error
	for i, d := range c.Devices {
		if d.Profile == "" {
			continue
		}
		if _, ok := set.Get(d.Profile); !ok {
			errs = append(errs, fmt.Errorf("devices[%d].profile: unknown firmware profile %q%s", i, d.Profile,
				inputerr.Suggest(d.Profile, set.IDs(), "vendor/model")))
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
				Road: s.Road, Km: s.Km, Route: s.Route, Team: s.Team, MosmixStation: s.MosmixStation,
				GaugeSite: s.Gauge, Capacity: s.Capacity, Tags: s.Tags})
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
