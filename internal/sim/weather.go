package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/loraedge/loraedge/internal/roadcast"
)

// MosmixStation is the simulated MOSMIX station of the winter-night
// scenario's road sites (one regional station, as in reality).
const MosmixStation = "SIM01"

// Weather is the simulator's point-forecast source: the January curves the
// road stations measure (without their sites' offsets and noise, as a
// regional forecast would be), a clear sky at night and some cloud by day,
// light wind, issued every 6 h like MOSMIX_L. It lets `make run` show
// physics forecasts without a network.
type Weather struct{}

var _ roadcast.Source = Weather{}

// Weather returns the forecast issued last before now (03, 09, 15, 21 UTC),
// hourly for 24 h.
func (Weather) Weather(_ context.Context, station string, now time.Time) (roadcast.Weather, error) {
	if station != MosmixStation {
		return roadcast.Weather{Source: "sim", Station: station, State: roadcast.Missing},
			fmt.Errorf("sim station %s: %w", station, roadcast.ErrNoWeather)
	}
	issued := now.UTC().Add(-3 * time.Hour).Truncate(6 * time.Hour).Add(3 * time.Hour)
	w := roadcast.Weather{Source: "sim", Station: station, Issued: issued, Fetched: issued.Add(90 * time.Minute), State: roadcast.Fresh}
	for i := 0; i <= 24; i++ {
		t := issued.Add(time.Duration(i) * time.Hour)
		h := hourOfDay(t)
		air := airTempCurve.at(h)
		cloud := 1.0 // clear nights: radiative cooling, the scenario's point
		if h >= 10 && h < 16 {
			cloud = 4
		}
		w.Hours = append(w.Hours, roadcast.Hour{Time: t, AirTemperature: air, DewPoint: dewPoint(air, rhCurve.at(h)),
			WindSpeed: 1.5, CloudCover: cloud, Pressure: 1015, SWDown: math.NaN(), LWDown: math.NaN()})
	}
	return w, nil
}
