package energy

import (
	"math"
	"sort"
	"time"
)

// EventKind classifies what the meter-reading cleanup did.
type EventKind string

// Event kinds.
const (
	EventRollover            EventKind = "rollover"             // register wrapped at 10^digits
	EventReplacement         EventKind = "replacement"          // configured meter change
	EventReplacementDetected EventKind = "replacement_detected" // large drop: new meter assumed, gap estimated
	EventRejected            EventKind = "rejected"             // reading above Qmax, ignored
	EventNoise               EventKind = "noise"                // small drop, ignored
	EventGap                 EventKind = "gap"                  // no reading for longer than max_gap
)

// Event is one correction applied to a meter's readings.
type Event struct {
	Kind EventKind `json:"kind"`
	Time time.Time `json:"time"`
	// From and To are the raw register values around the event.
	From float64 `json:"from"`
	To   float64 `json:"to"`
	// Consumption is what the interval contributed after correction, in
	// the medium's unit.
	Consumption float64 `json:"consumption"`
}

// curve is a meter's corrected cumulative consumption (medium units) at
// the times of its accepted readings: monotone non-decreasing, so the
// consumption of any interval is the difference of two interpolated values.
type curve struct {
	t []int64   // unix ns
	c []float64 // corrected cumulative consumption
	// estInc[i] counts the intervals among the first i whose increase is
	// itself an estimate (detected replacement).
	estInc []int32
	// gap[i] is true when interval i (t[i]..t[i+1]) is longer than
	// max_gap: a boundary inside it is an estimate.
	gap    []bool
	events []Event
	// weight, when set, interpolates inside gaps by degree days instead
	// of time (heating meters of sites with a temperature sensor).
	weight func(a, b, t int64) (float64, bool)
}

type curveParams struct {
	scale     float64 // medium units per register unit
	wrap      float64 // register wraps here; 0: never
	maxRate   float64 // medium units per hour; 0: no check
	dropTol   float64
	maxGap    int64
	replace   []Replacement // sorted by time
	keepNoise bool          // record noise events (tests)
}

// buildCurve cleans raw readings (sorted by time) into a curve.
func buildCurve(rs []Reading, p curveParams) *curve {
	cv := &curve{t: make([]int64, 0, len(rs)), c: make([]float64, 0, len(rs)), estInc: make([]int32, 1, len(rs)+1)}
	if len(rs) == 0 {
		return cv
	}
	if p.maxGap <= 0 {
		p.maxGap = autoGap(rs)
	}
	ri := 0 // next replacement
	prevRaw := rs[0].Value
	prevT := rs[0].Time.UnixNano()
	for ri < len(p.replace) && !p.replace[ri].at.After(rs[0].Time) {
		ri++ // changes before the first reading do not matter
	}
	cv.t = append(cv.t, prevT)
	cv.c = append(cv.c, 0)
	lastRate := 0.0 // medium units per ns of the last measured interval
	for _, r := range rs[1:] {
		t := r.Time.UnixNano()
		if t <= prevT {
			continue // duplicate time: the store dedupes, other sources may not
		}
		dt := float64(t - prevT)
		raw := r.Value
		var inc float64
		est := false
		var ev *Event
		switch {
		case ri < len(p.replace) && !p.replace[ri].at.After(r.Time):
			// One or more meter changes since the previous reading: close
			// the old register, open the new one.
			inc = 0
			from := prevRaw
			for ri < len(p.replace) && !p.replace[ri].at.After(r.Time) {
				rp := p.replace[ri]
				inc += math.Max(rp.OldFinal-from, 0)
				from = rp.NewInitial
				ri++
			}
			inc += math.Max(raw-from, 0)
			inc *= p.scale
			ev = &Event{Kind: EventReplacement, Time: r.Time, From: prevRaw, To: raw}
		case raw >= prevRaw:
			inc = (raw - prevRaw) * p.scale
			if p.maxRate > 0 && inc > p.maxRate*dt/float64(time.Hour) {
				cv.events = append(cv.events, Event{Kind: EventRejected, Time: r.Time, From: prevRaw, To: raw})
				continue
			}
		default:
			drop := prevRaw - raw
			wrapped := raw + p.wrap - prevRaw
			switch {
			case p.wrap > 0 && wrapped >= 0 && wrapped < p.wrap/2 && (p.maxRate == 0 || wrapped*p.scale <= p.maxRate*dt/float64(time.Hour)):
				inc = wrapped * p.scale
				ev = &Event{Kind: EventRollover, Time: r.Time, From: prevRaw, To: raw}
			case drop <= p.dropTol*math.Max(math.Abs(prevRaw), 1):
				// Noise: keep the higher value as the reference so the
				// dip is not counted twice when the value comes back.
				if p.keepNoise {
					cv.events = append(cv.events, Event{Kind: EventNoise, Time: r.Time, From: prevRaw, To: raw})
				}
				continue
			default:
				// A new meter whose readings were not configured: its
				// start value is unknown, so the interval is estimated
				// at the last measured rate.
				inc = lastRate * dt
				est = true
				ev = &Event{Kind: EventReplacementDetected, Time: r.Time, From: prevRaw, To: raw}
			}
		}
		if !est && ev == nil {
			lastRate = inc / dt
		}
		if ev != nil {
			ev.Consumption = inc
			cv.events = append(cv.events, *ev)
		}
		isGap := p.maxGap > 0 && t-prevT > p.maxGap
		if isGap {
			cv.events = append(cv.events, Event{Kind: EventGap, Time: time.Unix(0, prevT).UTC(), From: prevRaw, To: raw, Consumption: inc})
		}
		cv.gap = append(cv.gap, isGap)
		n := cv.estInc[len(cv.estInc)-1]
		if est {
			n++
		}
		cv.estInc = append(cv.estInc, n)
		cv.t = append(cv.t, t)
		cv.c = append(cv.c, cv.c[len(cv.c)-1]+inc)
		prevRaw, prevT = raw, t
	}
	return cv
}

// at returns the interpolated cumulative value at t, the index of the
// interval t falls in (-1 before the first reading, len-1 at or after the
// last), and whether the value is an estimate (t inside a gap or outside
// the readings).
func (cv *curve) at(t int64) (v float64, idx int, est bool) {
	n := len(cv.t)
	if n == 0 {
		return 0, -1, true
	}
	i := sort.Search(n, func(i int) bool { return cv.t[i] > t }) - 1
	switch {
	case i < 0:
		return cv.c[0], -1, true
	case i == n-1:
		return cv.c[n-1], n - 1, cv.t[n-1] != t
	}
	if cv.t[i] == t {
		return cv.c[i], i, false
	}
	f := float64(t-cv.t[i]) / float64(cv.t[i+1]-cv.t[i])
	if cv.gap[i] && cv.weight != nil {
		if w, ok := cv.weight(cv.t[i], cv.t[i+1], t); ok {
			f = w
		}
	}
	return cv.c[i] + f*(cv.c[i+1]-cv.c[i]), i, cv.gap[i]
}

// between returns the consumption in [a, b) and whether it is an estimate.
func (cv *curve) between(a, b int64) (float64, bool) {
	va, ia, ea := cv.at(a)
	vb, ib, eb := cv.at(b)
	est := ea || eb
	// Intervals ia+1 .. ib-1 lie inside; ia and ib are cut at the
	// boundaries; an estimated increase in any of them taints the value.
	lo, hi := ia, ib
	if ib >= 0 && ib < len(cv.t) && cv.t[ib] == b {
		hi = ib - 1 // b is a reading: interval ib starts after the range
	}
	if lo < 0 {
		lo = 0
	}
	if hi > len(cv.t)-2 {
		hi = len(cv.t) - 2
	}
	if hi >= lo && len(cv.estInc) > hi+1 && cv.estInc[hi+1]-cv.estInc[lo] > 0 {
		est = true
	}
	return vb - va, est
}

// autoGap is the gap threshold of a meter without a configured max_gap:
// 2.5 times its median reading interval, so an hourly and a daily meter
// are each judged by their own rhythm.
func autoGap(rs []Reading) int64 {
	n := len(rs) - 1
	if n > 2000 {
		n = 2000
	}
	if n < 1 {
		return 0
	}
	d := make([]int64, 0, n)
	for i := 1; i <= n; i++ {
		d = append(d, rs[i].Time.UnixNano()-rs[i-1].Time.UnixNano())
	}
	sort.Slice(d, func(a, b int) bool { return d[a] < d[b] })
	return d[len(d)/2] * 5 / 2
}
