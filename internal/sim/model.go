package sim

import (
	"math"
	"time"
)

// sensor produces the application payload of one device at a virtual time.
// Models are stateful (counters, CO2 mass balance, water film) and are
// stepped forward only; each is owned by one device goroutine, except for
// the building state shared under its own lock.
type sensor interface {
	reading(t time.Time) (fport uint8, payload []byte, err error)
}

// commander is implemented by sensors that act on application downlinks.
type commander interface {
	command(fport uint8, data []byte) error
}

// cet is the zone of the scenarios: they all play in January in Germany,
// so a fixed CET offset avoids depending on the host's zoneinfo.
var cet = time.FixedZone("CET", 3600)

// hourOfDay returns the local time of day in hours [0, 24).
func hourOfDay(t time.Time) float64 { return cetDay(t).h }

// curve is a daily profile given by (hour, value) knots, linearly
// interpolated and wrapping at midnight. Knots are sorted by hour in [0, 24).
type curve []struct{ h, v float64 }

func (c curve) at(h float64) float64 {
	n := len(c)
	if n == 0 {
		return 0
	}
	for i := range c {
		a := c[i]
		b := c[(i+1)%n]
		bh := b.h
		if i == n-1 {
			bh += 24
		}
		hh := h
		if hh < a.h {
			hh += 24
		}
		if hh >= a.h && hh <= bh {
			if bh == a.h {
				return a.v
			}
			return a.v + (b.v-a.v)*(hh-a.h)/(bh-a.h)
		}
	}
	return c[0].v
}

// stepper advances a stateful model in fixed virtual steps so that rates
// integrate to the same totals whatever the uplink interval.
type stepper struct {
	last    time.Time
	started bool
}

const modelStep = time.Minute

// advance calls f for every step between the previous call and t, with the
// step's start time and its length in hours. The first call only anchors.
func (s *stepper) advance(t time.Time, f func(ts time.Time, dtHours float64)) {
	if !s.started {
		s.last, s.started = t, true
		return
	}
	for s.last.Before(t) {
		d := min(modelStep, t.Sub(s.last))
		f(s.last, d.Hours())
		s.last = s.last.Add(d)
	}
}

// dewPoint returns the dew point (degC) by the Magnus formula over water.
func dewPoint(tempC, rh float64) float64 {
	const a, b = 17.62, 243.12
	rh = math.Max(rh, 0.1)
	g := math.Log(rh/100) + a*tempC/(b+tempC)
	return b * g / (a - g)
}

// wobble is a small deterministic variation so that series do not look
// drawn with a ruler; seed separates devices.
func wobble(t time.Time, seed, amplitude float64) float64 {
	x := float64(t.Unix()) / 3600
	return amplitude * (0.6*math.Sin(x*1.7+seed) + 0.4*math.Sin(x*4.3+2*seed))
}

func isWeekend(t time.Time) bool { return cetDay(t).weekend }
