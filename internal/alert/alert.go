// Package alert turns measurements into alerts operators trust: rules
// (thresholds with hysteresis, the road-ice Tracker of internal/ice,
// classroom CO2, outdoor air-quality exceedances, water leak and burst,
// meter flags, stale sensors, offline gateways, low batteries, disk budget)
// are evaluated on an injected clock; alerts go pending -> firing ->
// acknowledged -> resolved with repeats, escalation, silences, grouping and
// inhibition; notifications (webhook, MQTT, e-mail; German and English)
// leave through a durable queue in the store, so a receiver that is down
// gets them later. State survives restarts.
//
// Time: measurement-driven rules judge by the measurements' own times, the
// periodic checks (stale, gateway, disk, repeat, escalation) by
// Options.Now. In simulation both are the simulator's virtual clock.
package alert

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Level is an alert's urgency. The winter-service names are used for all
// rules so that inhibition and routing compare one scale.
type Level int

// Levels in increasing urgency.
const (
	LevelInfo       Level = iota // information (e.g. stale sensor, gateway offline)
	LevelVorwarnung              // pre-warning: watch
	LevelWarnung                 // warning: act soon
	LevelAlarm                   // alarm: act now
)

var levelKeys = []string{"info", "vorwarnung", "warnung", "alarm"}

// String returns the stable key.
func (l Level) String() string {
	if l < 0 || int(l) >= len(levelKeys) {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelKeys[l]
}

// German returns the German name.
func (l Level) German() string {
	return [...]string{"Info", "Vorwarnung", "Warnung", "Alarm"}[min(max(int(l), 0), 3)]
}

// English returns the English name.
func (l Level) English() string {
	return [...]string{"Info", "Pre-warning", "Warning", "Alarm"}[min(max(int(l), 0), 3)]
}

// MarshalText encodes the stable key.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText decodes a key.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	*l = v
	return err
}

// ParseLevel parses a level key ("info", "vorwarnung", "warnung", "alarm";
// "warning" and "critical" are accepted as Warnung and Alarm).
func ParseLevel(s string) (Level, error) {
	switch s {
	case "warning":
		return LevelWarnung, nil
	case "critical":
		return LevelAlarm, nil
	}
	if i := slices.Index(levelKeys, s); i >= 0 {
		return Level(i), nil
	}
	return LevelInfo, fmt.Errorf("unknown level %q (have %v)", s, levelKeys)
}

// State is where an alert is in its lifecycle.
type State string

// Lifecycle states.
const (
	StatePending      State = "pending"      // condition holds, For not yet over
	StateFiring       State = "firing"       // notified, repeating until acknowledged
	StateAcknowledged State = "acknowledged" // someone took it; no repeats or escalation
	StateResolved     State = "resolved"     // condition cleared (all-clear sent)
)

// Alert is one alert instance: one rule on one subject (device, site,
// gateway). Labels carry what selects, groups, silences and inhibits it.
type Alert struct {
	ID     string            `json:"id"` // rule "/" subject
	Rule   string            `json:"rule"`
	Kind   string            `json:"kind"`
	Level  Level             `json:"level"`
	State  State             `json:"state"`
	Labels map[string]string `json:"labels"`
	// Value is the value that decided (mean, flow, level); Values are the
	// details for texts (e.g. FBT, LT, dew point of an ice alert).
	Value  float64            `json:"value"`
	Values map[string]float64 `json:"values,omitempty"`
	// Info carries text details (surface state, reasons, trend, action).
	Info map[string]string `json:"info,omitempty"`

	ActiveSince  time.Time `json:"active_since"` // condition first held
	FiringSince  time.Time `json:"firing_since,omitzero"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	ObservedAt   time.Time `json:"observed_at,omitzero"` // time of the data that decided
	LastNotified time.Time `json:"last_notified,omitzero"`
	Notified     int       `json:"notified"`
	Escalated    bool      `json:"escalated,omitempty"`
	AckBy        string    `json:"ack_by,omitempty"`
	AckAt        time.Time `json:"ack_at,omitzero"`
	// Silenced and Inhibited are recomputed on every evaluation.
	Silenced  bool `json:"silenced,omitempty"`
	Inhibited bool `json:"inhibited,omitempty"`
	// ActionDone records the downlink queued for this firing.
	ActionDone string `json:"action_done,omitempty"`
	// LevelChanged asks dispatch to notify a level change at once.
	LevelChanged bool `json:"level_changed,omitempty"`
}

// Matcher matches one label: equal (default) or regular expression.
type Matcher struct {
	Label string `json:"label"`
	Value string `json:"value"`
	Regex bool   `json:"regex,omitempty"`
}

func (m Matcher) matches(labels map[string]string) bool {
	v := labels[m.Label]
	if !m.Regex {
		return v == m.Value
	}
	re, err := compileMatcher(m.Value)
	return err == nil && re.MatchString(v)
}

func compileMatcher(v string) (*regexp.Regexp, error) { return regexp.Compile("^(?:" + v + ")$") }

// Silence mutes notifications of matching alerts between StartsAt and
// EndsAt (maintenance windows). Alerts keep being evaluated.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment,omitempty"`
}

// Active reports whether the silence applies at t.
func (s Silence) Active(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }

// Matches reports whether every matcher matches the labels.
func (s Silence) Matches(labels map[string]string) bool {
	for _, m := range s.Matchers {
		if !m.matches(labels) {
			return false
		}
	}
	return len(s.Matchers) > 0
}

// Filter selects alerts for List; zero fields match everything.
type Filter struct {
	States   []State
	Rule     string
	Site     string
	MinLevel Level
	// Matchers must all match.
	Matchers []Matcher
}

func (f Filter) matches(a *Alert) bool {
	if len(f.States) > 0 && !slices.Contains(f.States, a.State) {
		return false
	}
	if f.Rule != "" && a.Rule != f.Rule {
		return false
	}
	if f.Site != "" && a.Labels["site"] != f.Site {
		return false
	}
	if a.Level < f.MinLevel {
		return false
	}
	for _, m := range f.Matchers {
		if !m.matches(a.Labels) {
			return false
		}
	}
	return true
}

func (a *Alert) clone() Alert {
	c := *a
	c.Labels = maps(a.Labels)
	c.Values = mapsF(a.Values)
	c.Info = maps(a.Info)
	return c
}

func maps(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	o := make(map[string]string, len(m))
	for k, v := range m {
		o[k] = v
	}
	return o
}

func mapsF(m map[string]float64) map[string]float64 {
	if m == nil {
		return nil
	}
	o := make(map[string]float64, len(m))
	for k, v := range m {
		o[k] = v
	}
	return o
}
