// Package gauge turns the readings of river gauge sensors into water
// levels: a distance sensor's reading becomes mounting height minus
// distance, a pressure sensor's sensor height plus pressure head, both in
// m above the gauge zero (Pegelnullpunkt), and the level's rate of change
// (cm/h) is derived over a window. Physically impossible readings stay
// stored as read but are marked (Meta quality=invalid with a reason) so
// that no rule judges them as a level.
package gauge

import (
	"maps"
	"math"
	"sync"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
)

// MetaReason is the Meta key that says why a reading is marked
// measurement.QualityInvalid.
const MetaReason = "reason"

// Reasons a reading is marked invalid.
const (
	ReasonSensorFlag       = "sensor_flag"       // the sensor itself flagged it
	ReasonNegativeDistance = "negative_distance" // a distance below zero
	ReasonNegativePressure = "negative_pressure" // a gauge pressure below zero
	ReasonJump             = "rate_jump"         // further from the last level than max_rate_cm_h allows
)

// HeadPerBar is the height of a fresh-water column (1000 kg/m3) that
// exerts 1 bar: 1e5 Pa / (1000 kg/m3 * 9.80665 m/s2).
const HeadPerBar = 1e5 / (1000 * 9.80665)

// jumpTolerance is added to the allowed change between two readings: an
// ultrasonic sensor's resolution and surface waves make a centimetre or
// two of scatter, which over a one-minute interval would already read as
// a rate of 60 cm/h or more.
const jumpTolerance = 0.05 // m

// maxPoints bounds the points kept per sensor for the rate.
const maxPoints = 512

// Deriver derives water levels and rates for the devices of gauge sites.
// Safe for concurrent use.
type Deriver struct {
	mu    sync.Mutex
	sites map[string]site.Site
	st    map[string]*sensor // by device
}

type point struct {
	t time.Time
	h float64
}

// sensor is the recent history of one gauge sensor.
type sensor struct {
	last *point  // the last plausible level
	cand *point  // the last level marked as a jump
	pts  []point // plausible levels within the rate window
}

// New returns a Deriver for sites (only gauge sites matter).
func New(sites []site.Site) *Deriver {
	d := &Deriver{st: map[string]*sensor{}}
	d.SetSites(sites)
	return d
}

// SetSites replaces the sites (reload); sensor histories are kept.
func (d *Deriver) SetSites(sites []site.Site) {
	m := map[string]site.Site{}
	for _, s := range sites {
		if s.Kind == site.Gauge {
			m[s.ID] = s
		}
	}
	d.mu.Lock()
	d.sites = m
	d.mu.Unlock()
}

// Derive returns ms with, for a device at a gauge site, each distance or
// pressure reading's water level appended (a water_level reading is taken
// as it is), each level checked for plausibility and the level's rate
// appended. An impossible raw reading is kept, marked, and gets no level:
// the level series holds only levels that may be judged.
func (d *Deriver) Derive(siteID string, ms []measurement.Measurement) []measurement.Measurement {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, ok := d.sites[siteID]
	if !ok {
		return ms
	}
	n := len(ms)
	for i := 0; i < n; i++ {
		switch ms[i].Quantity {
		case measurement.Distance, measurement.WaterPressure:
			lv, ok := level(g, &ms[i])
			if !ok {
				continue
			}
			rate, hasRate := d.judge(g, &lv)
			if lv.Invalid() {
				mark(&ms[i], lv.Meta[MetaReason])
				continue
			}
			ms = append(ms, lv)
			if hasRate {
				ms = append(ms, rate)
			}
		case measurement.WaterLevel:
			if rate, ok := d.judge(g, &ms[i]); ok {
				ms = append(ms, rate)
			}
		}
	}
	return ms
}

// level computes the water level of a distance or pressure reading raw,
// marking raw when it is impossible; false when the site has no height for
// this kind of sensor.
func level(g site.Site, raw *measurement.Measurement) (measurement.Measurement, bool) {
	var h float64
	reason := ""
	switch raw.Quantity {
	case measurement.Distance:
		if g.MountingHeight == 0 {
			return measurement.Measurement{}, false
		}
		h = g.MountingHeight - raw.Value
		if raw.Value < 0 {
			reason = ReasonNegativeDistance
		}
	case measurement.WaterPressure:
		if g.SensorHeight == nil {
			return measurement.Measurement{}, false
		}
		h = *g.SensorHeight + raw.Value*HeadPerBar
		if raw.Value < 0 {
			reason = ReasonNegativePressure
		}
	}
	if reason != "" {
		mark(raw, reason)
	}
	lv := measurement.Measurement{Device: raw.Device, Quantity: measurement.WaterLevel, Channel: raw.Channel,
		Value: h, Unit: measurement.Units[measurement.WaterLevel], Time: raw.Time, Meta: maps.Clone(raw.Meta)}
	if lv.Meta == nil {
		lv.Meta = map[string]string{}
	}
	lv.Meta["source"] = string(raw.Quantity)
	if raw.Invalid() && lv.Meta[MetaReason] == "" {
		lv.Meta[MetaReason] = ReasonSensorFlag
	}
	return lv, true
}

func mark(m *measurement.Measurement, reason string) {
	if m.Meta == nil {
		m.Meta = map[string]string{}
	} else {
		m.Meta = maps.Clone(m.Meta)
	}
	m.Meta[measurement.MetaQuality] = measurement.QualityInvalid
	if reason != "" && m.Meta[MetaReason] == "" {
		m.Meta[MetaReason] = reason
	}
}

// judge checks a level against the sensor's last plausible one (marking a
// jump) and, for a plausible level, returns the rate over the window once
// the window is half covered.
func (d *Deriver) judge(g site.Site, lv *measurement.Measurement) (measurement.Measurement, bool) {
	key := lv.Device
	s := d.st[key]
	if s == nil {
		s = &sensor{}
		d.st[key] = s
	}
	if lv.Invalid() || math.IsNaN(lv.Value) || math.IsInf(lv.Value, 0) {
		return measurement.Measurement{}, false
	}
	p := point{lv.Time, lv.Value}
	if s.last != nil && !p.t.After(s.last.t) {
		if s.last.t.Sub(p.t) < 6*time.Hour {
			return measurement.Measurement{}, false // late or repeated: no new rate
		}
		*s = sensor{} // the clock was reset (a replayed simulation)
	}
	maxRate := g.MaxRateOrDefault()
	if s.last != nil && !plausible(*s.last, p, maxRate) {
		if s.cand == nil || !plausible(*s.cand, p, maxRate) {
			// One reading far off is a spike; the next one decides.
			s.cand = &p
			mark(lv, ReasonJump)
			return measurement.Measurement{}, false
		}
		// Two readings that agree with each other: the level really moved.
		s.pts = nil
	}
	s.last, s.cand = &p, nil
	s.pts = append(s.pts, p)
	win := g.RateWindowOrDefault()
	cut := 0
	for cut < len(s.pts) && p.t.Sub(s.pts[cut].t) > win {
		cut++
	}
	s.pts = s.pts[cut:]
	if len(s.pts) > maxPoints {
		s.pts = s.pts[len(s.pts)-maxPoints:]
	}
	if len(s.pts) < 2 || p.t.Sub(s.pts[0].t) < win/2 {
		return measurement.Measurement{}, false
	}
	rate := Slope(s.pts[0].t, func(yield func(time.Time, float64) bool) {
		for _, q := range s.pts {
			if !yield(q.t, q.h) {
				return
			}
		}
	}) * 100
	meta := maps.Clone(lv.Meta)
	delete(meta, "source")
	return measurement.Measurement{Device: lv.Device, Quantity: measurement.WaterLevelRate, Channel: lv.Channel,
		Value: rate, Unit: measurement.Units[measurement.WaterLevelRate], Time: lv.Time, Meta: meta}, true
}

// plausible reports whether a level b may follow a at maxRate cm/h.
func plausible(a, b point, maxRate float64) bool {
	dt := math.Abs(b.t.Sub(a.t).Hours())
	return math.Abs(b.h-a.h) <= maxRate/100*dt+jumpTolerance
}

// Slope is the least-squares slope (units per hour) of the points pts
// yields, times taken relative to t0; 0 with fewer than two distinct
// times.
func Slope(t0 time.Time, pts func(yield func(time.Time, float64) bool)) float64 {
	var n, sx, sy, sxx, sxy float64
	for t, v := range pts {
		x := t.Sub(t0).Hours()
		n++
		sx += x
		sy += v
		sxx += x * x
		sxy += x * v
	}
	den := n*sxx - sx*sx
	if n < 2 || den <= 1e-12 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
