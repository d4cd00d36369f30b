package alert

import (
	"fmt"
	"slices"
	"time"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/measurement"
)

// evaluator is the rule-kind specific part of a rule: it turns the
// measurements of one selected device, or the clock, into conditions.
type evaluator interface {
	observe(d devInfo, ms []measurement.Measurement) []condition
	tick(now time.Time) []condition
}

// persister is implemented by evaluators whose state must survive a
// restart (ice trackers, leak hours, exceedance counts, last uplinks).
type persister interface {
	save() ([]byte, error)
	load([]byte) error
	dirty() bool
}

// env is what evaluators may know of the daemon besides their rule and
// their data: alert labels, the local timezone of calendar periods, the
// devices, gateway and disk facts. The clock comes as tick's argument.
// Evaluators run under the engine's lock, which Reload swaps sites and
// timezone under, so they read them through env on every use.
type env interface {
	labels(r *rule, d *devInfo, siteID string) map[string]string
	location() *time.Location
	clock() time.Time // the engine's clock (Options.Now)
	devices() []devInfo
	gateways() Gateways           // nil when not wired
	disk() (DiskUsage, int64)     // nil when not wired; the default budget
	roadForecasts() RoadForecasts // nil when not wired
	calendar() *calendar.Calendar
	outdoorSensor(siteID string) string // DevEUI, "" when none
}

// kindSpec is what a rule kind brings: its default level, its evaluator
// and the checks of its fields beyond the common ones.
type kindSpec struct {
	level Level
	build func(x env, r *rule) (evaluator, error)
	// check reports problems of a rule of this kind at path p (optional).
	check func(p string, r RuleConfig) []error
}

// kindSpecs maps a rule kind to its spec; each kind's file registers
// itself, so a new kind is one evaluator file plus its configuration.
var kindSpecs = map[string]kindSpec{}

func register(kind string, s kindSpec) { kindSpecs[kind] = s }

func defaultLevel(kind string) Level {
	if s, ok := kindSpecs[kind]; ok {
		return s.level
	}
	return LevelWarnung
}

func newEvaluator(x env, r *rule) (evaluator, error) {
	s, ok := kindSpecs[r.cfg.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q", r.cfg.Kind)
	}
	return s.build(x, r)
}

// rewindLimit: data this much older than what a rule has seen means the
// clock was reset (a simulation replayed on the same data directory), not
// a late reading: the rule's state for that series starts over.
const rewindLimit = 6 * time.Hour

func rewound(last, t time.Time) bool { return !last.IsZero() && last.Sub(t) > rewindLimit }

func cmp(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func cmpF(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

type bandL struct {
	on, off float64
	level   Level
}

func ruleBands(c RuleConfig, def Level) []bandL {
	if c.On != nil {
		off := *c.On
		if c.Off != nil {
			off = *c.Off
		}
		return []bandL{{*c.On, off, def}}
	}
	var out []bandL
	for _, b := range c.Bands {
		l, _ := ParseLevel(b.Level)
		out = append(out, bandL{b.On, b.Off, l})
	}
	slices.SortFunc(out, func(a, b bandL) int { return int(a.level - b.level) })
	return out
}

// nextBand applies hysteresis: rise to the most severe band whose On is
// passed; otherwise stay in a band while its Off is not passed back.
func nextBand(bands []bandL, below bool, cur int, v float64) int {
	passOn := func(b bandL) bool {
		if below {
			return v <= b.on
		}
		return v >= b.on
	}
	holds := func(b bandL) bool {
		if below {
			return v < b.off
		}
		return v > b.off
	}
	hi := -1
	for i, b := range bands {
		if passOn(b) {
			hi = i
		}
	}
	if hi > cur {
		return hi
	}
	for i := cur; i >= 0; i-- {
		if holds(bands[i]) {
			return i
		}
	}
	return -1
}
