package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
)

// Appender is the store's write side (store.Store implements it).
type Appender interface {
	Append(ctx context.Context, ms []measurement.Measurement) error
}

// YearOptions shape a generated year.
type YearOptions struct {
	// Interval between readings; default 15 min.
	Interval time.Duration
	// Seed makes the weather and losses reproducible; 0 means 1.
	Seed uint64
	// Timezone of occupancy hours; default Europe/Berlin.
	Timezone string
	// LossRate is the share of uplinks lost on the radio (default 0.01;
	// negative: none).
	LossRate float64
	// Anomalies gives the first site a meter replacement (electricity,
	// 15 June 10:00), a water register rollover (5 digits), a 10-day gap
	// of the heat/gas meter in February and a leak in March (30 l/h).
	Anomalies bool
	// Measure gives the second site an energy measure: from 1 October its
	// heat loss falls by MeasureCut (a new heating pump and controls); the
	// returned configuration lists it under measures.
	Measure bool
	// Events makes every building set back its heating and drop its use
	// on public holidays (NRW) as at weekends, except the third building,
	// whose heating runs through Christmas (25-27 December) as on a school
	// day; and gives the first building one electricity peak of one
	// reading interval at three times its daytime load around 10:00 on
	// 10 March.
	Events bool
}

// MeasureCut is the share of heat loss the demo measure saves.
const MeasureCut = 0.20

// GenerateYear writes a realistic year of 15-minute meter readings for
// every building in sites straight into st: electricity, district heat
// (even sites) or gas (odd sites), water, and an outdoor temperature
// sensor per site. Consumption follows the building-demand model
// (yearDemand), scaled by the site's BGF (2000 m2 when unset). It returns
// the energy configuration naming the meters, sensors, gas conversion and
// example tariffs, for `energy:` in loraedge.yaml.
func GenerateYear(ctx context.Context, st Appender, year int, sites []site.Site, opts YearOptions) (energy.Config, error) {
	if opts.Interval <= 0 {
		opts.Interval = 15 * time.Minute
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.LossRate == 0 {
		opts.LossRate = 0.01
	}
	tz := opts.Timezone
	if tz == "" {
		tz = "Europe/Berlin"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return energy.Config{}, fmt.Errorf("generate: %w", err)
	}
	cfg := energy.Config{Timezone: tz}
	for _, m := range energy.Media {
		price := map[energy.Medium]float64{energy.Electricity: 0.32, energy.Heat: 0.14, energy.Gas: 0.11, energy.Water: 4.2}[m]
		fee := map[energy.Medium]float64{energy.Electricity: 180, energy.Heat: 600, energy.Gas: 240, energy.Water: 120}[m]
		cfg.Tariffs = append(cfg.Tariffs, energy.Tariff{Medium: m, Year: year, EnergyPrice: price, BaseFeePerYear: fee})
	}
	start := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	end := start.AddDate(1, 0, 0)
	// One reading more than the year holds: the one at midnight of 1 January
	// next year closes the year exactly.
	n := int(end.Sub(start)/opts.Interval) + 1
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	// Weather shared by all sites: seasonal and daily cycles plus slow
	// random swings (sums of sines with random phases, cheap and smooth).
	ph := [3]float64{rng.Float64() * 2 * math.Pi, rng.Float64() * 2 * math.Pi, rng.Float64() * 2 * math.Pi}
	temp := make([]float64, n)
	local := make([]time.Time, n)
	for i := range n {
		t := start.Add(time.Duration(i) * opts.Interval)
		l := t.In(loc)
		local[i] = l
		days := t.Sub(start).Hours() / 24
		h := float64(l.Hour()) + float64(l.Minute())/60
		temp[i] = 9.5 - 9*math.Cos(2*math.Pi*(days-15)/365.25) - 3*math.Cos(2*math.Pi*(h-4)/24) +
			2.5*math.Sin(2*math.Pi*days/5.3+ph[0]) + 1.5*math.Sin(2*math.Pi*days/11.7+ph[1]) + 1*math.Sin(2*math.Pi*days/2.1+ph[2])
	}
	dt := opts.Interval.Hours()
	mean24 := trailingMean(temp, max(1, int(24/dt)))
	holidays := map[calendar.Date]bool{}
	for _, h := range calendar.PublicHolidays(year) {
		holidays[h.Date] = true
	}
	si := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, s := range sites {
		if s.Kind == site.Road {
			continue
		}
		if gctx.Err() != nil {
			break // an Append failed: Wait reports it
		}
		area := s.BGF
		if area <= 0 {
			area = 2000
		}
		dev := func(kind int) string { return fmt.Sprintf("70b3d5e75e%02x%04x", kind, si) }
		sc := energy.SiteConfig{ID: s.ID, TemperatureDevice: dev(0), Benchmark: energy.SiteBenchmark{Category: demoCategory(s.Name)}}
		heatMedium := energy.Heat
		if si%2 == 1 {
			heatMedium = energy.Gas
			sc.Gas = energy.GasConfig{ZNumber: 0.9526, CalorificValue: 11.2}
		}
		cfg.Sites = append(cfg.Sites, sc)
		anomalies := opts.Anomalies && si == 0
		meters := []energy.MeterConfig{
			{ID: s.ID + "-strom", Site: s.ID, Medium: energy.Electricity, Device: dev(1)},
			{ID: s.ID + "-waerme", Site: s.ID, Medium: heatMedium, Device: dev(2)},
			{ID: s.ID + "-wasser", Site: s.ID, Medium: energy.Water, Device: dev(3)},
		}
		if anomalies {
			meters[2].Digits = 5
		}
		var gapFrom, gapTo, replaceAt, leakFrom, leakTo time.Time
		if anomalies {
			gapFrom, gapTo = time.Date(year, 2, 10, 9, 0, 0, 0, loc), time.Date(year, 2, 20, 13, 0, 0, 0, loc)
			replaceAt = time.Date(year, 6, 15, 10, 0, 0, 0, loc)
			leakFrom, leakTo = time.Date(year, 3, 1, 0, 0, 0, 0, loc), time.Date(year, 4, 1, 0, 0, 0, 0, loc)
		}
		// Per-site variation so the ranking has something to rank.
		eff := 0.7 + 0.6*rng.Float64()
		dem := yearDemand(area, eff)
		var measureAt time.Time
		after := dem
		if opts.Measure && si == 1 {
			measureAt = time.Date(year, 10, 1, 0, 0, 0, 0, loc)
			after.heating.lossKWPerK *= 1 - MeasureCut
			cfg.Measures = append(cfg.Measures, energy.Measure{ID: s.ID + "-pumpe", Site: s.ID, Medium: heatMedium, Date: measureAt.Format(time.DateOnly),
				Title: "Hocheffizienzpumpe und Einzelraumregelung", Kind: "heating", InvestmentEUR: 24000, ExpectedSavingKWhPerYear: 15000})
		}
		regs := []float64{1000 + 49000*rng.Float64(), 1000 + 49000*rng.Float64(), 1000 + 9000*rng.Float64()}
		if anomalies {
			regs[2] = 99995 // the 5-digit register wraps within days
		}
		ms := make([]measurement.Measurement, 0, 4*n)
		emit := func(device string, q measurement.Quantity, v float64, t time.Time) {
			ms = append(ms, measurement.Measurement{Device: device, Quantity: q, Value: v, Unit: measurement.Units[q], Time: t.UTC()})
		}
		// The first and last reading are never lost so the year is closed.
		lost := func(i int) bool { return i > 0 && i < n-1 && opts.LossRate > 0 && rng.Float64() < opts.LossRate }
		for i := range n {
			t := local[i]
			if !lost(i) {
				emit(dev(0), measurement.AirTemperature, math.Round(temp[i]*100)/100, t)
			}
		}
		for k, m := range meters {
			reg := regs[k]
			q := m.Medium.DefaultQuantity()
			replaced := false
			for i := range n {
				t := local[i]
				d := localDay(t)
				if opts.Events {
					d = eventDay(t, d, holidays, si, m.Medium)
				}
				var rate float64 // medium unit per hour
				switch m.Medium {
				case energy.Electricity:
					rate = dem.electricity.at(d)
					if opts.Events && si == 0 && isPeak(t) {
						rate += 2 * dem.electricity.at(localDay(t))
					}
				case energy.Heat, energy.Gas:
					h := dem.heating
					if !measureAt.IsZero() && !t.Before(measureAt) {
						h = after.heating
					}
					kw := h.kw(d, temp[i])
					if mean24[i] >= summerCutoff {
						kw = h.hotWater.at(d) // summer mode: hot water only
					}
					rate = kw
					if m.Medium == energy.Gas {
						rate = kw / (0.9526 * 11.2)
					}
				case energy.Water:
					rate = dem.water.at(d)
					if !leakFrom.IsZero() && !t.Before(leakFrom) && t.Before(leakTo) {
						rate += 0.030
					}
				}
				reg += rate * dt
				if k == 2 && m.Digits > 0 && reg >= 1e5 {
					reg -= 1e5
				}
				if k == 0 && anomalies && !replaced && !t.Before(replaceAt) {
					replaced = true
					meters[0].Replacements = []energy.Replacement{{Time: replaceAt.Format("2006-01-02T15:04"), OldFinal: round(reg, 2), NewInitial: 0}}
					reg = 0
				}
				if !gapFrom.IsZero() && k == 1 && !t.Before(gapFrom) && t.Before(gapTo) {
					continue
				}
				if lost(i) {
					continue
				}
				res := map[energy.Medium]int{energy.Electricity: 2, energy.Heat: 0, energy.Gas: 2, energy.Water: 3}[m.Medium]
				emit(m.Device, q, round(reg, res), t)
			}
		}
		// One batch per site, a few in flight: each Append waits for the
		// store's group commit, which would otherwise dominate.
		id := s.ID
		g.Go(func() error {
			if err := st.Append(gctx, ms); err != nil {
				return fmt.Errorf("generate %s: %w", id, err)
			}
			return nil
		})
		cfg.Meters = append(cfg.Meters, meters...)
		si++
	}
	return cfg, g.Wait()
}

// eventDay applies Events to the demand model's reading of local time t:
// a public holiday is a weekend, but the third building's heating runs
// through Christmas.
func eventDay(t time.Time, d dayTime, holidays map[calendar.Date]bool, si int, m energy.Medium) dayTime {
	if holidays[calendar.DateOf(t)] {
		d.weekend = true
	}
	if si == 2 && (m == energy.Heat || m == energy.Gas) && t.Month() == time.December && t.Day() >= 25 && t.Day() <= 27 {
		d.weekend = false
	}
	return d
}

// isPeak is the first building's electricity peak of Events.
func isPeak(t time.Time) bool {
	return t.Month() == time.March && t.Day() == 10 && t.Hour() == 10 && t.Minute() < 15
}

// round truncates v to digits decimals as a register display does.
func round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Floor(v*p) / p
}

// summerCutoff is the trailing 24-hour outdoor mean above which the
// demo buildings' controllers switch the space heating off and keep the
// hot water (summer mode): 17 degC, the upper end of usual heating
// limits (15-17 degC).
const summerCutoff = 17.0

// trailingMean is the mean of the last w values up to each index.
func trailingMean(v []float64, w int) []float64 {
	out := make([]float64, len(v))
	sum := 0.0
	for i, x := range v {
		sum += x
		if i >= w {
			sum -= v[i-w]
		}
		out[i] = sum / float64(min(i+1, w))
	}
	return out
}

// demoCategory is the comparison table's building category (Lfd.-Nr.) of
// a demo building, by the kind in its name; "" for other names.
func demoCategory(name string) string {
	for kind, cat := range map[string]string{"Grundschule": "21", "Gymnasium": "21", "Rathaus": "1", "Sporthalle": "30",
		"Kindergarten": "22", "Bauhof": "40", "Feuerwache": "6", "Bibliothek": "24"} {
		if strings.HasPrefix(name, kind+" ") {
			return cat
		}
	}
	return ""
}

// DemoSites returns n school and office buildings with areas, for
// `loraedge simulate --scenario energy-year` when the configuration names
// no buildings.
func DemoSites(n int) []site.Site {
	kinds := []string{"Grundschule", "Gymnasium", "Rathaus", "Sporthalle", "Kindergarten", "Bauhof", "Feuerwache", "Bibliothek"}
	out := make([]site.Site, n)
	for i := range out {
		k := kinds[i%len(kinds)]
		bgf := float64(800 + (i*733)%4200)
		out[i] = site.Site{ID: fmt.Sprintf("geb-%03d", i+1), Name: fmt.Sprintf("%s %d", k, i/len(kinds)+1), Kind: site.Building,
			BGF: bgf, NRF: math.Round(bgf * 0.85)}
	}
	return out
}
