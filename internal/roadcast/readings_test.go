package roadcast

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadingsObservations(t *testing.T) {
	at := func(m int) time.Time { return night.Add(time.Duration(m) * time.Minute) }
	r := Readings{
		FBT:   []Sample{{at(30), 1.5}, {at(0), 2}, {at(15), 1.8}, {at(120), 0.5}},
		Air:   []Sample{{at(0), 4}, {at(15), 3.8}, {at(30), 3.6}, {at(120), 3}},
		RH:    []Sample{{at(0), 80}, {at(30), 85}},
		State: []Sample{{at(0), 0}, {at(30), 32}},
		Wind:  []Sample{{at(-5), 1.2}},
	}
	obs := r.Observations()
	require.Len(t, obs, 3, "the reading at +120 min has no humidity within 30 min")
	assert.True(t, obs[0].Time.Equal(at(0)), "sorted")
	assert.InDelta(t, 0.86, obs[0].DewPoint, 0.05, "dew point from air temperature and RH (Magnus)")
	assert.False(t, obs[0].Wet)
	assert.True(t, obs[2].Wet, "TLS 32 wet")
	assert.InDelta(t, 1.2, obs[1].WindSpeed, 1e-9)
	assert.True(t, math.IsNaN(obs[2].WindSpeed), "wind older than 30 min is not used")
	assert.True(t, math.IsNaN(obs[0].SubsurfaceTemperature))

	// the model accepts observations without wind
	_, err := Forecast(Input{Station: paderborn, Start: at(30), Weather: hours(4, 2, 2, 4, 0), Observations: obs})
	require.NoError(t, err)
}
