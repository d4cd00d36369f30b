package notify

import (
	"fmt"
	"maps"
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
// It lives here, not in package alert, because receivers get it as it is:
// its JSON is both the persisted alert state and the alert in webhook and
// MQTT payloads, and the templates read its fields.
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
	// ActionDone records the downlink queued for this firing, as
	// "DevEUI:command:state" per target (kept in step with Actions).
	ActionDone string `json:"action_done,omitempty"`
	// Actions are the targets of the rule's action with what became of
	// each (queued -> sent -> acknowledged, or why not).
	Actions []ActionTarget `json:"actions,omitempty"`
	// LevelChanged asks dispatch to notify a level change at once.
	LevelChanged bool `json:"level_changed,omitempty"`
}

// Clone returns a copy that shares no map with a, so a queued notification
// keeps the values of its moment.
func (a *Alert) Clone() Alert {
	c := *a
	c.Labels = maps.Clone(a.Labels)
	c.Values = maps.Clone(a.Values)
	c.Info = maps.Clone(a.Info)
	c.Actions = slices.Clone(a.Actions)
	return c
}

// Note is one alert in one notification, with why it is sent: firing,
// repeat, escalation, resolved or acknowledged.
type Note struct {
	Kind  string
	Alert Alert
}
