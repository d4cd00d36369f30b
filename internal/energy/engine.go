package energy

import (
	"context"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // gateways (OpenWrt) lack zoneinfo; periods are local

	"golang.org/x/sync/errgroup"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// Options build an Engine.
type Options struct {
	Config  Config
	Sites   []site.Site
	Devices []device.Device
	// Series lists the stored series for meter discovery (store.Series());
	// nil: only configured meters.
	Series []store.SeriesInfo
	// Now stamps reports; default time.Now.
	Now func() time.Time
	// Calendar gives the day types of measure baselines; nil: the
	// default NRW calendar.
	Calendar *calendar.Calendar
}

// Engine computes energy reports for a fixed configuration.
type Engine struct {
	r      *resolved
	sites  map[string]site.Site
	order  []string // site IDs in configuration order
	meters []MeterConfig
	now    func() time.Time
}

// New resolves the configuration and the meter inventory.
func New(opts Options) (*Engine, error) {
	r, err := opts.Config.resolve()
	if err != nil {
		return nil, err
	}
	if len(opts.Sites) > 0 {
		if err := opts.Config.ValidateRefs(opts.Sites); err != nil {
			return nil, err
		}
	}
	e := &Engine{r: r, sites: map[string]site.Site{}, now: opts.Now}
	if e.now == nil {
		e.now = time.Now
	}
	for _, s := range opts.Sites {
		if s.Kind == site.Road {
			continue
		}
		e.sites[s.ID] = s
		e.order = append(e.order, s.ID)
	}
	devSite := map[string]string{}
	for _, d := range opts.Devices {
		devSite[lower(d.DevEUI.String())] = d.Site
	}
	named := map[string]bool{}
	for _, m := range r.Meters {
		m.Device = lower(m.Device)
		if m.Site == "" {
			m.Site = devSite[m.Device]
		}
		if m.Site == "" {
			return nil, fmt.Errorf("energy meter %s: no site (set site or the device's site)", m.id())
		}
		named[m.ref().Key()] = true
		e.meters = append(e.meters, m)
	}
	if opts.Config.DiscoverMeters == nil || *opts.Config.DiscoverMeters {
		for _, m := range DiscoverMeters(opts.Devices, opts.Series, named) {
			// Meters at road sites (a heated bridge?) are not buildings.
			if _, ok := e.sites[m.Site]; ok || len(opts.Sites) == 0 {
				e.meters = append(e.meters, m)
			}
		}
	}
	return e, nil
}

// DiscoverMeters returns a meter for every electricity, heat, gas and
// water series of a device with a site whose key is not in skip.
func DiscoverMeters(devs []device.Device, series []store.SeriesInfo, skip map[string]bool) []MeterConfig {
	devSite := map[string]string{}
	for _, d := range devs {
		if d.Site != "" {
			devSite[lower(d.DevEUI.String())] = d.Site
		}
	}
	var out []MeterConfig
	for _, s := range series {
		m := MediumOf(s.Quantity)
		st := devSite[lower(s.Device)]
		if m == "" || st == "" || skip[s.Key] {
			continue
		}
		out = append(out, MeterConfig{Site: st, Medium: m, Device: lower(s.Device), Quantity: s.Quantity, Channel: s.Channel})
	}
	return out
}

// Meters returns the meters the engine reports on.
func (e *Engine) Meters() []MeterConfig { return append([]MeterConfig(nil), e.meters...) }

// Location is the time zone of days and months.
func (e *Engine) Location() *time.Location { return e.r.loc }

// ParsePeriod turns the CLI's inclusive dates (2026-01-01, 2026-12-31)
// into [from, to) in the engine's time zone.
func (e *Engine) ParsePeriod(from, to string) (time.Time, time.Time, error) {
	f, err := time.ParseInLocation("2006-01-02", from, e.r.loc)
	if err != nil {
		return time.Time{}, time.Time{}, &inputerr.FieldError{Field: "from", Message: "expected a date like 2026-01-01, got " + inputerr.Quote(from), Err: err}
	}
	t, err := time.ParseInLocation("2006-01-02", to, e.r.loc)
	if err != nil {
		return time.Time{}, time.Time{}, &inputerr.FieldError{Field: "to", Message: "expected the last day included, a date like 2026-12-31, got " + inputerr.Quote(to), Err: err}
	}
	t = t.AddDate(0, 0, 1)
	if !f.Before(t) {
		return time.Time{}, time.Time{}, fmt.Errorf("period: from %s is after to %s", from, to)
	}
	return f, t, nil
}

// Request selects a report.
type Request struct {
	// From and To bound the period [From, To); local midnight normally.
	From, To time.Time
	// Sites limits the report; empty: every building with meters.
	Sites       []string
	Granularity Granularity
}

// lookaround is how far outside a period readings are fetched so that
// period boundaries can be interpolated across gaps.
const lookaround = 31 * 24 * time.Hour

type meterData struct {
	cfg MeterConfig
	cv  *curve
	n   int
}

// Report computes the report for req from src.
func (e *Engine) Report(ctx context.Context, src Source, req Request) (*Report, error) {
	r := e.r
	loc := r.loc
	if !req.From.Before(req.To) {
		return nil, fmt.Errorf("energy report: empty period %s..%s", req.From, req.To)
	}
	from, to := req.From.In(loc), req.To.In(loc)
	rep := &Report{
		From: from, To: to, Generated: e.now().In(loc), Timezone: loc.String(),
		AreaBasis: r.AreaBasis, ReferenceDegreeDays: r.ReferenceDegreeDays,
		NightStartHour: r.nightStart, NightEndHour: r.nightEnd,
		Granularity: req.Granularity, Years: periodYears(from, to, loc),
	}
	if rep.Granularity == "" {
		rep.Granularity = Month
		if to.Sub(from) <= 62*24*time.Hour {
			rep.Granularity = Day
		}
	}
	rep.Previous = previousPeriod(from, to, loc)
	rep.LastYear = Period{From: from.AddDate(-1, 0, 0), To: to.AddDate(-1, 0, 0)}

	want := map[string]bool{}
	for _, s := range req.Sites {
		if _, ok := e.sites[s]; !ok {
			return nil, fmt.Errorf("energy report: unknown site %q%s", s, inputerr.Suggest(s, slices.Sorted(maps.Keys(e.sites)), ""))
		}
		want[s] = true
	}
	bySite := map[string][]int{}
	for i, m := range e.meters {
		if len(want) > 0 && !want[m.Site] {
			continue
		}
		bySite[m.Site] = append(bySite[m.Site], i)
	}

	// Read and clean every meter, a few at a time.
	data := make([]meterData, len(e.meters))
	rFrom := minTime(rep.Previous.From, rep.LastYear.From).Add(-lookaround)
	rTo := to.Add(lookaround)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, idx := range bySite {
		for _, i := range idx {
			g.Go(func() error {
				m := e.meters[i]
				rs, err := src.Readings(gctx, m.ref(), rFrom, rTo)
				if err != nil {
					return fmt.Errorf("meter %s: %w", m.id(), err)
				}
				data[i] = meterData{cfg: m, cv: buildCurve(rs, r.curveParams(m)), n: countIn(rs, from, to)}
				return nil
			})
		}
	}
	// Outdoor temperatures of sites with heating meters, in the same pool:
	// for degree days and for interpolating heat across gaps.
	climates := make(map[string]**climate, len(bySite))
	for id, idx := range bySite {
		heating := false
		for _, i := range idx {
			heating = heating || e.meters[i].Medium == Heat || e.meters[i].Medium == Gas
		}
		if !heating {
			continue
		}
		sc := r.sites[id]
		sc.ID = id
		cl := new(*climate)
		climates[id] = cl
		g.Go(func() error {
			var err error
			*cl, err = r.loadClimate(gctx, src, sc, rFrom, rTo)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	dds := make(map[string]*DegreeDays, len(climates))
	for id, cl := range climates {
		sc := r.sites[id]
		dd := r.degreeDays(*cl, sc, from, to)
		dds[id] = &dd
		if *cl == nil {
			continue
		}
		w := (*cl).weight(sc.HotWaterShare)
		for _, i := range bySite[id] {
			if m := data[i].cfg.Medium; m == Heat || m == Gas {
				data[i].cv.weight = w
			}
		}
	}
	edges := bucketEdges(from, to, rep.Granularity, loc)
	lyEdges := make([]time.Time, len(edges))
	for i, t := range edges {
		lyEdges[i] = t.AddDate(-1, 0, 0)
	}
	ids := e.order
	for _, id := range ids {
		idx := bySite[id]
		if len(idx) == 0 {
			continue
		}
		rep.Sites = append(rep.Sites, e.siteReport(rep, e.sites[id], idx, data, dds[id], edges, lyEdges))
	}
	// Meters on sites not in the site list still count, under their ID.
	var extra []string
	for id := range bySite {
		if _, ok := e.sites[id]; !ok {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		rep.Sites = append(rep.Sites, e.siteReport(rep, site.Site{ID: id, Name: id, Kind: site.Building}, bySite[id], data, dds[id], edges, lyEdges))
	}
	e.totals(rep)
	e.rank(rep)
	r.benchmarks(rep)
	used := map[string]bool{}
	for _, m := range Media {
		for y := rep.LastYear.From.Year(); y <= to.Add(-time.Nanosecond).Year(); y++ {
			f := r.factor(m, y)
			k := fmt.Sprint(f.Year, f.Medium)
			if !used[k] {
				used[k] = true
				rep.EmissionFactors = append(rep.EmissionFactors, f)
			}
		}
	}
	return rep, nil
}

func countIn(rs []Reading, from, to time.Time) int {
	n := 0
	for _, r := range rs {
		if !r.Time.Before(from) && r.Time.Before(to) {
			n++
		}
	}
	return n
}

func (r *resolved) curveParams(m MeterConfig) curveParams {
	p := curveParams{scale: m.scale(), maxRate: m.MaxRatePerHour, dropTol: r.DropTolerance, maxGap: int64(r.MaxGap), replace: m.Replacements}
	if m.Digits > 0 {
		p.wrap = math.Pow10(m.Digits)
	}
	return p
}

// periodYears is the number of whole calendar years of [from, to), or its
// days / 365 when it is not whole years.
func periodYears(from, to time.Time, loc *time.Location) float64 {
	f, t := from.In(loc), to.In(loc)
	if f.Month() == 1 && f.Day() == 1 && isMidnight(f) && t.Month() == 1 && t.Day() == 1 && isMidnight(t) {
		return float64(t.Year() - f.Year())
	}
	return to.Sub(from).Hours() / 24 / 365
}

func isMidnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// previousPeriod is the period of the same length right before: the same
// number of calendar months for whole months, else the same duration.
func previousPeriod(from, to time.Time, loc *time.Location) Period {
	f, t := from.In(loc), to.In(loc)
	if f.Day() == 1 && isMidnight(f) && t.Day() == 1 && isMidnight(t) {
		months := (t.Year()-f.Year())*12 + int(t.Month()-f.Month())
		return Period{From: f.AddDate(0, -months, 0), To: f}
	}
	if isMidnight(f) && isMidnight(t) {
		days := int(math.Round(t.Sub(f).Hours() / 24))
		return Period{From: f.AddDate(0, 0, -days), To: f}
	}
	return Period{From: f.Add(-t.Sub(f)), To: f}
}

func bucketEdges(from, to time.Time, g Granularity, loc *time.Location) []time.Time {
	out := []time.Time{from}
	f := from.In(loc)
	var next func(time.Time) time.Time
	var cur time.Time
	switch g {
	case Day:
		cur = time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	case Year:
		cur = time.Date(f.Year(), 1, 1, 0, 0, 0, 0, loc)
		next = func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }
	default:
		cur = time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, loc)
		next = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	}
	for cur = next(cur); cur.Before(to); cur = next(cur) {
		out = append(out, cur)
	}
	return append(out, to)
}

// gasKWh returns the m3 -> kWh factor of a site and whether defaults were
// used.
func (r *resolved) gas(siteID string) (z, hs float64, defaulted bool) {
	sc := r.sites[siteID]
	z, zok := sc.Gas.zNumber()
	hs, hok := sc.Gas.calorific()
	return z, hs, !zok || !hok
}

// sum adds the consumption of meters in [a, b).
func sum(data []meterData, idx []int, a, b time.Time) (float64, bool, bool) {
	var v float64
	est, any := false, false
	for _, i := range idx {
		cv := data[i].cv
		if len(cv.t) == 0 {
			continue
		}
		if cv.t[0] >= b.UnixNano() || cv.t[len(cv.t)-1] <= a.UnixNano() {
			// The meter has no readings around [a, b): not installed yet
			// or removed. It adds nothing and flags nothing; a meter that
			// stopped reporting is flagged where its readings end.
			continue
		}
		c, e := cv.between(a.UnixNano(), b.UnixNano())
		any = true
		v += c
		est = est || e
	}
	return v, est, any
}

// valued is consumption with its energy, cost and CO2.
type valued struct {
	cons, kwh, cost, co2 float64
	est, any, costOK     bool
}

// value computes consumption, kWh, cost and CO2 of meters idx over [a, b),
// splitting at year ends so each year takes its own tariff and factor.
func (e *Engine) value(rep *Report, siteID string, m Medium, conv float64, data []meterData, idx []int, a, b time.Time, notes bool) valued {
	r := e.r
	v := valued{costOK: true}
	for ys := a; ys.Before(b); {
		y := ys.In(r.loc).Year()
		ye := minTime(time.Date(y+1, 1, 1, 0, 0, 0, 0, r.loc), b)
		c, est, any := sum(data, idx, ys, ye)
		kwh := c
		switch m {
		case Gas:
			kwh = c * conv
		case Water:
			kwh = 0
		}
		v.cons += c
		v.kwh += kwh
		v.est = v.est || est
		v.any = v.any || any
		f := r.factor(m, y)
		if m == Water {
			v.co2 += c * f.KgPerUnit
		} else {
			v.co2 += kwh * f.KgPerUnit
		}
		if notes && f.Year != y && f.KgPerUnit > 0 {
			rep.note(Note{Code: NoteFactorYear, Medium: m, Year: y, Value: float64(f.Year)})
		}
		if t, ok := r.tariff(siteID, m, y); ok {
			yearDays := time.Date(y+1, 1, 1, 0, 0, 0, 0, r.loc).Sub(time.Date(y, 1, 1, 0, 0, 0, 0, r.loc)).Hours()
			base := t.BaseFeePerYear * ye.Sub(ys).Hours() / yearDays
			if m == Water {
				v.cost += c*t.EnergyPrice + base
			} else {
				v.cost += kwh*t.EnergyPrice + base
			}
		} else {
			v.costOK = false
			if notes {
				rep.note(Note{Code: NoteNoTariff, Site: siteID, Medium: m, Year: y})
			}
		}
		ys = ye
	}
	return v
}

// note adds n once.
func (rep *Report) note(n Note) {
	for _, x := range rep.Notes {
		if x.Code == n.Code && x.Site == n.Site && x.Meter == n.Meter && x.Medium == n.Medium && x.Month == n.Month && x.Year == n.Year {
			return
		}
	}
	rep.Notes = append(rep.Notes, n)
}

func (e *Engine) siteReport(rep *Report, s site.Site, idx []int, data []meterData, dd *DegreeDays, edges, lyEdges []time.Time) SiteReport {
	r := e.r
	sr := SiteReport{ID: s.ID, Name: s.Name, Address: s.Address, BGF: s.BGF, NRF: s.NRF}
	if sr.Name == "" {
		sr.Name = s.ID
	}
	from, to := rep.From, rep.To
	var heatingKWh float64
	for _, m := range Media {
		var mi []int
		for _, i := range idx {
			if data[i].cfg.Medium == m {
				mi = append(mi, i)
			}
		}
		if len(mi) == 0 {
			continue
		}
		conv := 1.0
		mr := MediumReport{Medium: m, Unit: m.Unit()}
		if m == Gas {
			z, hs, def := r.gas(s.ID)
			conv = z * hs
			mr.GasZNumber, mr.GasCalorificValue = z, hs
			if def {
				rep.note(Note{Code: NoteGasDefault, Site: s.ID, Medium: Gas})
			}
		}
		cur := e.value(rep, s.ID, m, conv, data, mi, from, to, true)
		mr.Consumption, mr.EnergyKWh, mr.CostEUR, mr.CO2Kg, mr.Estimated, mr.CostComplete = cur.cons, cur.kwh, cur.cost, cur.co2, cur.est, cur.costOK
		mr.Previous = e.compare(rep, s.ID, m, conv, data, mi, rep.Previous, cur)
		mr.LastYear = e.compare(rep, s.ID, m, conv, data, mi, rep.LastYear, cur)
		mr.Buckets = buckets(data, mi, edges, m, conv)
		mr.LastYearBuckets = buckets(data, mi, lyEdges, m, conv)
		e.baseLoads(rep, s.ID, &mr, data, mi)
		for _, i := range mi {
			d := data[i]
			c, est := d.cv.between(from.UnixNano(), to.UnixNano())
			mrep := MeterReport{ID: d.cfg.id(), Device: d.cfg.Device, Quantity: string(d.cfg.quantity()), Channel: d.cfg.Channel, Consumption: c, Estimated: est, Readings: d.n}
			counts := map[EventKind]int{}
			for _, ev := range d.cv.events {
				if ev.Time.Before(from) || !ev.Time.Before(to) {
					continue
				}
				mrep.Events = append(mrep.Events, ev)
				counts[ev.Kind]++
				switch ev.Kind {
				case EventRollover, EventReplacement, EventReplacementDetected:
					t := ev.Time
					code := map[EventKind]NoteCode{EventRollover: NoteRollover, EventReplacement: NoteReplacement, EventReplacementDetected: NoteReplacementDetected}[ev.Kind]
					rep.Notes = append(rep.Notes, Note{Code: code, Site: s.ID, Meter: mrep.ID, Medium: m, Time: &t, Value: ev.Consumption})
				}
			}
			if counts[EventGap] > 0 {
				rep.note(Note{Code: NoteGap, Site: s.ID, Meter: mrep.ID, Medium: m, Value: float64(counts[EventGap])})
			}
			if counts[EventRejected] > 0 {
				rep.note(Note{Code: NoteRejected, Site: s.ID, Meter: mrep.ID, Medium: m, Value: float64(counts[EventRejected])})
			}
			switch {
			case d.n == 0:
				rep.note(Note{Code: NoteNoReadings, Site: s.ID, Meter: mrep.ID, Medium: m})
			case est:
				rep.note(Note{Code: NoteEstimated, Site: s.ID, Meter: mrep.ID, Medium: m})
			}
			mr.Meters = append(mr.Meters, mrep)
		}
		if m == Heat || m == Gas {
			heatingKWh += mr.EnergyKWh
		}
		sr.EnergyKWh += mr.EnergyKWh
		sr.CostEUR += mr.CostEUR
		sr.CO2Kg += mr.CO2Kg
		sr.Media = append(sr.Media, mr)
	}

	// Weather normalisation of heating energy.
	sc := r.sites[s.ID]
	sc.ID = s.ID
	h := Heating{RawKWh: heatingKWh, HotWaterShare: sc.HotWaterShare, Factor: 1, NormalisedKWh: heatingKWh}
	if heatingKWh > 0 && dd != nil {
		h.DegreeDays = *dd
		if dd.Source != "" && dd.Value > 0 {
			h.Normalised = true
			h.Factor = dd.Reference / dd.Value
			h.NormalisedKWh = heatingKWh*(1-sc.HotWaterShare)*h.Factor + heatingKWh*sc.HotWaterShare
		}
	}
	if heatingKWh > 0 && !h.Normalised {
		rep.note(Note{Code: NoteNoDegreeDays, Site: s.ID})
	}
	sr.Heating = h

	// Kennwerte per m2 and year.
	if s.BGF <= 0 && s.NRF <= 0 {
		rep.note(Note{Code: NoteNoArea, Site: s.ID})
	}
	heatYears := rep.Years
	if h.Normalised {
		// The normalised energy belongs to the reference climate, whose
		// share of a year this period holds.
		heatYears = referenceShare(from, to, r.loc)
	}
	per := func(v, area, years float64) *float64 {
		if area <= 0 || years <= 0 {
			return nil
		}
		x := v / area / years
		return &x
	}
	var elec, water float64
	var hasElec, hasWater, hasHeat bool
	for _, mr := range sr.Media {
		switch mr.Medium {
		case Electricity:
			elec, hasElec = mr.Consumption, true
		case Water:
			water, hasWater = mr.Consumption, true
		case Heat, Gas:
			hasHeat = true
		}
	}
	if hasHeat {
		sr.Kennwerte.HeatingBGF = per(h.NormalisedKWh, s.BGF, heatYears)
		sr.Kennwerte.HeatingNRF = per(h.NormalisedKWh, s.NRF, heatYears)
	}
	if hasElec {
		sr.Kennwerte.ElectricityBGF = per(elec, s.BGF, rep.Years)
		sr.Kennwerte.ElectricityNRF = per(elec, s.NRF, rep.Years)
	}
	if hasWater {
		sr.Kennwerte.WaterBGF = per(water, s.BGF, rep.Years)
		sr.Kennwerte.WaterNRF = per(water, s.NRF, rep.Years)
	}
	return sr
}

func (e *Engine) compare(rep *Report, siteID string, m Medium, conv float64, data []meterData, idx []int, p Period, cur valued) Comparison {
	v := e.value(rep, siteID, m, conv, data, idx, p.From, p.To, false)
	c := Comparison{Period: p, Available: v.any, Consumption: v.cons, EnergyKWh: v.kwh, Estimated: v.est, CostEUR: v.cost, CO2Kg: v.co2}
	if v.any && v.cons > 0 {
		x := (cur.cons - v.cons) / v.cons * 100
		c.ChangePct = &x
	}
	return c
}

func buckets(data []meterData, idx []int, edges []time.Time, m Medium, conv float64) []Bucket {
	out := make([]Bucket, len(edges)-1)
	for i := range out {
		c, est, covered := sum(data, idx, edges[i], edges[i+1])
		kwh := c
		switch m {
		case Gas:
			kwh = c * conv
		case Water:
			kwh = 0
		}
		out[i] = Bucket{Start: edges[i], End: edges[i+1], Consumption: c, EnergyKWh: kwh, Estimated: est, uncovered: !covered}
	}
	return out
}

// baseLoads fills the night and weekend base load and flags leak months.
func (e *Engine) baseLoads(rep *Report, siteID string, mr *MediumReport, data []meterData, idx []int) {
	r := e.r
	loc := r.loc
	f := rep.From.In(loc)
	var nightC, nightH, wkC, wkH float64
	months := map[string]*[2]float64{}
	var order []string
	for d := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc); d.Before(rep.To); d = d.AddDate(0, 0, 1) {
		// Weekend: Saturday 00:00 to Monday 00:00.
		if d.Weekday() == time.Saturday && !d.Before(rep.From) {
			if mon := d.AddDate(0, 0, 2); !mon.After(rep.To) {
				if c, _, any := sum(data, idx, d, mon); any {
					wkC += c
					wkH += mon.Sub(d).Hours()
				}
			}
		}
		a := time.Date(d.Year(), d.Month(), d.Day(), r.nightStart, 0, 0, 0, loc)
		b := time.Date(d.Year(), d.Month(), d.Day(), r.nightEnd, 0, 0, 0, loc)
		if a.Before(rep.From) || b.After(rep.To) {
			continue
		}
		c, _, any := sum(data, idx, a, b)
		if !any {
			continue
		}
		hrs := b.Sub(a).Hours()
		nightC += c
		nightH += hrs
		k := d.Format("2006-01")
		mm := months[k]
		if mm == nil {
			mm = &[2]float64{}
			months[k] = mm
			order = append(order, k)
		}
		mm[0] += c
		mm[1] += hrs
	}
	if nightH > 0 {
		mr.NightBase = nightC / nightH
	}
	if wkH > 0 {
		mr.WeekendBase = wkC / wkH
	}
	for _, k := range order {
		mm := months[k]
		nr := NightRate{Month: k, Rate: mm[0] / mm[1]}
		if mr.Medium == Water && nr.Rate*1000 > r.LeakNightLPH {
			nr.Leak = true
			rep.note(Note{Code: NoteLeak, Site: siteID, Medium: Water, Month: k, Value: nr.Rate * 1000})
		}
		mr.NightMonths = append(mr.NightMonths, nr)
	}
}

func (e *Engine) totals(rep *Report) {
	for _, m := range Media {
		t := MediumTotal{Medium: m, Unit: m.Unit(), CostComplete: true}
		found := false
		// The change of a total compares like with like: only sites with
		// data in the comparison period count on the current side.
		var curPrev, curLY float64
		for _, s := range rep.Sites {
			for _, mr := range s.Media {
				if mr.Medium != m {
					continue
				}
				if !found {
					found = true
					t.Buckets = make([]Bucket, len(mr.Buckets))
					t.LastYearBuckets = make([]Bucket, len(mr.LastYearBuckets))
					for i, b := range mr.Buckets {
						t.Buckets[i] = Bucket{Start: b.Start, End: b.End}
					}
					for i, b := range mr.LastYearBuckets {
						t.LastYearBuckets[i] = Bucket{Start: b.Start, End: b.End}
					}
					t.Previous.Period, t.LastYear.Period = mr.Previous.Period, mr.LastYear.Period
				}
				t.Consumption += mr.Consumption
				t.EnergyKWh += mr.EnergyKWh
				t.CostEUR += mr.CostEUR
				t.CO2Kg += mr.CO2Kg
				t.Estimated = t.Estimated || mr.Estimated
				t.CostComplete = t.CostComplete && mr.CostComplete
				t.NightBase += mr.NightBase
				t.WeekendBase += mr.WeekendBase
				addBuckets(t.Buckets, mr.Buckets)
				addBuckets(t.LastYearBuckets, mr.LastYearBuckets)
				addComparison(&t.Previous, mr.Previous)
				addComparison(&t.LastYear, mr.LastYear)
				if mr.Previous.Available {
					curPrev += mr.Consumption
				}
				if mr.LastYear.Available {
					curLY += mr.Consumption
				}
			}
		}
		if !found {
			continue
		}
		for c, cur := range map[*Comparison]float64{&t.Previous: curPrev, &t.LastYear: curLY} {
			if c.Available && c.Consumption > 0 {
				x := (cur - c.Consumption) / c.Consumption * 100
				c.ChangePct = &x
			}
		}
		rep.Totals = append(rep.Totals, t)
		rep.EnergyKWh += t.EnergyKWh
		rep.CostEUR += t.CostEUR
		rep.CO2Kg += t.CO2Kg
	}
}

func addBuckets(dst, src []Bucket) {
	for i := range dst {
		if i < len(src) {
			dst[i].Consumption += src[i].Consumption
			dst[i].EnergyKWh += src[i].EnergyKWh
			dst[i].Estimated = dst[i].Estimated || src[i].Estimated
		}
	}
}

func addComparison(dst *Comparison, src Comparison) {
	dst.Available = dst.Available || src.Available
	dst.Consumption += src.Consumption
	dst.EnergyKWh += src.EnergyKWh
	dst.CostEUR += src.CostEUR
	dst.CO2Kg += src.CO2Kg
	dst.Estimated = dst.Estimated || src.Estimated
}

// rank orders sites by heating Kennwert on the configured area, worst
// first; sites without one go last, by electricity Kennwert.
func (e *Engine) rank(rep *Report) {
	nrf := e.r.AreaBasis == "nrf"
	for _, s := range rep.Sites {
		k := Rank{Site: s.ID, Name: s.Name, Heating: s.Kennwerte.HeatingBGF, Electricity: s.Kennwerte.ElectricityBGF}
		if nrf {
			k.Heating, k.Electricity = s.Kennwerte.HeatingNRF, s.Kennwerte.ElectricityNRF
		}
		rep.Ranking = append(rep.Ranking, k)
	}
	val := func(p *float64) float64 {
		if p == nil {
			return math.Inf(-1)
		}
		return *p
	}
	sort.SliceStable(rep.Ranking, func(i, j int) bool {
		a, b := rep.Ranking[i], rep.Ranking[j]
		if val(a.Heating) != val(b.Heating) {
			return val(a.Heating) > val(b.Heating)
		}
		return val(a.Electricity) > val(b.Electricity)
	})
	for i := range rep.Ranking {
		rep.Ranking[i].Place = i + 1
	}
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
