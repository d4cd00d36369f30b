// Package config composes loraedge's configuration from the sections that
// the component packages own (each with its Config, DefaultConfig and
// Validate), and loads it from flags, environment and one YAML file.
//
// What stays here belongs to the process rather than to one component: the
// gateway id, the data directory, the logger (built before any component)
// and the open-data licence (which cmd joins with devices and series into
// the API's catalogue), plus the checks that span sections (site and device
// references).
//
// Viper is used only here: every other package receives its typed section.
// Loading is strict: an unknown key or a value of the wrong type fails with
// the key's path, and Validate reports every problem at once.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/basicstation"
	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/datex2"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/framelog"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/influx"
	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/mosmix"
	"github.com/loraedge/loraedge/internal/mqtt"
	"github.com/loraedge/loraedge/internal/mqttin"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/reportsched"
	"github.com/loraedge/loraedge/internal/roaming"
	"github.com/loraedge/loraedge/internal/secret"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/sensorthings"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// Config is the whole configuration of one loraedge instance.
type Config struct {
	// GatewayID names this loraedge instance in topics and tags.
	GatewayID string            `mapstructure:"gateway_id"`
	DataDir   string            `mapstructure:"data_dir"`
	Log       Log               `mapstructure:"log"`
	UDP       semtechudp.Config `mapstructure:"udp"`
	Network   network.Config    `mapstructure:"network"`
	Profiles  profile.Config    `mapstructure:"profiles"`
	Store     store.Config      `mapstructure:"store"`
	Simulator sim.Config        `mapstructure:"simulator"`
	HTTP      httpapi.Config    `mapstructure:"http"`
	Influx    influx.Config     `mapstructure:"influx"`
	MQTT      mqtt.Config       `mapstructure:"mqtt"`
	MQTTIn    mqttin.Config     `mapstructure:"mqttin"`
	Energy    energy.Config     `mapstructure:"energy"`
	Calendar  calendar.Config   `mapstructure:"calendar"`
	// EnergySchedule writes and mails monthly and annual energy reports.
	EnergySchedule reportsched.Config `mapstructure:"energy_schedule"`
	Roadcast       mosmix.Config      `mapstructure:"roadcast"`
	FrameLog       framelog.Config    `mapstructure:"frame_log"`
	Alert          alert.Config       `mapstructure:"alert"`
	Keys           secret.Config      `mapstructure:"keys"`
	Roaming        roaming.Config     `mapstructure:"roaming"`
	OpenData       OpenData           `mapstructure:"opendata"`
	Sites          []site.Site        `mapstructure:"sites"`
	Devices        []device.Device    `mapstructure:"devices"`

	// Gateways lists the packet forwarders allowed to talk GWMP to this
	// daemon; required when udp.listen is not a loopback address.
	Gateways []semtechudp.GatewayConfig `mapstructure:"gateways"`

	// BasicStation is the LoRa Basics Station LNS for gateways across a
	// network.
	BasicStation basicstation.Config `mapstructure:"basicstation"`
	// SensorThings is the OGC SensorThings API sink.
	SensorThings sensorthings.Config `mapstructure:"sensorthings"`
	// Datex2 describes the DATEX II publications of the road stations.
	Datex2 datex2.Config `mapstructure:"datex2"`
}

// Log configures the process logger.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // json (for journald) or text
}

// OpenData describes the licence of the series published as open data
// (the series of devices tagged "opendata").
type OpenData struct {
	Licence     string `mapstructure:"licence"`
	Attribution string `mapstructure:"attribution"`
}

// Default returns the built-in configuration. configs/loraedge.yaml shows
// the same values with comments; a test keeps the two equal.
func Default() Config {
	return Config{
		GatewayID:      "loraedge",
		DataDir:        "/var/lib/loraedge",
		Log:            Log{Level: "info", Format: "json"},
		UDP:            semtechudp.DefaultConfig(),
		Network:        network.DefaultConfig(),
		Store:          store.DefaultConfig(),
		Profiles:       profile.DefaultConfig(),
		Simulator:      sim.DefaultConfig(),
		HTTP:           httpapi.DefaultConfig(),
		Keys:           secret.DefaultConfig(),
		OpenData:       OpenData{Licence: "dl-de/by-2-0"},
		Influx:         influx.DefaultConfig(),
		MQTT:           mqtt.DefaultConfig(),
		MQTTIn:         mqttin.DefaultConfig(),
		Alert:          alert.DefaultConfig(),
		Energy:         energy.DefaultConfig(),
		Calendar:       calendar.DefaultConfig(),
		EnergySchedule: reportsched.DefaultConfig(),
		Roadcast:       mosmix.DefaultConfig(),

		BasicStation: basicstation.DefaultConfig(),
		SensorThings: sensorthings.DefaultConfig(),
		Datex2:       datex2.DefaultConfig(),
		FrameLog:     framelog.DefaultConfig(),
		Roaming:      roaming.DefaultConfig(),
	}
}

// Validate reports every problem in c, each prefixed with its key path.
func (c Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	if c.GatewayID == "" || strings.ContainsAny(c.GatewayID, "/+# ") {
		add("gateway_id", "%q must be non-empty without '/', '+', '#' or spaces (it is an MQTT topic level)", c.GatewayID)
	}
	if c.DataDir == "" {
		add("data_dir", "required")
	}
	if _, err := ParseLevel(c.Log.Level); err != nil {
		add("log.level", "%v", err)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		add("log.format", "%q is not json or text", c.Log.Format)
	}
	if err := c.UDP.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := semtechudp.ValidateGateways(c.UDP, c.Gateways); err != nil {
		errs = append(errs, err)
	}
	if err := c.BasicStation.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Network.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Store.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Simulator.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.HTTP.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Keys.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validateRoaming()...)
	if err := c.Influx.Validate(); err != nil {
		add("influx", "%v", err)
	}
	if err := c.SensorThings.Validate(); err != nil {
		errs = append(errs, inSection("sensorthings", err)...)
	}
	if err := c.Datex2.Validate(); err != nil {
		errs = append(errs, inSection("datex2", err)...)
	}
	mq := c.MQTT
	mq.Gateway = c.GatewayID
	if err := mq.Validate(); err != nil {
		add("mqtt", "%v", err)
	}
	mi := c.MQTTIn
	mi.Gateway = c.GatewayID
	if err := mi.Validate(); err != nil {
		add("mqttin", "%v", err)
	}
	if err := c.Alert.Validate(); err != nil {
		errs = append(errs, err)
	} else if err := c.Alert.ValidateRefs(c.Sites); err != nil {
		errs = append(errs, err)
	}
	if err := c.Energy.Validate(); err != nil {
		errs = append(errs, err)
	} else if err := c.Energy.ValidateRefs(c.Sites); err != nil {
		errs = append(errs, err)
	}
	if err := c.Calendar.Validate(); err != nil {
		errs = append(errs, err)
	} else if err := c.Calendar.ValidateRefs(c.Sites); err != nil {
		errs = append(errs, err)
	}
	if err := c.Roadcast.Validate(); err != nil {
		add("roadcast", "%v", err)
	}
	if err := c.FrameLog.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.scheduleProblems()...)
	siteIDs := map[string]bool{}
	for i, s := range c.Sites {
		for _, err := range flatten(s.Validate()) {
			add(fmt.Sprintf("sites[%d]", i), "%v", err)
		}
		switch {
		case s.MosmixStation == "":
		case s.Kind != site.Road:
			add(fmt.Sprintf("sites[%d].mosmix_station", i), "only road sites have a forecast")
		case !mosmix.ValidStation(s.MosmixStation):
			add(fmt.Sprintf("sites[%d].mosmix_station", i), "%q is not a MOSMIX station id (like 10430 or P0213)", s.MosmixStation)
		}
		if siteIDs[s.ID] {
			add(fmt.Sprintf("sites[%d].id", i), "%q listed twice", s.ID)
		}
		siteIDs[s.ID] = true
	}
	seen := map[lorawan.EUI64]bool{}
	for i, d := range c.Devices {
		for _, err := range flatten(d.Validate()) {
			add(fmt.Sprintf("devices[%d]", i), "%v", err)
		}
		if seen[d.DevEUI] {
			add(fmt.Sprintf("devices[%d].dev_eui", i), "%s listed twice", d.DevEUI)
		}
		seen[d.DevEUI] = true
		if d.Site != "" && !siteIDs[d.Site] {
			add(fmt.Sprintf("devices[%d].site", i), "unknown site %q%s", d.Site, inputerr.Suggest(d.Site, slices.Sorted(maps.Keys(siteIDs)), ""))
		}
	}
	return errors.Join(errs...)
}

// ParseLevel parses a log level name.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
	}
	return l, nil
}

// validateRoaming checks the roaming section and, when it is on, the peer
// table it names against the network's NetID: `loraedge validate` is where
// an operator finds a bad table before the daemon refuses to start.
func (c Config) validateRoaming() []error {
	if err := c.Roaming.Validate(); err != nil {
		return []error{err}
	}
	if !c.Roaming.Enabled {
		return nil
	}
	t, err := roaming.LoadTable(c.Roaming.PeersFile, c.Roaming.NSID)
	if err != nil {
		return []error{fmt.Errorf("roaming.peers_file: %w", err)}
	}
	var errs []error
	if t.NetID != c.Network.NetID {
		errs = append(errs, fmt.Errorf("roaming.peers_file: the table's net_id %s is not network.net_id %s", t.NetID, c.Network.NetID))
	}
	// An ABP device's DevAddr routes its frames: it must lie in its home's
	// block, or every forwarder sends them to the wrong instance.
	for i, d := range c.Devices {
		if d.Activation != device.ABP {
			continue
		}
		home, ok := t.HomeOfDevice(d.DevEUI, d.JoinEUI)
		if !ok {
			errs = append(errs, fmt.Errorf("devices[%d].dev_eui: %s is homed nowhere in the peer table (list it under its home's devices)", i, d.DevEUI))
			continue
		}
		if owner, ok := t.HomeOfDevAddr(d.DevAddr); !ok || owner != home {
			errs = append(errs, fmt.Errorf("devices[%d].dev_addr: %s is not in a block of its home %s", i, d.DevAddr, home.Name))
		}
	}
	return errs
}
