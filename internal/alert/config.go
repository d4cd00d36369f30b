package alert

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/measurement"
)

// Rule kinds.
const (
	KindThreshold  = "threshold"   // a quantity above/below on/off values for a while
	KindIce        = "ice"         // road station: internal/ice Tracker per road site
	KindCO2        = "co2"         // classroom CO2 bands (UBA), preset of threshold
	KindAirQuality = "air_quality" // outdoor PM10/PM2.5/NO2 period means and exceedance days
	KindRate       = "rate"        // rate of change per hour
	KindLeak       = "leak"        // water: no zero-flow hour in 24 h, night minimum flow
	KindBurst      = "burst"       // water: flow above a share of nominal for a while
	KindFlag       = "flag"        // meter alarm flags (quantity == 1)
	KindStale      = "stale"       // missed uplinks
	KindGateway    = "gateway"     // gateway offline
	KindBattery    = "battery"     // low battery (voltage, percent or low_battery flag)
	KindDisk       = "disk"        // store disk budget
	KindWaterLevel = "water_level" // river gauge: warning stages, rate of rise, forecast of the next stage
	KindCrowd      = "crowd"       // area occupancy or inflow above a limit
)

var kinds = []string{KindThreshold, KindIce, KindCO2, KindAirQuality, KindRate, KindLeak, KindBurst,
	KindFlag, KindStale, KindGateway, KindBattery, KindDisk, KindPeakLoad, KindEnergyWaste, KindWaterLevel, KindCrowd}

// Config is the alerting section of the daemon configuration.
type Config struct {
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// EvalInterval is the real-time period of the tick that checks stale
	// sensors, gateways, disk, repeats and escalations (default 1s; the
	// tick reads the injected clock, so a fast virtual clock is fine).
	EvalInterval time.Duration `mapstructure:"eval_interval" yaml:"eval_interval"`
	// QueueSize bounds the batches waiting for evaluation (default 1024).
	QueueSize int `mapstructure:"queue_size" yaml:"queue_size"`
	// Language of notifications: "de" (default) or "en"; receivers may override.
	Language string `mapstructure:"language" yaml:"language"`
	// Timezone for texts and calendar periods (default Europe/Berlin).
	Timezone string `mapstructure:"timezone" yaml:"timezone"`
	// GroupBy: "site" (default), "route" (road sites by Streuroute, others by
	// site) or "none": alerts of one group due in one evaluation go out as
	// one notification.
	GroupBy string `mapstructure:"group_by" yaml:"group_by"`
	// GroupWait holds the first notification of a new alert this long
	// (default 0) so that alerts of one group starting close together go
	// out in one message.
	GroupWait time.Duration `mapstructure:"group_wait" yaml:"group_wait"`
	// RepeatInterval re-sends firing, unacknowledged alerts (default 1h).
	RepeatInterval time.Duration `mapstructure:"repeat_interval" yaml:"repeat_interval"`
	// EscalateAfter sends an unacknowledged firing alert to the rule's
	// escalation receivers after this long (default 30m).
	EscalateAfter time.Duration `mapstructure:"escalate_after" yaml:"escalate_after"`
	// ResolvedRetention keeps resolved alerts for List (default 24h).
	ResolvedRetention time.Duration `mapstructure:"resolved_retention" yaml:"resolved_retention"`
	// Receivers used by rules that name none.
	DefaultReceivers []string `mapstructure:"default_receivers" yaml:"default_receivers"`
	// Inhibit mutes target alerts while a source alert fires with equal labels.
	// Empty: the default "warnung mutes vorwarnung on the same section".
	Inhibit   []InhibitConfig  `mapstructure:"inhibit" yaml:"inhibit"`
	Receivers []ReceiverConfig `mapstructure:"receivers" yaml:"receivers"`
	Rules     []RuleConfig     `mapstructure:"rules" yaml:"rules"`
	// Retry of notifications from the durable queue.
	RetryMin time.Duration `mapstructure:"retry_min" yaml:"retry_min"` // default 1s
	RetryMax time.Duration `mapstructure:"retry_max" yaml:"retry_max"` // default 5m
}

// InhibitConfig mutes alerts of level <= TargetMax while an alert of level
// >= SourceMin fires with the same values of the Equal labels.
type InhibitConfig struct {
	SourceMin string   `mapstructure:"source_min" yaml:"source_min"`
	TargetMax string   `mapstructure:"target_max" yaml:"target_max"`
	Equal     []string `mapstructure:"equal" yaml:"equal"`
}

// ReceiverConfig is one notification target; notify owns its schema
// and checks.
type ReceiverConfig = notify.Receiver

// Select picks devices (and through them sites). Within a list any entry
// matches; across lists all given lists must match. An empty Select
// matches everything.
type Select struct {
	Devices  []string `mapstructure:"devices" yaml:"devices"` // DevEUI hex
	Profiles []string `mapstructure:"profiles" yaml:"profiles"`
	Sites    []string `mapstructure:"sites" yaml:"sites"`
	Teams    []string `mapstructure:"teams" yaml:"teams"`
	Tags     []string `mapstructure:"tags" yaml:"tags"`
}

// Band is one level of a threshold: it is entered when the value passes On
// and left when it passes back over Off.
type Band struct {
	On    float64 `mapstructure:"on" yaml:"on"`
	Off   float64 `mapstructure:"off" yaml:"off"`
	Level string  `mapstructure:"level" yaml:"level"`
}

// ActionConfig queues a downlink when the rule's alert starts firing.
type ActionConfig struct {
	// Command of the target's firmware profile, e.g. "close".
	Command string `mapstructure:"command" yaml:"command"`
	// Profile selects the target devices at the alert's site (e.g.
	// "generic/valve-actuator"); Devices names them explicitly instead.
	Profile   string             `mapstructure:"profile" yaml:"profile"`
	Devices   []string           `mapstructure:"devices" yaml:"devices"`
	Args      map[string]float64 `mapstructure:"args" yaml:"args"`
	Confirmed bool               `mapstructure:"confirmed" yaml:"confirmed"`
	// Expiry ends the tries of an action (default 1h), on a local device
	// (its queued downlink is dropped unsent) as on one homed at a peer: a
	// valve close must not come a day late.
	Expiry time.Duration `mapstructure:"expiry" yaml:"expiry,omitempty"`
}

// RuleConfig is one alerting rule. Kind decides which fields apply.
type RuleConfig struct {
	Name   string `mapstructure:"name" yaml:"name"`
	Kind   string `mapstructure:"kind" yaml:"kind"`
	Select Select `mapstructure:"select" yaml:"select"`
	// Receivers and EscalateTo name receivers; EscalateAfter and
	// RepeatInterval override the defaults.
	Receivers      []string      `mapstructure:"receivers" yaml:"receivers"`
	EscalateTo     []string      `mapstructure:"escalate_to" yaml:"escalate_to"`
	EscalateAfter  time.Duration `mapstructure:"escalate_after" yaml:"escalate_after"`
	RepeatInterval time.Duration `mapstructure:"repeat_interval" yaml:"repeat_interval"`
	// For keeps the alert pending until its condition held this long.
	For    time.Duration `mapstructure:"for" yaml:"for"`
	Action *ActionConfig `mapstructure:"action" yaml:"action"`

	// threshold, co2, rate, battery, burst
	Quantity  string        `mapstructure:"quantity" yaml:"quantity"`
	Direction string        `mapstructure:"direction" yaml:"direction"` // "above" (default) or "below"
	On        *float64      `mapstructure:"on" yaml:"on"`
	Off       *float64      `mapstructure:"off" yaml:"off"`
	Level     string        `mapstructure:"level" yaml:"level"` // level of the single on/off band (default warnung)
	Bands     []Band        `mapstructure:"bands" yaml:"bands"`
	Window    time.Duration `mapstructure:"window" yaml:"window"` // mean (threshold) or slope (rate) window

	// air_quality
	Period          string        `mapstructure:"period" yaml:"period"` // "hour" or "day"
	Limit           float64       `mapstructure:"limit" yaml:"limit"`
	AllowedPerYear  int           `mapstructure:"allowed_per_year" yaml:"allowed_per_year"`
	MinCoverage     float64       `mapstructure:"min_coverage" yaml:"min_coverage"`         // default 0.75
	DefaultInterval time.Duration `mapstructure:"default_interval" yaml:"default_interval"` // when the profile states none (stale, coverage)

	// leak, burst
	NightFrom   int           `mapstructure:"night_from" yaml:"night_from"` // hour, default 2
	NightTo     int           `mapstructure:"night_to" yaml:"night_to"`     // hour, default 4
	NightMinLPH float64       `mapstructure:"night_min_lph" yaml:"night_min_lph"`
	ZeroHourIn  time.Duration `mapstructure:"zero_hour_in" yaml:"zero_hour_in"` // default 24h; <0 disables
	NominalM3H  float64       `mapstructure:"nominal_m3h" yaml:"nominal_m3h"`
	Share       float64       `mapstructure:"share" yaml:"share"`               // burst: share of nominal, default 0.2
	PulseLitres float64       `mapstructure:"pulse_litres" yaml:"pulse_litres"` // litres per pulse_count step, default 1

	// flag
	Quantities []string `mapstructure:"quantities" yaml:"quantities"`

	// stale
	Factor float64 `mapstructure:"factor" yaml:"factor"` // default 3

	// gateway
	OfflineAfter time.Duration `mapstructure:"offline_after" yaml:"offline_after"` // default 5m
	// MissingTxAcks in a row, while PULL_DATA continue, raise the alert too
	// (default 3).
	MissingTxAcks int `mapstructure:"missing_tx_acks" yaml:"missing_tx_acks"`

	// battery
	VoltageBelow float64 `mapstructure:"voltage_below" yaml:"voltage_below"`
	PercentBelow float64 `mapstructure:"percent_below" yaml:"percent_below"`

	// disk
	BudgetBytes int64   `mapstructure:"budget_bytes" yaml:"budget_bytes"` // default: Options.DiskBudget
	MaxShare    float64 `mapstructure:"max_share" yaml:"max_share"`       // default 0.9

	// ice: zero fields take internal/ice defaults
	Ice IceConfig `mapstructure:"ice" yaml:"ice"`

	// peak_load: the contract's 15-minute peak limit
	LimitKW float64 `mapstructure:"limit_kw" yaml:"limit_kw"`
	// energy_waste: the least rise of the night base load (also Share,
	// Factor, NightFrom/NightTo)
	MinKW float64 `mapstructure:"min_kw" yaml:"min_kw"`
	// water_level (waterlevel.go), crowd (crowd.go)
	WaterLevel WaterLevelConfig `mapstructure:"water_level" yaml:"water_level"`
	Crowd      CrowdConfig      `mapstructure:"crowd" yaml:"crowd"`
	// energy_waste: a heating meter's hot-water base per day in its unit
	// for the summer check; 0 learns it
	HotWaterPerDay float64 `mapstructure:"hot_water_per_day" yaml:"hot_water_per_day"`
}

// IceConfig tunes the ice rule; zero fields keep internal/ice defaults.
type IceConfig struct {
	VorwarnFBT  float64       `mapstructure:"vorwarn_fbt" yaml:"vorwarn_fbt"`
	WarnFBT     float64       `mapstructure:"warn_fbt" yaml:"warn_fbt"`
	ClearFBT    float64       `mapstructure:"clear_fbt" yaml:"clear_fbt"`
	ClearHold   time.Duration `mapstructure:"clear_hold" yaml:"clear_hold"`
	StaleAfter  time.Duration `mapstructure:"stale_after" yaml:"stale_after"`
	TrendWindow time.Duration `mapstructure:"trend_window" yaml:"trend_window"`
	// ForecastLead is how far ahead ice risk in the physics forecast raises
	// a Vorwarnung (default 3 h: a spreading route takes 2-3 h).
	ForecastLead time.Duration `mapstructure:"forecast_lead" yaml:"forecast_lead"`
}

// DefaultConfig returns the configuration whose values fill what a
// configuration leaves zero.
func DefaultConfig() Config {
	return Config{
		EvalInterval:      time.Second,
		QueueSize:         1024,
		Language:          "de",
		Timezone:          "Europe/Berlin",
		GroupBy:           "site",
		RepeatInterval:    time.Hour,
		EscalateAfter:     30 * time.Minute,
		ResolvedRetention: 24 * time.Hour,
		RetryMin:          time.Second,
		RetryMax:          5 * time.Minute,
	}
}

// withDefaults fills the zero fields of a validated configuration from
// DefaultConfig.
func withDefaults(cfg Config) Config {
	d := DefaultConfig()
	for _, f := range []struct{ v, def *time.Duration }{{&cfg.EvalInterval, &d.EvalInterval},
		{&cfg.RepeatInterval, &d.RepeatInterval}, {&cfg.EscalateAfter, &d.EscalateAfter},
		{&cfg.ResolvedRetention, &d.ResolvedRetention}, {&cfg.RetryMin, &d.RetryMin}, {&cfg.RetryMax, &d.RetryMax}} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	for _, f := range []struct{ v, def *string }{{&cfg.Language, &d.Language}, {&cfg.Timezone, &d.Timezone}, {&cfg.GroupBy, &d.GroupBy}} {
		if *f.v == "" {
			*f.v = *f.def
		}
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = d.QueueSize
	}
	return cfg
}

// problems collects configuration problems, each with its path.
type problems []error

func (ps *problems) add(format string, a ...any) { *ps = append(*ps, fmt.Errorf(format, a...)) }

// name reports a missing or repeated name at path p, records it in seen
// and tells whether it was new.
func (ps *problems) name(p, name string, seen map[string]bool) bool {
	switch {
	case name == "":
		ps.add("%s.name: required", p)
	case seen[name]:
		ps.add("%s.name: duplicate %q", p, name)
	}
	fresh := name != "" && !seen[name]
	seen[name] = true
	return fresh
}

// Validate reports every problem at once, each with its path.
func (c Config) Validate() error {
	var ps problems
	c.checkGeneral(&ps)
	names := c.checkReceivers(&ps)
	checkRecv := func(p string, list []string) {
		for _, n := range list {
			if !names[n] {
				ps.add("%s: unknown receiver %q%s", p, n, inputerr.Suggest(n, slices.Sorted(maps.Keys(names)), ""))
			}
		}
	}
	checkRecv("alert.default_receivers", c.DefaultReceivers)
	for i, in := range c.Inhibit {
		p := fmt.Sprintf("alert.inhibit[%d]", i)
		if _, err := ParseLevel(in.SourceMin); err != nil {
			ps.add("%s.source_min: %w", p, err)
		}
		if _, err := ParseLevel(in.TargetMax); err != nil {
			ps.add("%s.target_max: %w", p, err)
		}
	}
	rules := map[string]bool{}
	for i, r := range c.Rules {
		p := fmt.Sprintf("alert.rules[%d]", i)
		if ps.name(p, r.Name, rules) && strings.ContainsAny(r.Name, "/ ") {
			ps.add("%s.name: %q must not contain '/' or spaces", p, r.Name)
		}
		checkRecv(p+".receivers", r.Receivers)
		checkRecv(p+".escalate_to", r.EscalateTo)
		r.check(p, &ps)
	}
	return errors.Join(ps...)
}

func (c Config) checkGeneral(ps *problems) {
	if c.Language != "" && c.Language != "de" && c.Language != "en" {
		ps.add("alert.language: %q is not de or en", c.Language)
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			ps.add("alert.timezone: %w", err)
		}
	}
	switch c.GroupBy {
	case "", "site", "route", "none":
	default:
		ps.add("alert.group_by: %q is not site, route or none", c.GroupBy)
	}
	for name, d := range map[string]time.Duration{"eval_interval": c.EvalInterval, "repeat_interval": c.RepeatInterval,
		"escalate_after": c.EscalateAfter, "group_wait": c.GroupWait, "resolved_retention": c.ResolvedRetention, "retry_min": c.RetryMin, "retry_max": c.RetryMax} {
		if d < 0 {
			ps.add("alert.%s: must not be negative", name)
		}
	}
	if c.QueueSize < 0 {
		ps.add("alert.queue_size: must not be negative")
	}
}

// checkReceivers checks the receivers and returns their names.
func (c Config) checkReceivers(ps *problems) map[string]bool {
	names := map[string]bool{}
	for i, r := range c.Receivers {
		p := fmt.Sprintf("alert.receivers[%d]", i)
		ps.name(p, r.Name, names)
		*ps = append(*ps, r.Problems(p)...)
	}
	return names
}

// check reports the problems of one rule beyond its name and receivers;
// its kind checks its own fields.
func (r RuleConfig) check(p string, ps *problems) {
	if r.For < 0 || r.EscalateAfter < 0 || r.RepeatInterval < 0 || r.Window < 0 {
		ps.add("%s: durations must not be negative", p)
	}
	if !slices.Contains(kinds, r.Kind) {
		ps.add("%s.kind: %q is not one of %v", p, r.Kind, kinds)
		return
	}
	if r.Level != "" {
		if _, err := ParseLevel(r.Level); err != nil {
			ps.add("%s.level: %w", p, err)
		}
	}
	for j, b := range r.Bands {
		if _, err := ParseLevel(b.Level); err != nil {
			ps.add("%s.bands[%d].level: %w", p, j, err)
		}
	}
	if r.Quantity != "" && !measurement.Known(measurement.Quantity(r.Quantity)) {
		ps.add("%s.quantity: unknown quantity %q", p, r.Quantity)
	}
	switch r.Direction {
	case "", "above", "below":
	default:
		ps.add("%s.direction: %q is not above or below", p, r.Direction)
	}
	if k := kindSpecs[r.Kind]; k.check != nil {
		*ps = append(*ps, k.check(p, r)...)
	}
	if a := r.Action; a != nil {
		if a.Command == "" {
			ps.add("%s.action.command: required", p)
		}
		if a.Profile == "" && len(a.Devices) == 0 {
			ps.add("%s.action: profile or devices required", p)
		}
		if a.Expiry != 0 && (a.Expiry < time.Minute || a.Expiry > 24*time.Hour) {
			ps.add("%s.action.expiry: %s is outside 1m..24h", p, a.Expiry)
		}
	}
}
