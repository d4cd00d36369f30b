package alert

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

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
)

var kinds = []string{KindThreshold, KindIce, KindCO2, KindAirQuality, KindRate, KindLeak, KindBurst,
	KindFlag, KindStale, KindGateway, KindBattery, KindDisk}

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

// ReceiverConfig is one notification target.
type ReceiverConfig struct {
	Name string `mapstructure:"name" yaml:"name"`
	// Type is "webhook", "mqtt" or "email".
	Type     string `mapstructure:"type" yaml:"type"`
	Language string `mapstructure:"language" yaml:"language"`
	// SendResolved sends the all-clear (default true: the winter service
	// needs the explicit Entwarnung).
	SendResolved *bool `mapstructure:"send_resolved" yaml:"send_resolved"`

	// webhook
	URL          string            `mapstructure:"url" yaml:"url"`
	Alertmanager bool              `mapstructure:"alertmanager" yaml:"alertmanager"` // Alertmanager v4 payload
	Headers      map[string]string `mapstructure:"headers" yaml:"headers"`
	Timeout      time.Duration     `mapstructure:"timeout" yaml:"timeout"` // default 10s

	// mqtt
	TopicPrefix string `mapstructure:"topic_prefix" yaml:"topic_prefix"` // default "loraedge/alerts"

	// email
	SMTPHost string   `mapstructure:"smtp_host" yaml:"smtp_host"`
	SMTPPort int      `mapstructure:"smtp_port" yaml:"smtp_port"` // default 587
	Username string   `mapstructure:"username" yaml:"username"`
	Password string   `mapstructure:"password" yaml:"password"`
	From     string   `mapstructure:"from" yaml:"from"`
	To       []string `mapstructure:"to" yaml:"to"`
	// TLS: "starttls" (default: required unless the host is loopback),
	// "tls" (implicit, port 465) or "none".
	TLS string `mapstructure:"tls" yaml:"tls"`
}

func (r ReceiverConfig) sendResolved() bool { return r.SendResolved == nil || *r.SendResolved }

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

	// battery
	VoltageBelow float64 `mapstructure:"voltage_below" yaml:"voltage_below"`
	PercentBelow float64 `mapstructure:"percent_below" yaml:"percent_below"`

	// disk
	BudgetBytes int64   `mapstructure:"budget_bytes" yaml:"budget_bytes"` // default: Options.DiskBudget
	MaxShare    float64 `mapstructure:"max_share" yaml:"max_share"`       // default 0.9

	// ice: zero fields take internal/ice defaults
	Ice IceConfig `mapstructure:"ice" yaml:"ice"`
}

// IceConfig tunes the ice rule; zero fields keep internal/ice defaults.
type IceConfig struct {
	VorwarnFBT  float64       `mapstructure:"vorwarn_fbt" yaml:"vorwarn_fbt"`
	WarnFBT     float64       `mapstructure:"warn_fbt" yaml:"warn_fbt"`
	ClearFBT    float64       `mapstructure:"clear_fbt" yaml:"clear_fbt"`
	ClearHold   time.Duration `mapstructure:"clear_hold" yaml:"clear_hold"`
	StaleAfter  time.Duration `mapstructure:"stale_after" yaml:"stale_after"`
	TrendWindow time.Duration `mapstructure:"trend_window" yaml:"trend_window"`
}

// Validate reports every problem at once, each with its path.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Language != "" && c.Language != "de" && c.Language != "en" {
		add("alert.language: %q is not de or en", c.Language)
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			add("alert.timezone: %w", err)
		}
	}
	switch c.GroupBy {
	case "", "site", "route", "none":
	default:
		add("alert.group_by: %q is not site, route or none", c.GroupBy)
	}
	for name, d := range map[string]time.Duration{"eval_interval": c.EvalInterval, "repeat_interval": c.RepeatInterval,
		"escalate_after": c.EscalateAfter, "group_wait": c.GroupWait, "resolved_retention": c.ResolvedRetention, "retry_min": c.RetryMin, "retry_max": c.RetryMax} {
		if d < 0 {
			add("alert.%s: must not be negative", name)
		}
	}
	if c.QueueSize < 0 {
		add("alert.queue_size: must not be negative")
	}
	names := map[string]bool{}
	for i, r := range c.Receivers {
		p := fmt.Sprintf("alert.receivers[%d]", i)
		if r.Name == "" {
			add("%s.name: required", p)
		} else if names[r.Name] {
			add("%s.name: duplicate %q", p, r.Name)
		}
		names[r.Name] = true
		if r.Language != "" && r.Language != "de" && r.Language != "en" {
			add("%s.language: %q is not de or en", p, r.Language)
		}
		switch r.Type {
		case "webhook":
			u, err := url.Parse(r.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add("%s.url: %q is not an http(s) URL", p, r.URL)
			}
		case "mqtt":
		case "email":
			if r.SMTPHost == "" {
				add("%s.smtp_host: required", p)
			}
			if r.From == "" || !strings.Contains(r.From, "@") {
				add("%s.from: %q is not an address", p, r.From)
			}
			if len(r.To) == 0 {
				add("%s.to: at least one address required", p)
			}
			switch r.TLS {
			case "", "starttls", "tls", "none":
			default:
				add("%s.tls: %q is not starttls, tls or none", p, r.TLS)
			}
		default:
			add("%s.type: %q is not webhook, mqtt or email", p, r.Type)
		}
	}
	checkRecv := func(p string, list []string) {
		for _, n := range list {
			if !names[n] {
				add("%s: unknown receiver %q", p, n)
			}
		}
	}
	checkRecv("alert.default_receivers", c.DefaultReceivers)
	for i, in := range c.Inhibit {
		p := fmt.Sprintf("alert.inhibit[%d]", i)
		if _, err := ParseLevel(in.SourceMin); err != nil {
			add("%s.source_min: %w", p, err)
		}
		if _, err := ParseLevel(in.TargetMax); err != nil {
			add("%s.target_max: %w", p, err)
		}
	}
	rules := map[string]bool{}
	for i, r := range c.Rules {
		p := fmt.Sprintf("alert.rules[%d]", i)
		if r.Name == "" {
			add("%s.name: required", p)
		} else if rules[r.Name] {
			add("%s.name: duplicate %q", p, r.Name)
		} else if strings.ContainsAny(r.Name, "/ ") {
			add("%s.name: %q must not contain '/' or spaces", p, r.Name)
		}
		rules[r.Name] = true
		checkRecv(p+".receivers", r.Receivers)
		checkRecv(p+".escalate_to", r.EscalateTo)
		if r.For < 0 || r.EscalateAfter < 0 || r.RepeatInterval < 0 || r.Window < 0 {
			add("%s: durations must not be negative", p)
		}
		if !slices.Contains(kinds, r.Kind) {
			add("%s.kind: %q is not one of %v", p, r.Kind, kinds)
			continue
		}
		if r.Level != "" {
			if _, err := ParseLevel(r.Level); err != nil {
				add("%s.level: %w", p, err)
			}
		}
		for j, b := range r.Bands {
			if _, err := ParseLevel(b.Level); err != nil {
				add("%s.bands[%d].level: %w", p, j, err)
			}
		}
		if r.Quantity != "" && !measurement.Known(measurement.Quantity(r.Quantity)) {
			add("%s.quantity: unknown quantity %q", p, r.Quantity)
		}
		switch r.Direction {
		case "", "above", "below":
		default:
			add("%s.direction: %q is not above or below", p, r.Direction)
		}
		switch r.Kind {
		case KindThreshold, KindRate:
			if r.Quantity == "" {
				add("%s.quantity: required", p)
			}
			if (r.On == nil) == (len(r.Bands) == 0) {
				add("%s: give either on/off or bands", p)
			}
		case KindAirQuality:
			switch r.Quantity {
			case string(measurement.PM10), string(measurement.PM2_5), string(measurement.NO2), string(measurement.PM1):
			default:
				add("%s.quantity: %q is not pm10, pm2_5, pm1 or no2", p, r.Quantity)
			}
			if r.Period != "" && r.Period != "hour" && r.Period != "day" {
				add("%s.period: %q is not hour or day", p, r.Period)
			}
		case KindLeak:
			if r.NightFrom < 0 || r.NightFrom > 23 || r.NightTo < 0 || r.NightTo > 24 || (r.NightTo != 0 && r.NightTo <= r.NightFrom) {
				add("%s: night_from/night_to must be hours with from < to", p)
			}
		case KindBurst:
			if r.NominalM3H <= 0 {
				add("%s.nominal_m3h: required (q3 of the meter)", p)
			}
		case KindFlag:
			for _, q := range r.Quantities {
				if !measurement.Known(measurement.Quantity(q)) {
					add("%s.quantities: unknown quantity %q", p, q)
				}
			}
		case KindDisk:
			if r.MaxShare < 0 || r.MaxShare > 1 {
				add("%s.max_share: must be in (0,1]", p)
			}
		}
		if a := r.Action; a != nil {
			if a.Command == "" {
				add("%s.action.command: required", p)
			}
			if a.Profile == "" && len(a.Devices) == 0 {
				add("%s.action: profile or devices required", p)
			}
		}
	}
	return errors.Join(errs...)
}
