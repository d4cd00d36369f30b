package roadcast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/ice"
)

var night = time.Date(2026, 12, 14, 18, 0, 0, 0, time.UTC)

var paderborn = Station{Lat: 51.72, Lon: 8.75}

// hours builds a forecast from night-3h to night+12h; air temperature
// falls linearly from ta0 to ta1 over the forecast, the dew point keeps
// spread below it.
func hours(ta0, ta1, spread, cloud, precip float64) []Hour {
	var hs []Hour
	for i := -3; i <= 12; i++ {
		w := math.Max(float64(i), 0) / 12
		ta := ta0 + w*(ta1-ta0)
		hs = append(hs, Hour{Time: night.Add(time.Duration(i) * time.Hour), AirTemperature: ta, DewPoint: ta - spread,
			WindSpeed: 1, CloudCover: cloud, Precipitation: precip, Pressure: 1010, SWDown: math.NaN(), LWDown: math.NaN()})
	}
	return hs
}

// steady builds 3 h of readings at constant values.
func steady(fbt, ta, td float64, wet bool) []Observation {
	var obs []Observation
	for m := -180; m <= 0; m += 10 {
		obs = append(obs, Observation{Time: night.Add(time.Duration(m) * time.Minute), AirTemperature: ta, DewPoint: td,
			SurfaceTemperature: fbt, SubsurfaceTemperature: math.NaN(), WindSpeed: 1, Wet: wet})
	}
	return obs
}

func states(res Result) map[ice.SurfaceState]int {
	m := map[ice.SurfaceState]int{}
	for _, p := range res.Points {
		m[p.State]++
	}
	return m
}

func TestWetRoadFreezesWithLatentHeatPlateau(t *testing.T) {
	res, err := Forecast(Input{Station: paderborn, Start: night, Weather: hours(3, -4, 1, 0, 0), Observations: steady(3, 3, 2, true)})
	require.NoError(t, err)
	require.Len(t, res.Points, 73, "12 h at 10 min, both ends")
	require.True(t, res.HasRisk())
	lead, ok := res.Lead(night)
	require.True(t, ok)
	assert.Greater(t, lead, 30*time.Minute)
	assert.Less(t, lead, 8*time.Hour)
	assert.Positive(t, states(res)[ice.IceSurface]+states(res)[ice.FreezingWater])
	// while the film freezes its latent heat holds the surface near 0 degC
	plateau := 0
	for _, p := range res.Points {
		if p.Ice > 0 && p.Water > 0 && p.SurfaceTemperature > -0.3 && p.SurfaceTemperature <= 0 {
			plateau++
		}
	}
	assert.GreaterOrEqual(t, plateau, 2, "10-min points on the freezing plateau")
	last := res.Points[len(res.Points)-1]
	assert.Less(t, last.SurfaceTemperature, -1.0)
}

func TestDryHumidNightGrowsHoarFrost(t *testing.T) {
	res, err := Forecast(Input{Station: paderborn, Start: night, Weather: hours(1, -3, 0.5, 0, 0), Observations: steady(1, 1, 0.5, false)})
	require.NoError(t, err)
	assert.Equal(t, ice.Dry, res.Points[0].State)
	assert.Positive(t, states(res)[ice.HoarFrost])
	require.True(t, res.HasRisk())
	for _, p := range res.Points {
		if p.Time.Before(res.Risk) {
			assert.False(t, p.State.Frozen(), "no frozen state before the risk time")
		}
	}
}

// TestDewAboveZeroIsNoRisk is issue 18's false alarm: a clear humid evening
// with the road at +1..+2 degC makes dew, not ice.
func TestDewAboveZeroIsNoRisk(t *testing.T) {
	res, err := Forecast(Input{Station: paderborn, Start: night, Weather: hours(4, 4, 0.5, 3, 0), Observations: steady(2.5, 4, 3.5, false)})
	require.NoError(t, err)
	minT := math.Inf(1)
	for _, p := range res.Points {
		minT = math.Min(minT, p.SurfaceTemperature)
	}
	assert.Greater(t, minT, 0.0)
	assert.Less(t, minT, 2.0, "a clear sky cools the road")
	assert.Positive(t, states(res)[ice.Moist]+states(res)[ice.Wet], "dew forms")
	assert.False(t, res.HasRisk())
	_, ok := res.Lead(night)
	assert.False(t, ok)
}

func TestCouplingMatchesStartAndFitsFlux(t *testing.T) {
	// overcast at +2 degC air: without extra heat the road would sit near
	// +2; the station says +5, so the coupling must add heat.
	w := hours(2, 2, 3, 8, 0)
	warm, err := Forecast(Input{Station: paderborn, Start: night, Weather: w, Observations: steady(5, 2, -1, false)})
	require.NoError(t, err)
	require.True(t, warm.Coupled)
	assert.InDelta(t, 5, warm.Points[0].SurfaceTemperature, 0.01)
	assert.Greater(t, warm.Correction, 5.0)
	free, err := Forecast(Input{Station: paderborn, Start: night, Weather: w})
	require.NoError(t, err)
	assert.False(t, free.Coupled)
	assert.Zero(t, free.Correction)
	// the correction decays: the coupled run approaches the free run
	d0 := warm.Points[6].SurfaceTemperature - free.Points[6].SurfaceTemperature
	d1 := warm.Points[72].SurfaceTemperature - free.Points[72].SurfaceTemperature
	assert.Less(t, math.Abs(d1), math.Abs(d0))
}

func TestSnowfallCoversTheRoad(t *testing.T) {
	res, err := Forecast(Input{Station: paderborn, Start: night, Weather: hours(-1, -2, 1, 8, 1), Observations: steady(-0.5, -1, -2, false)})
	require.NoError(t, err)
	assert.Positive(t, states(res)[ice.Snow])
	assert.Greater(t, res.Points[72].Snow, 5.0)
}

func TestForecastRejectsBadInput(t *testing.T) {
	good := hours(2, 0, 2, 4, 0)
	bad := func(f func(h []Hour)) []Hour {
		hs := append([]Hour(nil), good...)
		f(hs)
		return hs
	}
	tests := map[string]Input{
		"no start":          {Weather: good},
		"one hour":          {Start: night, Weather: good[:1]},
		"NaN air":           {Start: night, Weather: bad(func(h []Hour) { h[4].AirTemperature = math.NaN() })},
		"dew above air":     {Start: night, Weather: bad(func(h []Hour) { h[4].DewPoint = h[4].AirTemperature + 5 })},
		"cloud 9 octas":     {Start: night, Weather: bad(func(h []Hour) { h[2].CloudCover = 9 })},
		"negative rain":     {Start: night, Weather: bad(func(h []Hour) { h[2].Precipitation = -1 })},
		"time twice":        {Start: night, Weather: bad(func(h []Hour) { h[3].Time = h[2].Time })},
		"forecast too late": {Start: night.Add(-5 * time.Hour), Weather: good},
		"broken FBT sensor": {Start: night, Weather: good, Observations: []Observation{{Time: night, SurfaceTemperature: math.Inf(1), SubsurfaceTemperature: math.NaN()}}},
		"interval < step":   {Start: night, Weather: good, Step: time.Hour, Interval: time.Minute},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Forecast(in)
			require.ErrorIs(t, err, ErrInput)
		})
	}
}

func TestRadiationFormulas(t *testing.T) {
	// overcast: a black body at air temperature
	assert.InDelta(t, stefanBoltzmann*math.Pow(kelvin, 4), LongWaveDown(0, -3, 8), 0.01)
	clear := LongWaveDown(0, -5, 0)
	assert.Greater(t, clear, 200.0)
	assert.Less(t, clear, 260.0)
	assert.Greater(t, LongWaveDown(0, -1, 0), clear, "moister air radiates more")
	noon := time.Date(2026, 6, 21, 11, 25, 0, 0, time.UTC)
	assert.Zero(t, ShortWaveDown(paderborn, night, 0))
	assert.InDelta(t, 850, ShortWaveDown(paderborn, noon, 0), 120)
	assert.Less(t, ShortWaveDown(paderborn, noon, 8), 0.3*ShortWaveDown(paderborn, noon, 0))
}

func TestParseCaseErrors(t *testing.T) {
	for name, data := range map[string]string{
		"not json":  `{`,
		"bad time":  `{"issued":"yesterday","metro":[{}]}`,
		"no output": `{"issued":"2026-12-14T18:00:00Z"}`,
	} {
		_, err := ParseCase([]byte(data))
		assert.ErrorIs(t, err, ErrCase, name)
	}
}

// stations returns n stations' inputs varied by a seeded RNG.
func stations(n int) []Input {
	rng := rand.New(rand.NewPCG(18, 40))
	ins := make([]Input, n)
	for i := range ins {
		ta := -2 + 6*rng.Float64()
		ins[i] = Input{Station: paderborn, Start: night,
			Weather:      hours(ta, ta-3*rng.Float64(), 0.5+3*rng.Float64(), 8*rng.Float64(), 0.3*rng.Float64()),
			Observations: steady(ta+2*rng.Float64()-1, ta, ta-1, rng.IntN(2) == 0)}
	}
	return ins
}

func TestForecastDeterministic(t *testing.T) {
	ins := stations(3)
	a, err := Forecast(ins[1])
	require.NoError(t, err)
	b, err := Forecast(ins[1])
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

// BenchmarkForecast40 is one forecast round of a county: 40 stations, each
// coupled over 3 h and forecast 12 h at 1-min steps.
func BenchmarkForecast40(b *testing.B) {
	ins := stations(40)
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range ins {
			if _, err := Forecast(in); err != nil {
				b.Fatal(err)
			}
		}
	}
}
