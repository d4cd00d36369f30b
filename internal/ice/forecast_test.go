package ice

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 15, 3, 0, 0, 0, time.UTC)

// series returns samples at now-60, -45, -30, -15, 0 min with the given FBT
// values and a copy of base for everything else.
func series(now time.Time, base Sample, fbt ...float64) []Sample {
	out := make([]Sample, len(fbt))
	for i, v := range fbt {
		s := base
		s.Time = now.Add(time.Duration(i-len(fbt)+1) * 15 * time.Minute)
		s.FBT = new(v)
		out[i] = s
	}
	return out
}

func conditions(hs []HorizonAssessment) []Condition {
	out := make([]Condition, len(hs))
	for i, h := range hs {
		out[i] = h.Assessment.Condition
	}
	return out
}

// Exactly linear data: FBT 6.1, 5.6, 5.1, 4.6, 4.1 at -60..0 min.
// mx = -30, my = 5.1; dx = -30,-15,0,15,30; dy = 1,0.5,0,-0.5,-1
// sxy = -30-7.5+0-7.5-30 = -75; sxx = 900+225+0+225+900 = 2250
// slope = -75/2250 = -1/30 K/min = -2 K/h; value(0) = 5.1 - (-1/30)(-30) = 4.1.
// Horizons 5/15/30/60/90 -> 3.9333, 3.6, 3.1, 2.1, 1.1; the tree's
// predictions (+60 min) -> 1.9333, 1.6, 1.1, 0.1, -0.9. TPT constant -0.5.
func TestForecastLinear(t *testing.T) {
	base := Sample{TPT: new(-0.5), LT: new(0.0), State: st(Dry)}
	hist := series(t0, base, 6.1, 5.6, 5.1, 4.6, 4.1)

	l, ok, err := FitFBT(hist, t0, ForecastOptions{})
	require.NoError(t, err)
	require.True(t, ok)
	assert.InDelta(t, 4.1, l.Value, 1e-9)
	assert.InDelta(t, -2.0, l.SlopePerHour, 1e-9)
	assert.Equal(t, 5, l.N)

	hs, err := Forecast(hist, t0, ForecastOptions{})
	require.NoError(t, err)
	require.Len(t, hs, 5)
	wantFBT := []float64{3.9333333, 3.6, 3.1, 2.1, 1.1}
	for i, h := range hs {
		assert.Equal(t, DefaultHorizons[i], h.Horizon)
		assert.Equal(t, t0.Add(h.Horizon), h.At)
		require.NotNil(t, h.FBT)
		assert.InDelta(t, wantFBT[i], *h.FBT, 1e-6)
		require.NotNil(t, h.TPT)
		assert.InDelta(t, -0.5, *h.TPT, 1e-9)
		require.NotNil(t, h.FBTTrend)
		assert.InDelta(t, -2.0, *h.FBTTrend, 1e-9)
	}
	// Dry: predicted FBT <= 2 with predicted spread > 0 (2.43, 2.1, 1.6, 0.6)
	// -> "bei Niederschlag möglich"; at +90 FBT 1.1 - TPT -0.5 = 1.6 <= 2
	// -> "sowie Reifglätte sofort möglich".
	assert.Equal(t, []Condition{OnPrecipitation, OnPrecipitation, OnPrecipitation, OnPrecipitation, OnPrecipitationOrFrostImmediate}, conditions(hs))

	// Wet: predicted FBT <= 2 -> Eisglätte möglich; +90 (1.1 <= 2) -> sofort.
	base.State = st(Wet)
	hs, err = Forecast(series(t0, base, 6.1, 5.6, 5.1, 4.6, 4.1), t0, ForecastOptions{})
	require.NoError(t, err)
	assert.Equal(t, []Condition{BlackIcePossible, BlackIcePossible, BlackIcePossible, BlackIcePossible, BlackIceImmediate}, conditions(hs))

	// The current reading with the +60 horizon's FBT (2.1) as prediction:
	// FBT 4.1 wet, predicted 2.1 > 2, FBT > 3 -> "Glättegefahr bei Wetteränderung".
	r := Reading{Sample: hist[len(hist)-1]}
	r.State = st(Wet)
	r = r.WithForecast(hs, 60*time.Minute)
	require.NotNil(t, r.PredictedFBT)
	assert.InDelta(t, 2.1, *r.PredictedFBT, 1e-6)
	assert.Equal(t, DangerOnWeatherChange, Assess(r).Condition)
}

// Noisy data: FBT 4.0, 3.9, 3.1, 2.6, 2.4 at -60..0 min.
// my = 16/5 = 3.2; dy = 0.8, 0.7, -0.1, -0.6, -0.8
// sxy = (-30)(0.8) + (-15)(0.7) + 0 + 15(-0.6) + 30(-0.8) = -24 - 10.5 - 9 - 24 = -67.5
// slope = -67.5/2250 = -0.03 K/min = -1.8 K/h; value(0) = 3.2 - 0.03*30 = 2.3
// +30 min: 2.3 - 0.9 = 1.4; +60: 0.5; +90: -0.4.
// Residuals -0.1, 0.25, -0.1, -0.15, 0.1 sum to 0 (check of the fit).
func TestForecastNoisy(t *testing.T) {
	hist := series(t0, Sample{State: st(Wet)}, 4.0, 3.9, 3.1, 2.6, 2.4)
	l, ok, err := FitFBT(hist, t0, ForecastOptions{})
	require.NoError(t, err)
	require.True(t, ok)
	assert.InDelta(t, -1.8, l.SlopePerHour, 1e-9)
	assert.InDelta(t, 2.3, l.Value, 1e-9)
	assert.InDelta(t, 1.4, l.At(30*time.Minute), 1e-9)
	assert.InDelta(t, 0.5, l.At(60*time.Minute), 1e-9)

	hs, err := Forecast(hist, t0, ForecastOptions{Horizons: []time.Duration{30 * time.Minute, 90 * time.Minute}})
	require.NoError(t, err)
	require.Len(t, hs, 2)
	assert.InDelta(t, 1.4, *hs[0].FBT, 1e-9)
	assert.InDelta(t, -0.4, *hs[1].FBT, 1e-9)
	assert.Equal(t, BlackIceImmediate, hs[0].Assessment.Condition)
	assert.Equal(t, BlackIceImmediate, hs[1].Assessment.Condition)
}

// Irregular spacing, unsorted input, invalid values and samples outside the
// window: only (-50, 3), (-20, 2), (-10, 1.5), (0, 1) count.
// mx = -20, my = 1.875; dx = -30, 0, 10, 20; dy = 1.125, 0.125, -0.375, -0.875
// sxy = -33.75 + 0 - 3.75 - 17.5 = -55; sxx = 900 + 0 + 100 + 400 = 1400
// slope = -55/1400 = -0.0392857 K/min = -2.357143 K/h
// value(0) = 1.875 - 0.0392857*20 = 1.089286.
func TestForecastIrregular(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	hist := []Sample{
		{Time: at(-10), FBT: new(1.5)},
		{Time: at(-50), FBT: new(3.0)},
		{Time: at(-90), FBT: new(20.0)},         // outside the window
		{Time: at(-30), FBT: new(math.NaN())},   // invalid
		{Time: at(-25), FBT: new(math.Inf(-1))}, // invalid
		{Time: at(-15), FBT: new(-99.0)},        // out of range
		{Time: at(0), FBT: new(1.0)},
		{Time: at(5), FBT: new(-30.0)}, // after now
		{Time: at(-20), FBT: new(2.0)},
	}
	l, ok, err := FitFBT(hist, t0, ForecastOptions{})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 4, l.N)
	assert.InDelta(t, -55.0/1400*60, l.SlopePerHour, 1e-9)
	assert.InDelta(t, 1.875-55.0/1400*20, l.Value, 1e-9)
}

func TestForecastNotPossible(t *testing.T) {
	base := Sample{State: st(Wet)}
	tests := []struct {
		name string
		hist []Sample
		now  time.Time
		opts ForecastOptions
	}{
		{"no history", nil, t0, ForecastOptions{}},
		{"three samples", series(t0, base, 3, 2, 1), t0, ForecastOptions{}},
		{"newest too old", series(t0.Add(-31*time.Minute), base, 4, 3, 2, 1, 0), t0, ForecastOptions{}},
		{"span too short", []Sample{
			{Time: t0.Add(-15 * time.Minute), FBT: new(2.0)}, {Time: t0.Add(-10 * time.Minute), FBT: new(1.9)},
			{Time: t0.Add(-5 * time.Minute), FBT: new(1.8)}, {Time: t0, FBT: new(1.7)},
		}, t0, ForecastOptions{}},
		{"all at one time", []Sample{{Time: t0, FBT: new(1.0)}, {Time: t0, FBT: new(2.0)}}, t0, ForecastOptions{MinSamples: 2, MinSpan: time.Nanosecond}},
		{"no FBT", series(t0, base, 1, 2, 3, 4, 5)[:0], t0, ForecastOptions{}},
		{"only future samples", series(t0.Add(2*time.Hour), base, 4, 3, 2, 1, 0), t0, ForecastOptions{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := Forecast(tc.hist, tc.now, tc.opts)
			require.NoError(t, err)
			require.NotEmpty(t, hs)
			for _, h := range hs {
				assert.Equal(t, TrendNotPossible, h.Assessment.Condition)
				assert.Nil(t, h.FBT)
			}
			_, ok, err := FitFBT(tc.hist, tc.now, tc.opts)
			require.NoError(t, err)
			assert.False(t, ok)
		})
	}
}

// Too old by a minute fails; exactly MaxAge still works; one lost uplink at
// a 15-min interval (4 of 5 readings) still gives a trend.
func TestForecastEdges(t *testing.T) {
	base := Sample{State: st(Wet)}
	hist := series(t0, base, 4, 3.5, 3, 2.5, 2)
	wide := ForecastOptions{Window: 2 * time.Hour}
	hs, err := Forecast(hist, t0.Add(30*time.Minute), wide)
	require.NoError(t, err)
	assert.NotEqual(t, TrendNotPossible, hs[0].Assessment.Condition)
	hs, err = Forecast(hist, t0.Add(31*time.Minute), wide)
	require.NoError(t, err)
	assert.Equal(t, TrendNotPossible, hs[0].Assessment.Condition)

	lost := append(append([]Sample(nil), hist[:2]...), hist[3:]...)
	hs, err = Forecast(lost, t0, ForecastOptions{})
	require.NoError(t, err)
	require.NotNil(t, hs[0].FBT)
	assert.InDelta(t, 2.0-2.0*5/60, *hs[0].FBT, 1e-9)
}

func TestForecastDerivedState(t *testing.T) {
	// No reported state, wet film: at the horizons where the extrapolated
	// FBT falls to <= 0 the derived state becomes freezing water.
	hist := series(t0, Sample{WaterFilm: new(0.3)}, 4, 3.5, 3, 2.5, 2) // -2 K/h, 2.0 now
	hs, err := Forecast(hist, t0, ForecastOptions{Horizons: []time.Duration{30 * time.Minute, 90 * time.Minute}})
	require.NoError(t, err)
	assert.Equal(t, BlackIceImmediate, hs[0].Assessment.Condition) // +1.0, wet
	assert.Equal(t, SlipperyPresent, hs[1].Assessment.Condition)   // -1.0, freezing
	require.NotNil(t, hs[1].Assessment.Surface)
	assert.Equal(t, FreezingWater, *hs[1].Assessment.Surface)
	assert.True(t, hs[1].Assessment.SurfaceDerived)
}

func TestForecastClamp(t *testing.T) {
	// A steep line far out is clamped to the valid temperature range.
	hist := series(t0, Sample{State: st(Dry)}, 60, 40, 20, 0, -20) // -80 K/h
	hs, err := Forecast(hist, t0, ForecastOptions{Horizons: []time.Duration{24 * time.Hour}})
	require.NoError(t, err)
	assert.Equal(t, MinTemperature, *hs[0].FBT)
}

func TestForecastOptions(t *testing.T) {
	for _, o := range []ForecastOptions{
		{MinSamples: 1},
		{Window: -time.Minute},
		{Horizons: []time.Duration{0}},
		{Horizons: []time.Duration{48 * time.Hour}},
		{Window: 10 * time.Minute, MinSpan: 20 * time.Minute},
	} {
		_, err := Forecast(nil, t0, o)
		require.Error(t, err)
		assert.True(t, errors.Is(err, ErrOptions))
		_, _, err = FitFBT(nil, t0, o)
		require.ErrorIs(t, err, ErrOptions)
	}
}
