package sim

import (
	"math"
	"time"
)

// demand is the one building-demand model of the simulator: electrical
// load, heating power and water use by local time of day, weekday or
// weekend, and the outdoor temperature (the season). The simulated school
// (schoolDemand) and the buildings of a generated year (yearDemand) are
// two sets of its parameters.
type demand struct {
	electricity loadProfile // kW
	water       loadProfile // per hour in the meter's unit: l/h or m3/h
	heating     heating
}

// dayTime is where a moment falls in the local week, as the demand model
// reads it.
type dayTime struct {
	weekend bool
	h       float64 // local hour of day [0, 24)
}

// localDay reads t in its own location: the simulator's scenarios pass CET,
// a generated year the configured timezone with its DST changes.
func localDay(t time.Time) dayTime {
	wd := t.Weekday()
	return dayTime{
		weekend: wd == time.Saturday || wd == time.Sunday,
		h:       float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600,
	}
}

// cetDay is localDay in the scenarios' zone.
func cetDay(t time.Time) dayTime { return localDay(t.In(cet)) }

// span is a value that holds on weekdays from one local hour to another,
// optionally rising by ramp per hour from its start.
type span struct {
	from, to float64
	value    float64
	ramp     float64
}

// loadProfile is a weekly load: on weekdays the first span that holds
// the hour, otherwise (and at weekends) base.
type loadProfile struct {
	weekday []span
	base    float64
}

func (p loadProfile) at(d dayTime) float64 {
	if d.weekend {
		return p.base
	}
	for _, s := range p.weekday {
		if d.h >= s.from && d.h < s.to {
			if s.ramp != 0 {
				return s.value + s.ramp*(d.h-s.from)
			}
			return s.value
		}
	}
	return p.base
}

// heating is the heat a building draws: its loss per kelvin between the
// setpoint and outdoors, scaled by the schedule (morning boost, night
// setback), plus domestic hot water.
type heating struct {
	lossKWPerK float64
	setpoint   loadProfile // degC
	factor     loadProfile // 1 for none
	hotWater   loadProfile // kW
}

// kw returns the heating power at d for the outdoor temperature outC.
func (h heating) kw(d dayTime, outC float64) float64 {
	p := math.Max(0, h.lossKWPerK*(h.setpoint.at(d)-outC))
	if f := h.factor.at(d); f != 1 {
		p *= f
	}
	if w := h.hotWater.at(d); w != 0 {
		p += w
	}
	return p
}

// schoolDemand is the school of the building-meter scenarios, about
// 3000 m2: lights, IT and ventilation in the morning, the kitchen at lunch,
// after-school care and evening classes; hand washing and toilets peak in
// breaks, cleaning in the late afternoon; the heating runs a setback at
// night and at weekends and a boost after it.
var schoolDemand = demand{
	electricity: loadProfile{
		weekday: []span{
			{from: 6.5, to: 7.5, value: 3.5, ramp: 18.5}, // start-up
			{from: 11.5, to: 13, value: 28},              // kitchen
			{from: 7.5, to: 15.5, value: 22},
			{from: 15.5, to: 18, value: 12}, // after-school care, cleaning
			{from: 18, to: 22, value: 6},    // evening classes in the gym
		},
		base: 3.5,
	},
	water: loadProfile{
		weekday: append(breakSpans(600),
			span{from: 7, to: 16, value: 110},
			span{from: 16, to: 18, value: 220},
		),
	},
	heating: heating{
		lossKWPerK: 3.2,
		setpoint:   loadProfile{weekday: []span{{from: 5.5, to: 17, value: 20.5}}, base: 16},
		factor:     loadProfile{weekday: []span{{from: 5.5, to: 7, value: 1.5}}, base: 1},
	},
}

// breakSpans puts v in the school's breaks.
func breakSpans(v float64) []span {
	out := make([]span, len(breaks))
	for i, b := range breaks {
		out[i] = span{from: b.from, to: b.to, value: v}
	}
	return out
}

// yearDemand is a building of a generated year, scaled by its floor area
// (m2) and its efficiency (1 average, higher worse): occupied on weekdays
// 07:00-17:00, heated to 18 degC with a setback outside 06:00-22:00 and at
// weekends, water in m3/h.
func yearDemand(area, eff float64) demand {
	occupied := func(v float64) []span { return []span{{from: 7, to: 17, value: v}} }
	return demand{
		electricity: loadProfile{weekday: occupied(area*0.001 + area*0.008*eff), base: area * 0.001},
		water:       loadProfile{weekday: occupied(area * 0.00008)},
		heating: heating{
			lossKWPerK: area * 0.0011 * eff,
			setpoint:   loadProfile{base: 18},
			factor:     loadProfile{weekday: []span{{from: 6, to: 22, value: 1}}, base: 0.6},
			hotWater:   loadProfile{weekday: occupied(area * 0.0008)},
		},
	}
}
