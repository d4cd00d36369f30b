package energy

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/calendar"
)

// synthYear is a school's daily heat consumption over two years: a
// change-point heating model with day-type effects, seasonal weather with
// autocorrelated deviations and 6 % multiplicative autocorrelated noise,
// seeded. From cutDay on the weather-dependent heating demand is cut by
// cut (0..1). It returns the observations and the true avoided kWh per
// day (noise-free demand times cut).
func synthYear(t *testing.T, seed uint64, cutDay calendar.Date, cut float64) ([]DayObs, []float64) {
	t.Helper()
	cfg := calendar.DefaultConfig()
	cfg.Sites = []calendar.SiteConfig{{ID: "gs1", ClosedInSchoolHolidays: true, UseTimes: map[string]string{
		"mon": "07:00-16:00", "tue": "07:00-16:00", "wed": "07:00-16:00", "thu": "07:00-16:00", "fri": "07:00-14:00"}}}
	cal, err := calendar.New(cfg)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	first := calendar.NewDate(2025, 1, 1)
	var obs []DayObs
	var truth []float64
	var wx, noise float64
	for d := first; d.Before(calendar.NewDate(2027, 1, 1)); d++ {
		doy := float64(d.Sub(first) % 365)
		wx = 0.7*wx + rng.NormFloat64()*2.2
		temp := 10 - 8*math.Cos(2*math.Pi*(doy-15)/365) + wx
		day := cal.Day("gs1", d)
		hdd := math.Max(0, 15-temp)
		var base, slope float64
		switch day.Type {
		case calendar.WorkingDay:
			base, slope = 180, 55
		case calendar.SchoolHoliday:
			base, slope = 120, 40
		default: // weekend, holiday: set-back
			base, slope = 110, 35
		}
		heating := slope * hdd
		noise = 0.5*noise + rng.NormFloat64()*0.06*math.Sqrt(1-0.25)
		saved := 0.0
		if !d.Before(cutDay) {
			saved = cut * heating
		}
		v := (base + heating - saved) * (1 + noise)
		obs = append(obs, DayObs{Date: d, Type: day.Type, Value: v, Temp: temp})
		if !d.Before(cutDay) {
			truth = append(truth, saved)
		}
	}
	return obs, truth
}

func total(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// measureDay is the synthetic measure: a new heating pump and controls
// from Monday 12 January 2026, cutting the heating demand by 15 %.
var measureDay = calendar.NewDate(2026, 1, 12)

const measureCut = 0.15

// expectedSignificance is the first day on which the noise-free true
// cumulative saving exceeds the computed uncertainty band.
func expectedSignificance(s *Savings, truth []float64) (calendar.Date, bool) {
	var cum float64
	for i, d := range s.Days {
		cum += truth[i]
		if cum > d.Uncertainty {
			return d.Date, true
		}
	}
	return 0, false
}

func TestSavingsKnownMeasure(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		obs, truth := synthYear(t, seed, measureDay, measureCut)
		s, err := ComputeSavings(obs, measureDay, 365)
		require.NoError(t, err)
		b := s.Baseline
		require.True(t, b.MeetsASHRAE14, "seed %d: CV(RMSE) %.3f NMBE %.4f", seed, b.CVRMSE, b.NMBE)
		require.Greater(t, b.R2, 0.9, "seed %d", seed)
		require.InDelta(t, 15, b.BalanceTemp, 1.5, "seed %d: the change point", seed)
		require.Equal(t, 354, s.ReportingDays, "12 January to 31 December")
		want := total(truth)
		require.InDelta(t, want, s.AvoidedKWh, s.UncertaintyKWh, "seed %d: the 90 %% interval holds the true saving", seed)
		require.Less(t, s.UncertaintyKWh, 0.5*s.AvoidedKWh, "seed %d", seed)
		require.NotNil(t, s.SignificantFrom, "seed %d", seed)
		exp, ok := expectedSignificance(s, truth)
		require.True(t, ok)
		t.Logf("seed %d: R2 %.3f CV(RMSE) %.3f rho %.2f Tb %.1f; saved %.0f kWh (true %.0f) +- %.0f; significant from %s (expected %s)",
			seed, b.R2, b.CVRMSE, b.Rho, b.BalanceTemp, s.AvoidedKWh, want, s.UncertaintyKWh, s.SignificantFrom, exp)
		require.LessOrEqual(t, abs(s.SignificantFrom.Sub(exp)), 21, "seed %d: significance within three weeks of the noise-free expectation", seed)
		require.LessOrEqual(t, s.SignificantFrom.Sub(measureDay), 42, "seed %d: significant within six weeks of winter", seed)
	}
}

// TestSavingsNoMeasure: a year without a measure gives no significant
// saving. A 90 % interval excludes zero by chance in about one year of
// ten, half of them as a saving, so the seeded years are checked as a
// rate, and seed 1 as the worked example.
func TestSavingsNoMeasure(t *testing.T) {
	saving, increase, n := 0, 0, 100
	for seed := uint64(1); seed <= uint64(n); seed++ {
		obs, _ := synthYear(t, seed, measureDay, 0)
		s, err := ComputeSavings(obs, measureDay, 365)
		require.NoError(t, err)
		if seed == 1 {
			require.Nil(t, s.SignificantFrom, "saved %.0f +- %.0f", s.AvoidedKWh, s.UncertaintyKWh)
			require.LessOrEqual(t, math.Abs(s.AvoidedKWh), s.UncertaintyKWh)
		}
		if s.SignificantFrom != nil {
			if s.AvoidedKWh > 0 {
				saving++
			} else {
				increase++
			}
		}
	}
	t.Logf("significant without a measure: %d savings, %d increases in %d years", saving, increase, n)
	require.LessOrEqual(t, saving, 10, "false savings in at most 10 %% of years")
}

// TestSavingsCoverage checks the 90 % interval statistically: over 200
// seeded years it holds the true saving in at least 80 % of them: the
// ASHRAE formula is known to be optimistic for daily data with
// autocorrelated residuals (README, Methods).
func TestSavingsCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("200 fits")
	}
	hit, n := 0, 200
	for seed := uint64(100); seed < uint64(100+n); seed++ {
		obs, truth := synthYear(t, seed, measureDay, measureCut)
		s, err := ComputeSavings(obs, measureDay, 365)
		require.NoError(t, err)
		if math.Abs(s.AvoidedKWh-total(truth)) <= s.UncertaintyKWh {
			hit++
		}
	}
	t.Logf("coverage %d/%d", hit, n)
	require.GreaterOrEqual(t, float64(hit)/float64(n), 0.80)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestStudentT(t *testing.T) {
	// Table values of t(0.95) and t(0.975).
	for _, c := range []struct{ p, dof, want float64 }{
		{0.95, 5, 2.015}, {0.95, 10, 1.812}, {0.95, 30, 1.697}, {0.95, 120, 1.658},
		{0.975, 10, 2.228}, {0.975, 60, 2.000}, {0.95, 1e9, 1.645},
	} {
		require.InDelta(t, c.want, studentTQuantile(c.p, c.dof), 0.004, "t(%g, %g)", c.p, c.dof)
	}
}

func TestBaselineRejects(t *testing.T) {
	_, err := FitBaseline(nil, 10)
	require.ErrorIs(t, err, ErrShortBaseline)
	obs := make([]DayObs, 100)
	for i := range obs {
		obs[i] = DayObs{Date: calendar.Date(20000 + i), Type: calendar.WorkingDay, Value: math.NaN(), Temp: 5}
	}
	_, err = FitBaseline(obs, 10)
	require.ErrorIs(t, err, ErrShortBaseline, "gaps are not days")
	for i := range obs {
		obs[i].Value = 0
	}
	b, err := FitBaseline(obs, 10)
	require.NoError(t, err, "a building without consumption has a flat model")
	require.False(t, b.MeetsASHRAE14, "a zero mean has no CV(RMSE)")
}
