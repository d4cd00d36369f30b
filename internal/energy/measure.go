package energy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/loraedge/loraedge/internal/calendar"
)

// MeasureKinds are the kinds of energy measures (Maßnahmen) a measure may
// name.
var MeasureKinds = []string{"insulation", "windows", "heating", "controls", "lighting", "ventilation", "pv", "behaviour", "other"}

// DefaultBaselineDays is the length of the baseline period before a
// measure: one year, so that every season and day type is in it.
const DefaultBaselineDays = 365

// Measure is an energy measure of a site and medium (key energy.measures).
type Measure struct {
	// ID names the measure; default "<site>/<medium>/<date>".
	ID     string `mapstructure:"id" yaml:"id,omitempty" json:"id"`
	Site   string `mapstructure:"site" yaml:"site,omitempty" json:"site"`
	Medium Medium `mapstructure:"medium" yaml:"medium,omitempty" json:"medium"`
	// Date is the first day the measure acts on (2006-01-02).
	Date  string `mapstructure:"date" yaml:"date,omitempty" json:"date"`
	Title string `mapstructure:"title" yaml:"title,omitempty" json:"title"`
	// Kind is one of MeasureKinds.
	Kind          string  `mapstructure:"kind" yaml:"kind,omitempty" json:"kind"`
	InvestmentEUR float64 `mapstructure:"investment_eur" yaml:"investment_eur,omitempty" json:"investment_eur"`
	// ExpectedSavingKWhPerYear is the planned saving (m3 for water).
	ExpectedSavingKWhPerYear float64 `mapstructure:"expected_saving_kwh_per_year" yaml:"expected_saving_kwh_per_year,omitempty" json:"expected_saving_kwh_per_year"`
}

// Key returns the measure's ID or its default.
func (m Measure) Key() string {
	if m.ID != "" {
		return m.ID
	}
	return m.Site + "/" + string(m.Medium) + "/" + m.Date
}

// Validate reports every problem of m, each under path.
func (m Measure) Validate(path string) error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", path, key, fmt.Sprintf(format, args...)))
	}
	if m.Site == "" {
		add("site", "required")
	}
	if !m.Medium.Valid() {
		add("medium", "%q is not electricity, heat, gas or water", m.Medium)
	}
	if _, err := calendar.ParseDate(m.Date); err != nil {
		add("date", "%v", err)
	}
	if m.Title == "" {
		add("title", "required")
	}
	if !slices.Contains(MeasureKinds, m.Kind) {
		add("kind", "%q is not one of %v", m.Kind, MeasureKinds)
	}
	if m.InvestmentEUR < 0 || math.IsNaN(m.InvestmentEUR) {
		add("investment_eur", "must not be negative")
	}
	if m.ExpectedSavingKWhPerYear < 0 || math.IsNaN(m.ExpectedSavingKWhPerYear) {
		add("expected_saving_kwh_per_year", "must not be negative")
	}
	return errors.Join(errs...)
}

// MeasureResult is a measure with its verified saving up to a day.
type MeasureResult struct {
	Measure Measure `json:"measure"`
	// Savings is nil when the saving cannot be computed (Error says why:
	// no meter, too short a baseline, the measure lies in the future).
	Savings *Savings `json:"savings"`
	Error   string   `json:"error,omitempty"`
	// AvoidedEUR and AvoidedCO2Kg price the avoided consumption with
	// each day's year's tariff and emission factor; CostComplete is false
	// when a year has no tariff.
	AvoidedEUR   float64 `json:"avoided_eur"`
	CostComplete bool    `json:"cost_complete"`
	AvoidedCO2Kg float64 `json:"avoided_co2_kg"`
	// AvoidedPerYear extrapolates the verified saving to a year by the
	// reporting days; ExpectedToDate is the planned saving prorated to
	// the reporting days.
	AvoidedPerYear float64 `json:"avoided_per_year"`
	ExpectedToDate float64 `json:"expected_to_date"`
	// PaybackYears is the investment over the yearly avoided cost; nil
	// without investment, tariff or saving.
	PaybackYears *float64 `json:"payback_years"`
}

// Measures verifies every configured measure with data up to to
// (exclusive, local midnight): a baseline on the DefaultBaselineDays (or
// baseline_days) before the measure's date, savings from the date on.
func (e *Engine) Measures(ctx context.Context, src Source, cal *calendar.Calendar, to time.Time) []MeasureResult {
	return e.Verify(ctx, src, cal, e.r.Measures, to)
}

// ReportMeasures verifies the configured measures of rep's sites that
// start before rep's end, with data up to it, on opts' calendar (nil:
// the default NRW calendar).
func (e *Engine) ReportMeasures(ctx context.Context, src Source, cal *calendar.Calendar, rep *Report) ([]MeasureResult, error) {
	if cal == nil {
		var err error
		if cal, err = calendar.New(calendar.DefaultConfig()); err != nil {
			return nil, err
		}
	}
	in := map[string]bool{}
	for _, s := range rep.Sites {
		in[s.ID] = true
	}
	end := calendar.DateOf(rep.To.In(e.r.loc))
	var ms []Measure
	for _, m := range e.r.Measures {
		if d, err := calendar.ParseDate(m.Date); err == nil && in[m.Site] && d.Before(end) {
			ms = append(ms, m)
		}
	}
	return e.Verify(ctx, src, cal, ms, rep.To), nil
}

// Verify is Measures for the measures ms (configured ones and those
// added through the API).
func (e *Engine) Verify(ctx context.Context, src Source, cal *calendar.Calendar, ms []Measure, to time.Time) []MeasureResult {
	out := make([]MeasureResult, 0, len(ms))
	for _, m := range ms {
		res := MeasureResult{Measure: m}
		if err := e.measure(ctx, src, cal, to, &res); err != nil {
			res.Error = err.Error()
		}
		out = append(out, res)
	}
	return out
}

func (e *Engine) measure(ctx context.Context, src Source, cal *calendar.Calendar, to time.Time, res *MeasureResult) error {
	m := res.Measure
	loc := e.r.loc
	start, err := calendar.ParseDate(m.Date)
	if err != nil {
		return err
	}
	obs, err := e.DailyObs(ctx, src, cal, m.Site, m.Medium, start.AddDays(-e.r.BaselineDays).Time(loc), to)
	if err != nil {
		return err
	}
	s, err := ComputeSavings(obs, start, e.r.BaselineDays)
	if err != nil {
		return err
	}
	res.Savings = s
	res.CostComplete = true
	for _, d := range s.Days {
		if d.Measured == nil {
			continue
		}
		y := d.Date.Year()
		if t, ok := e.r.tariff(m.Site, m.Medium, y); ok {
			res.AvoidedEUR += d.Avoided * t.EnergyPrice
		} else {
			res.CostComplete = false
		}
		res.AvoidedCO2Kg += d.Avoided * e.r.factor(m.Medium, y).KgPerUnit
	}
	if s.ReportingDays > 0 {
		f := 365 / float64(s.ReportingDays)
		res.AvoidedPerYear = s.AvoidedKWh * f
		res.ExpectedToDate = m.ExpectedSavingKWhPerYear / f
		if eurYear := res.AvoidedEUR * f; m.InvestmentEUR > 0 && eurYear > 0 && res.CostComplete {
			p := m.InvestmentEUR / eurYear
			res.PaybackYears = &p
		}
	}
	return nil
}

// DailyObs returns the daily consumption of a site's medium over [from,
// to) (kWh; gas converted, m3 for water) with the site's daily mean
// outdoor temperature and the calendar's day types. Days whose value is
// an estimate (a gap at a day boundary) or that no meter covers have a
// NaN value; days without a temperature mean a NaN temperature.
func (e *Engine) DailyObs(ctx context.Context, src Source, cal *calendar.Calendar, siteID string, medium Medium, from, to time.Time) ([]DayObs, error) {
	if !from.Before(to) {
		return nil, fmt.Errorf("measure %s %s: the measure lies after the data (%s)", siteID, medium, to.Format(time.DateOnly))
	}
	rep, err := e.Report(ctx, src, Request{From: from, To: to, Sites: []string{siteID}, Granularity: Day})
	if err != nil {
		return nil, err
	}
	var buckets []Bucket
	for _, s := range rep.Sites {
		for _, mr := range s.Media {
			if mr.Medium == medium {
				buckets = mr.Buckets
			}
		}
	}
	if buckets == nil {
		return nil, fmt.Errorf("site %s has no %s meter", siteID, medium)
	}
	sc := e.r.sites[siteID]
	sc.ID = siteID
	cl, err := e.r.loadClimate(ctx, src, sc, from, to)
	if err != nil {
		return nil, err
	}
	temps := map[int64]float64{}
	if cl != nil {
		for i := range cl.means {
			if cl.valid[i] {
				temps[cl.days[i].Unix()] = cl.means[i]
			}
		}
	}
	obs := make([]DayObs, 0, len(buckets))
	for _, b := range buckets {
		d := calendar.DateOf(b.Start.In(e.r.loc))
		o := DayObs{Date: d, Type: cal.Day(siteID, d).Type, Value: b.EnergyKWh, Temp: math.NaN()}
		if medium == Water {
			o.Value = b.Consumption
		}
		if b.Estimated || b.uncovered {
			o.Value = math.NaN()
		}
		if t, ok := temps[b.Start.Unix()]; ok {
			o.Temp = t
		}
		obs = append(obs, o)
	}
	return obs, nil
}
