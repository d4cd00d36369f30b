package energy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// TestMeasureThroughStore runs the synthetic school's two years through
// a real store as hourly meter and temperature readings: the engine's
// daily values, temperatures and day types must reproduce the savings of
// the daily series it was made from.
func TestMeasureThroughStore(t *testing.T) {
	const heatDev, tempDev = "00000000000000a1", "00000000000000a2"
	obs, truth := synthYear(t, 1, measureDay, measureCut)
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	var ms []measurement.Measurement
	reg := 1000.0
	for _, o := range obs {
		day := o.Date.Time(loc)
		next := o.Date.AddDays(1).Time(loc)
		hours := next.Sub(day).Hours() // 23 or 25 on DST days
		for h := 0; h < int(hours); h++ {
			at := day.Add(time.Duration(h) * time.Hour)
			ms = append(ms,
				measurement.Measurement{Device: heatDev, Quantity: measurement.HeatEnergy, Value: reg, Unit: "kWh", Time: at},
				measurement.Measurement{Device: tempDev, Quantity: measurement.AirTemperature, Value: o.Temp, Unit: "degC", Time: at})
			reg += o.Value / hours
		}
	}
	end := obs[len(obs)-1].Date.AddDays(1).Time(loc) // closes the last day
	ms = append(ms, measurement.Measurement{Device: heatDev, Quantity: measurement.HeatEnergy, Value: reg, Unit: "kWh", Time: end})
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Append(context.Background(), ms))

	cfg := DefaultConfig()
	cfg.Sites = []SiteConfig{{ID: "gs1", TemperatureDevice: tempDev}}
	cfg.Tariffs = []Tariff{{Medium: Heat, Year: 2026, EnergyPrice: 0.12}}
	cfg.Measures = []Measure{
		{Site: "gs1", Medium: Heat, Date: "2026-01-12", Title: "Neue Heizungspumpe und Regelung", Kind: "heating", InvestmentEUR: 18000, ExpectedSavingKWhPerYear: 12000},
		{Site: "gs1", Medium: Electricity, Date: "2026-03-01", Title: "LED", Kind: "lighting"},
	}
	require.NoError(t, cfg.Validate())
	eng, err := New(Options{Config: cfg, Sites: []site.Site{{ID: "gs1", Name: "Grundschule 1", Kind: site.Building}},
		Devices: []device.Device{{DevEUI: eui(heatDev), Site: "gs1"}}, Series: st.Series()})
	require.NoError(t, err)
	ccfg := calendar.DefaultConfig()
	ccfg.Sites = []calendar.SiteConfig{{ID: "gs1", ClosedInSchoolHolidays: true}}
	cal, err := calendar.New(ccfg)
	require.NoError(t, err)

	res := eng.Measures(context.Background(), RangeSource{st}, cal, time.Date(2027, 1, 1, 0, 0, 0, 0, loc))
	require.Len(t, res, 2)
	require.Contains(t, res[1].Error, "no electricity meter")
	r := res[0]
	require.Empty(t, r.Error)
	direct, err := ComputeSavings(obs, measureDay, DefaultBaselineDays)
	require.NoError(t, err)
	s := r.Savings
	require.Equal(t, direct.ReportingDays, s.ReportingDays)
	require.InDelta(t, direct.AvoidedKWh, s.AvoidedKWh, 0.001*direct.AvoidedKWh, "the store's daily values are the series")
	require.InDelta(t, direct.Baseline.R2, s.Baseline.R2, 1e-4)
	require.Equal(t, direct.SignificantFrom, s.SignificantFrom)
	require.InDelta(t, total(truth), s.AvoidedKWh, s.UncertaintyKWh)
	require.InDelta(t, 0.12*s.AvoidedKWh, r.AvoidedEUR, 1e-6*s.AvoidedKWh)
	require.True(t, r.CostComplete)
	require.InDelta(t, 0.280*s.AvoidedKWh, r.AvoidedCO2Kg, 1e-6*s.AvoidedKWh, "BAFA district heat default")
	require.NotNil(t, r.PaybackYears)
	require.InDelta(t, 18000/(r.AvoidedEUR*365/354), *r.PaybackYears, 1e-9)
	require.InDelta(t, 12000*354/365.0, r.ExpectedToDate, 1e-9)
	t.Logf("saved %.0f kWh +- %.0f (%.1f %%), %.0f EUR, %.0f kg CO2, payback %.1f a, significant from %s",
		s.AvoidedKWh, s.UncertaintyKWh, 100*s.Fraction, r.AvoidedEUR, r.AvoidedCO2Kg, *r.PaybackYears, s.SignificantFrom)
}

func TestMeasureValidate(t *testing.T) {
	c := DefaultConfig()
	c.BaselineDays = 10
	c.Measures = []Measure{
		{Site: "a", Medium: Heat, Date: "2026-01-12", Title: "x", Kind: "heating"},
		{Site: "a", Medium: Heat, Date: "2026-01-12", Title: "x", Kind: "heating"},
		{Medium: "steam", Date: "12.01.2026", Kind: "magic", InvestmentEUR: -1, ExpectedSavingKWhPerYear: -2},
	}
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{
		"energy.baseline_days: 10 is not 60..1095",
		`energy.measures[1].id: "a/heat/2026-01-12" listed twice`,
		"energy.measures[2].site: required",
		`energy.measures[2].medium: "steam" is not`,
		`energy.measures[2].date: "12.01.2026" is not a date`,
		"energy.measures[2].title: required",
		`energy.measures[2].kind: "magic" is not one of`,
		"energy.measures[2].investment_eur: must not be negative",
		"energy.measures[2].expected_saving_kwh_per_year: must not be negative",
	} {
		require.True(t, strings.Contains(err.Error(), want), "missing %q in\n%v", want, err)
	}
	c = DefaultConfig()
	c.Measures = []Measure{{Site: "k23", Medium: Heat, Date: "2026-01-12", Title: "x", Kind: "heating"}}
	require.ErrorContains(t, c.ValidateRefs(goldenSites), `energy.measures[0].site: site "k23" is a road, not a building`)
}

func TestMeasureBook(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	conf := []Measure{{Site: "gs1", Medium: Heat, Date: "2026-01-12", Title: "Pumpe", Kind: "heating"}}
	b, err := OpenMeasureBook(st.KV("energy_measures"), conf)
	require.NoError(t, err)
	isBuilding := func(s string) bool { return s == "gs1" }
	m, err := b.Add(Measure{Site: "gs1", Medium: Electricity, Date: "2026-03-01", Title: "LED", Kind: "lighting", InvestmentEUR: 9000}, isBuilding)
	require.NoError(t, err)
	require.Equal(t, "gs1/electricity/2026-03-01", m.ID)
	_, err = b.Add(Measure{Site: "gs1", Medium: Heat, Date: "2026-01-12", Title: "again", Kind: "heating"}, isBuilding)
	require.ErrorContains(t, err, `measure.id: "gs1/heat/2026-01-12" exists`)
	_, err = b.Add(Measure{Site: "k23", Medium: Heat, Date: "2026-01-12", Title: "x", Kind: "heating"}, isBuilding)
	require.ErrorContains(t, err, `measure.site: "k23" is not a building`)
	_, err = b.Add(Measure{Site: "gs1", Medium: Heat, Date: "soon", Title: "x", Kind: "heating"}, isBuilding)
	require.ErrorContains(t, err, `measure.date: "soon" is not a date`)

	again, err := OpenMeasureBook(st.KV("energy_measures"), conf)
	require.NoError(t, err)
	require.Equal(t, []string{"gs1/heat/2026-01-12", "gs1/electricity/2026-03-01"}, keys(again.List()), "the added measure survives a restart")

	require.NoError(t, st.KV("energy_measures").Put([]byte("bad"), []byte("{")))
	_, err = OpenMeasureBook(st.KV("energy_measures"), conf)
	require.ErrorContains(t, err, "measure bad")
}

func keys(ms []Measure) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Key())
	}
	return out
}
