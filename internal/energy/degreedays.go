package energy

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
)

// monthShare is the share of a year's heating degree days per month when
// no weather data is at hand (VDI 2067 / DIN 4713 distribution, per mille;
// June to August share 40).
var monthShare = [12]float64{170, 150, 130, 80, 40, 40.0 / 3, 40.0 / 3, 40.0 / 3, 30, 80, 120, 160}

// referenceShare returns the share of a reference year's degree days that
// falls into [from, to): whole months count their share, partial months
// their share times the fraction of their days.
func referenceShare(from, to time.Time, loc *time.Location) float64 {
	var s float64
	for m := firstOfMonth(from, loc); m.Before(to); m = m.AddDate(0, 1, 0) {
		next := m.AddDate(0, 1, 0)
		a, b := maxTime(m, from), minTime(next, to)
		if !a.Before(b) {
			continue
		}
		frac := b.Sub(a).Hours() / next.Sub(m).Hours()
		s += monthShare[m.Month()-1] / 1000 * frac
	}
	return s
}

// DegreeDays is G20/15 of a site over a period and where it comes from.
type DegreeDays struct {
	// Value is G20/15 in Kd: the sum of (20 - t_m) over days with a daily
	// mean t_m below 15 degC.
	Value float64 `json:"value"`
	// Reference is the reference climate's G20/15 for the same period
	// (the yearly reference times the months' shares).
	Reference float64 `json:"reference"`
	// Source is "sensor", "configured", "mixed" or "" (none).
	Source string `json:"source"`
	// Estimated is set when months were scaled from incomplete sensor
	// data or configured figures were prorated.
	Estimated bool `json:"estimated"`
	// Months is G20/15 per month of the period.
	Months []MonthDegreeDays `json:"months,omitempty"`
}

// MonthDegreeDays is one month's G20/15.
type MonthDegreeDays struct {
	Month     string  `json:"month"` // 2006-01
	Value     float64 `json:"value"`
	Source    string  `json:"source"`
	Estimated bool    `json:"estimated,omitempty"`
	// ValidDays counts days with a sensor daily mean.
	ValidDays int `json:"valid_days"`
}

// dailyMeans returns the mean temperature of each local day starting at
// days[i] (the last entry ends the last day); ok is false for days with
// readings in fewer than 18 distinct hours. rs is sorted by time.
func dailyMeans(rs []Reading, days []time.Time) (means []float64, ok []bool) {
	n := len(days) - 1
	means, ok = make([]float64, n), make([]bool, n)
	j := 0
	for i := 0; i < n; i++ {
		a, b := days[i].UnixNano(), days[i+1].UnixNano()
		for j < len(rs) && rs[j].Time.UnixNano() < a {
			j++
		}
		var sum float64
		var cnt int
		var hours uint32
		for ; j < len(rs); j++ {
			t := rs[j].Time.UnixNano()
			if t >= b {
				break
			}
			if math.IsNaN(rs[j].Value) {
				continue
			}
			sum += rs[j].Value
			cnt++
			hours |= 1 << uint((t-a)/int64(time.Hour)%32)
		}
		if popcount(hours) >= 18 {
			means[i], ok[i] = sum/float64(cnt), true
		}
	}
	return means, ok
}

func popcount(x uint32) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// climate holds a site's daily mean outdoor temperatures.
type climate struct {
	days  []time.Time // local day starts, plus the end of the last day
	ns    []int64     // days as unix ns
	means []float64
	valid []bool
}

// loadClimate reads the site's temperature sensor over the local days
// covering [from, to); nil when the site has no sensor.
func (r *resolved) loadClimate(ctx context.Context, src Source, sc SiteConfig, from, to time.Time) (*climate, error) {
	if sc.TemperatureDevice == "" {
		return nil, nil
	}
	c := &climate{}
	f := from.In(r.loc)
	for d := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, r.loc); d.Before(to); d = d.AddDate(0, 0, 1) {
		c.days = append(c.days, d)
	}
	c.days = append(c.days, c.days[len(c.days)-1].AddDate(0, 0, 1))
	c.ns = make([]int64, len(c.days))
	for i, d := range c.days {
		c.ns[i] = d.UnixNano()
	}
	rs, err := src.Readings(ctx, SeriesRef{Device: lower(sc.TemperatureDevice), Quantity: "air_temperature", Channel: sc.TemperatureChannel}, c.days[0], c.days[len(c.days)-1])
	if err != nil {
		return nil, fmt.Errorf("degree days %s: %w", sc.ID, err)
	}
	c.means, c.valid = dailyMeans(rs, c.days)
	return c, nil
}

// hdd is the G20/15 contribution of a day with mean temperature tm.
func hdd(tm float64) float64 {
	if tm < 15 {
		return 20 - tm
	}
	return 0
}

// weight returns the interpolation weight of heating meters inside a
// gap: the share of the interval [a, b]'s consumption used up to t when
// the weather-dependent part (1-share) follows degree days and the rest
// is spread evenly. ok is false when a day of the interval has no mean.
func (c *climate) weight(share float64) func(a, b, t int64) (float64, bool) {
	return func(a, b, t int64) (float64, bool) {
		n := len(c.ns) - 1
		if b <= a || c.ns[0] > a || c.ns[n] < b {
			return 0, false
		}
		var h, ht float64 // degree-ns over [a, b] and [a, t]
		for i := sort.Search(n, func(i int) bool { return c.ns[i+1] > a }); i < n && c.ns[i] < b; i++ {
			if !c.valid[i] {
				return 0, false
			}
			lo, hi := max(a, c.ns[i]), min(b, c.ns[i+1])
			g := hdd(c.means[i])
			h += g * float64(hi-lo)
			if t > lo {
				ht += g * float64(min(t, hi)-lo)
			}
		}
		lin := float64(t-a) / float64(b-a)
		if h <= 0 {
			return lin, true
		}
		return (1-share)*ht/h + share*lin, true
	}
}

// degreeDays computes G20/15 for [from, to) (whole local days) from the
// site's climate (nil: none), falling back per month to configured
// figures.
func (r *resolved) degreeDays(cl *climate, sc SiteConfig, from, to time.Time) DegreeDays {
	dd := DegreeDays{Reference: r.ReferenceDegreeDays * referenceShare(from, to, r.loc)}
	var days []time.Time
	var means []float64
	var valid []bool
	if cl != nil {
		days, means, valid = cl.days, cl.means, cl.valid
	}
	di := 0 // index into the climate's days
	sources := map[string]bool{}
	for m := firstOfMonth(from, r.loc); m.Before(to); m = m.AddDate(0, 1, 0) {
		next := m.AddDate(0, 1, 0)
		a, b := maxTime(m, from), minTime(next, to)
		md := MonthDegreeDays{Month: m.Format("2006-01")}
		ndays := 0
		var g float64
		for d := a; d.Before(b); d = d.AddDate(0, 0, 1) {
			ndays++
			for di < len(days)-1 && days[di].Before(d) {
				di++
			}
			if di < len(days)-1 && days[di].Equal(d) && valid[di] {
				md.ValidDays++
				g += hdd(means[di])
			}
		}
		conf, hasConf := sc.DegreeDays[md.Month]
		monthDays := int(math.Round(next.Sub(m).Hours() / 24))
		switch {
		case md.ValidDays == ndays:
			md.Value, md.Source = g, "sensor"
		case hasConf:
			md.Value, md.Source = conf*float64(ndays)/float64(monthDays), "configured"
			md.Estimated = ndays != monthDays
		case md.ValidDays > 0:
			md.Value, md.Source, md.Estimated = g*float64(ndays)/float64(md.ValidDays), "sensor", true
		default:
			// No data for the month: normalisation is not possible.
			dd.Source = ""
			dd.Value = 0
			dd.Months = nil
			return dd
		}
		sources[md.Source] = true
		dd.Estimated = dd.Estimated || md.Estimated
		dd.Value += md.Value
		dd.Months = append(dd.Months, md)
	}
	switch {
	case sources["sensor"] && sources["configured"]:
		dd.Source = "mixed"
	case sources["sensor"]:
		dd.Source = "sensor"
	case sources["configured"]:
		dd.Source = "configured"
	}
	return dd
}

func firstOfMonth(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
