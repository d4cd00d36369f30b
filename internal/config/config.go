// Package config defines loraedge's configuration, its defaults and its
// validation, and loads it from flags, environment and one YAML file.
//
// Viper is used only here: every other package receives its typed section.
// Loading is strict: an unknown key or a value of the wrong type fails with
// the key's path, and Validate reports every problem at once.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/influx"
	"github.com/loraedge/loraedge/internal/mqtt"
	"github.com/loraedge/loraedge/internal/mqttin"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/site"
)

// Config is the whole configuration of one loraedge instance.
type Config struct {
	// GatewayID names this loraedge instance in topics and tags.
	GatewayID string          `mapstructure:"gateway_id"`
	DataDir   string          `mapstructure:"data_dir"`
	Log       Log             `mapstructure:"log"`
	UDP       UDP             `mapstructure:"udp"`
	Network   network.Config  `mapstructure:"network"`
	Profiles  Profiles        `mapstructure:"profiles"`
	Store     Store           `mapstructure:"store"`
	Simulator Simulator       `mapstructure:"simulator"`
	HTTP      HTTP            `mapstructure:"http"`
	Influx    influx.Config   `mapstructure:"influx"`
	MQTT      mqtt.Config     `mapstructure:"mqtt"`
	MQTTIn    mqttin.Config   `mapstructure:"mqttin"`
	Energy    energy.Config   `mapstructure:"energy"`
	Alert     alert.Config    `mapstructure:"alert"`
	Keys      Keys            `mapstructure:"keys"`
	OpenData  OpenData        `mapstructure:"opendata"`
	Sites     []site.Site     `mapstructure:"sites"`
	Devices   []device.Device `mapstructure:"devices"`
}

// Log configures the process logger.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // json (for journald) or text
}

// UDP configures the Semtech UDP (GWMP) listener for packet forwarders.
type UDP struct {
	Listen    string `mapstructure:"listen"`
	QueueSize int    `mapstructure:"queue_size"`
	// ReadBuffer is the socket receive buffer; bursts beyond it are dropped
	// by the kernel (capped by net.core.rmem_max).
	ReadBuffer int `mapstructure:"read_buffer_bytes"`
}

// Profiles configures where firmware profiles come from in addition to the
// ones built into the binary.
type Profiles struct {
	Dir string `mapstructure:"dir"`
}

// Store configures the embedded time-series store.
type Store struct {
	CommitInterval time.Duration `mapstructure:"commit_interval"`
	// DiskBudget is the most bytes the store may use; 0 means no budget.
	DiskBudget int64 `mapstructure:"disk_budget_bytes"`
}

// Simulator runs virtual gateways and devices inside the daemon.
type Simulator struct {
	Enabled  bool    `mapstructure:"enabled"`
	Scenario string  `mapstructure:"scenario"`
	Speed    float64 `mapstructure:"speed"`
	Gateways int     `mapstructure:"gateways"`
}

// HTTP configures the REST API, the web page, /metrics, /healthz and
// /readyz.
type HTTP struct {
	// Listen is the TCP address; empty turns the HTTP server off.
	Listen string `mapstructure:"listen"`
	// AdminToken may do everything, ReadToken only read. Secrets: prefer
	// LORAEDGE_HTTP_ADMIN_TOKEN over the file.
	AdminToken string `mapstructure:"admin_token"`
	ReadToken  string `mapstructure:"read_token"`
}

// Keys configures how device keys are kept at rest.
type Keys struct {
	// KEKFile is a file (mode 600) with a 64-hex-digit key-encryption key;
	// KEK is the same inline (better: LORAEDGE_KEYS_KEK). With either, the
	// session keys and API-added device keys in data_dir are encrypted.
	KEKFile string `mapstructure:"kek_file"`
	KEK     string `mapstructure:"kek"`
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
		GatewayID: "loraedge",
		DataDir:   "/var/lib/loraedge",
		Log:       Log{Level: "info", Format: "json"},
		UDP:       UDP{Listen: ":1700", QueueSize: 4096, ReadBuffer: 4 << 20},
		Network:   network.DefaultConfig(),
		Store:     Store{CommitInterval: 10 * time.Millisecond},
		Simulator: Simulator{Scenario: "all", Speed: 600, Gateways: 3},
		OpenData:  OpenData{Licence: "dl-de/by-2-0"},
		Influx:    influx.DefaultConfig(),
		MQTT:      mqtt.DefaultConfig(),
		MQTTIn:    mqttin.DefaultConfig(),
		Alert: alert.Config{
			EvalInterval: time.Second, QueueSize: 1024, Language: "de", Timezone: "Europe/Berlin", GroupBy: "site",
			RepeatInterval: time.Hour, EscalateAfter: 30 * time.Minute, ResolvedRetention: 24 * time.Hour,
			RetryMin: time.Second, RetryMax: 5 * time.Minute,
		},
		Energy: energy.Config{
			Timezone: "Europe/Berlin", AreaBasis: "bgf", DiscoverMeters: ptr(true),
			ReferenceDegreeDays: energy.DefaultReferenceDegreeDays, NightStartHour: ptr(0), NightEndHour: ptr(4),
			LeakNightLPH: energy.DefaultLeakNightLPH, DropTolerance: 0.001,
		},
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
	if c.UDP.Listen == "" {
		add("udp.listen", "required, e.g. \":1700\"")
	}
	if c.UDP.ReadBuffer < 64<<10 || c.UDP.ReadBuffer > 256<<20 {
		add("udp.read_buffer_bytes", "%d is outside 64 KiB..256 MiB", c.UDP.ReadBuffer)
	}
	if c.UDP.QueueSize < 1 {
		add("udp.queue_size", "must be at least 1, is %d", c.UDP.QueueSize)
	}
	if err := c.Network.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Store.CommitInterval <= 0 || c.Store.CommitInterval > time.Second {
		add("store.commit_interval", "%s is outside (0, 1s]: a power cut loses at most this much", c.Store.CommitInterval)
	}
	if c.Store.DiskBudget < 0 {
		add("store.disk_budget_bytes", "must not be negative")
	}
	if c.Simulator.Speed <= 0 {
		add("simulator.speed", "must be positive, is %g", c.Simulator.Speed)
	}
	if c.Simulator.Gateways < 1 || c.Simulator.Gateways > 16 {
		add("simulator.gateways", "%d is outside 1..16", c.Simulator.Gateways)
	}
	if c.HTTP.Listen != "" {
		if c.HTTP.AdminToken == "" && c.HTTP.ReadToken == "" {
			add("http", "listen is set but no admin_token or read_token: set one (LORAEDGE_HTTP_ADMIN_TOKEN) or turn the server off with listen: \"\"")
		}
		for key, tok := range map[string]string{"http.admin_token": c.HTTP.AdminToken, "http.read_token": c.HTTP.ReadToken} {
			if tok != "" && len(tok) < 16 {
				add(key, "must have at least 16 characters")
			}
		}
		if c.HTTP.AdminToken != "" && c.HTTP.AdminToken == c.HTTP.ReadToken {
			add("http.read_token", "must differ from admin_token")
		}
	}
	if c.Keys.KEK != "" && c.Keys.KEKFile != "" {
		add("keys", "set kek or kek_file, not both")
	}
	if k := c.Keys.KEK; k != "" && (len(k) != 64 || strings.Trim(strings.ToLower(k), "0123456789abcdef") != "") {
		add("keys.kek", "must be 64 hex digits")
	}
	if err := c.Influx.Validate(); err != nil {
		add("influx", "%v", err)
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
	}
	if err := c.Energy.Validate(); err != nil {
		errs = append(errs, err)
	} else if err := c.Energy.ValidateRefs(c.Sites); err != nil {
		errs = append(errs, err)
	}
	siteIDs := map[string]bool{}
	for i, s := range c.Sites {
		if err := s.Validate(); err != nil {
			add(fmt.Sprintf("sites[%d]", i), "%v", err)
		}
		if siteIDs[s.ID] {
			add(fmt.Sprintf("sites[%d].id", i), "%q listed twice", s.ID)
		}
		siteIDs[s.ID] = true
	}
	seen := map[lorawan.EUI64]bool{}
	for i, d := range c.Devices {
		if err := d.Validate(); err != nil {
			add(fmt.Sprintf("devices[%d]", i), "%v", err)
		}
		if seen[d.DevEUI] {
			add(fmt.Sprintf("devices[%d].dev_eui", i), "%s listed twice", d.DevEUI)
		}
		seen[d.DevEUI] = true
		if d.Site != "" && !siteIDs[d.Site] {
			add(fmt.Sprintf("devices[%d].site", i), "unknown site %q", d.Site)
		}
	}
	return errors.Join(errs...)
}

func ptr[T any](v T) *T { return &v }

// ParseLevel parses a log level name.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
	}
	return l, nil
}
