package sim

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/roadcast"
)

// The simulated forecast drives the road model through a winter night:
// the road, measured at +1 degC at dusk, is forecast to freeze.
func TestSimWeatherDrivesRoadcast(t *testing.T) {
	now := time.Date(2026, 1, 12, 19, 30, 0, 0, time.UTC)
	w, err := Weather{}.Weather(context.Background(), MosmixStation, now)
	require.NoError(t, err)
	assert.Equal(t, roadcast.Fresh, w.State)
	assert.Equal(t, time.Date(2026, 1, 12, 15, 0, 0, 0, time.UTC), w.Issued)
	assert.Len(t, w.Hours, 25)
	var obs []roadcast.Observation
	for m := -120; m <= 0; m += 10 {
		at := now.Add(time.Duration(m) * time.Minute)
		obs = append(obs, roadcast.Observation{Time: at, AirTemperature: 2.5, DewPoint: 1, SurfaceTemperature: 1, SubsurfaceTemperature: 3, WindSpeed: 1.5, Wet: true})
	}
	res, err := roadcast.Forecast(roadcast.Input{Station: roadcast.Station{Lat: 51.7, Lon: 8.7}, Start: now, Weather: w.Hours, Observations: obs})
	require.NoError(t, err)
	assert.True(t, res.HasRisk(), "a wet road under a clear January night freezes")

	_, err = Weather{}.Weather(context.Background(), "10430", now)
	require.ErrorIs(t, err, roadcast.ErrNoWeather)
}
