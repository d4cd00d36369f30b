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
	"regexp"
	"slices"
	"time"

	"github.com/loraedge/loraedge/internal/alert/notify"
)

// Level is an alert's urgency (see notify.Level).
type Level = notify.Level

// Levels in increasing urgency.
const (
	LevelInfo       = notify.LevelInfo
	LevelVorwarnung = notify.LevelVorwarnung
	LevelWarnung    = notify.LevelWarnung
	LevelAlarm      = notify.LevelAlarm
)

// ParseLevel parses a level key ("info", "vorwarnung", "warnung", "alarm";
// "warning" and "critical" are accepted as Warnung and Alarm).
func ParseLevel(s string) (Level, error) { return notify.ParseLevel(s) }

// State is where an alert is in its lifecycle.
type State = notify.State

// Lifecycle states.
const (
	StatePending      = notify.StatePending
	StateFiring       = notify.StateFiring
	StateAcknowledged = notify.StateAcknowledged
	StateResolved     = notify.StateResolved
)

// Alert is one alert instance (see notify.Alert: receivers get it as it is).
type Alert = notify.Alert

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
