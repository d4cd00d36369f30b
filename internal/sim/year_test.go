package sim

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/store"
)

// TestGeneratedYearConsistent runs a generated year in Europe/Berlin
// (with both DST changes) through the report at day, month and year
// granularity: the buckets must add up to the same totals, the anomalies
// of the first site must be found, and no value may be estimated.
func TestGeneratedYearConsistent(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := DemoSites(2)
	cfg, err := GenerateYear(ctx, st, 2026, sites, YearOptions{Interval: time.Hour, Anomalies: true})
	require.NoError(t, err)
	require.Len(t, cfg.Meters, 6)
	eng, err := energy.New(energy.Options{Config: cfg, Sites: sites})
	require.NoError(t, err)
	from, to, err := eng.ParsePeriod("2026-01-01", "2026-12-31")
	require.NoError(t, err)
	totals := map[string]float64{}
	for _, g := range []energy.Granularity{energy.Day, energy.Month, energy.Year} {
		rep, err := eng.Report(ctx, energy.RangeSource{Ranger: st}, energy.Request{From: from, To: to, Granularity: g})
		require.NoError(t, err)
		n := map[energy.Granularity]int{energy.Day: 365, energy.Month: 12, energy.Year: 1}[g]
		for _, s := range rep.Sites {
			for _, m := range s.Media {
				require.Len(t, m.Buckets, n)
				var sum float64
				for _, b := range m.Buckets {
					sum += b.Consumption
				}
				assert.InDelta(t, m.Consumption, sum, 1e-6, "%s %s %s", g, s.ID, m.Medium)
				k := s.ID + string(m.Medium)
				if v, ok := totals[k]; ok {
					assert.InDelta(t, v, m.Consumption, 1e-9)
				}
				totals[k] = m.Consumption
				assert.False(t, m.Estimated, "%s %s", s.ID, m.Medium)
				assert.Greater(t, m.Consumption, 0.0)
			}
			assert.True(t, s.Heating.Normalised)
			// The synthetic climate is close to the reference climate.
			assert.InDelta(t, energy.DefaultReferenceDegreeDays, s.Heating.DegreeDays.Value, 600)
		}
		if g == energy.Day {
			// 29 March and 25 October are 23 and 25 hours long in Berlin.
			b := rep.Sites[0].Media[0].Buckets
			assert.Equal(t, 23*time.Hour, b[87].End.Sub(b[87].Start))
			assert.Equal(t, 25*time.Hour, b[297].End.Sub(b[297].Start))
		}
		codes := map[energy.NoteCode]int{}
		heatGap := false
		for _, nt := range rep.Notes {
			codes[nt.Code]++
			// Lost uplinks may add short gaps elsewhere; the 10-day
			// outage of the first site's heat meter is always there.
			heatGap = heatGap || (nt.Code == energy.NoteGap && nt.Meter == sites[0].ID+"-waerme")
		}
		assert.Equal(t, 1, codes[energy.NoteReplacement])
		assert.Equal(t, 1, codes[energy.NoteRollover])
		assert.True(t, heatGap)
		assert.Equal(t, 1, codes[energy.NoteLeak])
	}
}

// TestGeneratedYearMeasure: the demo measure (heat loss of the second
// building cut by 20 % from 1 October) is found by the baseline on
// January to September, and a building without one saves (almost)
// nothing.
func TestGeneratedYearMeasure(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := DemoSites(2)
	cfg, err := GenerateYear(ctx, st, 2026, sites, YearOptions{Interval: time.Hour, Measure: true})
	require.NoError(t, err)
	require.Len(t, cfg.Measures, 1)
	m := cfg.Measures[0]
	require.Equal(t, sites[1].ID, m.Site)
	require.Equal(t, "2026-10-01", m.Date)
	noMeasure := m
	noMeasure.ID, noMeasure.Site, noMeasure.Medium = "", sites[0].ID, energy.Heat
	cfg.Measures = append(cfg.Measures, noMeasure)
	require.NoError(t, cfg.Validate())
	eng, err := energy.New(energy.Options{Config: cfg, Sites: sites})
	require.NoError(t, err)
	cal, err := calendar.New(calendar.DefaultConfig())
	require.NoError(t, err)
	res := eng.Measures(ctx, energy.RangeSource{Ranger: st}, cal, time.Date(2027, 1, 1, 0, 0, 0, 0, eng.Location()))
	require.Len(t, res, 2)
	for _, r := range res {
		require.Empty(t, r.Error)
		s := r.Savings
		t.Logf("%s: R2 %.3f CV(RMSE) %.3f Tb %.1f; avoided %.0f +- %.0f kWh (%.1f %%), significant from %v",
			r.Measure.Site, s.Baseline.R2, s.Baseline.CVRMSE, s.Baseline.BalanceTemp, s.AvoidedKWh, s.UncertaintyKWh, 100*s.Fraction, s.SignificantFrom)
		require.True(t, s.Baseline.MeetsASHRAE14, r.Measure.Site)
	}
	with, without := res[0].Savings, res[1].Savings
	require.NotNil(t, with.SignificantFrom)
	require.LessOrEqual(t, with.SignificantFrom.Sub(calendar.NewDate(2026, 10, 1)), 14, "significant within two weeks of October")
	// The cut applies to the heat loss; hot water stays, and the lower
	// loss shifts the balance point: about 20 % of all heat is saved.
	require.InDelta(t, MeasureCut, with.Fraction, 0.03)
	require.Less(t, with.UncertaintyKWh, 0.1*with.AvoidedKWh)
	// The demo year has no day-to-day noise, so even the 1 % bias of a
	// daily model of an hourly simulation shows up as "significant" in the
	// last days of the year; what matters is that it stays small.
	require.InDelta(t, 0, without.Fraction, 0.02)
}
