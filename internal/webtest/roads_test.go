package webtest

import (
	"context"
	"math"
	"time"

	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/roadcast"
)

// roadDesk answers /roads/{station}/forecast in the shape cmd's
// roadForecasts writes: the bridge with a real roadcast forecast (a wet
// road at +1.5 degC under a clearing evening sky), the forest with a stale
// MOSMIX issue, the Kuppe with none.
type roadDesk struct{ now time.Time }

func (r roadDesk) RoadForecast(_ context.Context, id string) (any, error) {
	now := r.now
	var measured []map[string]any
	var obs []roadcast.Observation
	for m := -180; m <= 0; m += 10 {
		at := now.Add(time.Duration(m) * time.Minute)
		fbt := 1.5 - float64(m)/180
		obs = append(obs, roadcast.Observation{Time: at, AirTemperature: fbt + 1, DewPoint: fbt - 0.5, SurfaceTemperature: fbt,
			SubsurfaceTemperature: math.NaN(), WindSpeed: 1.5, Wet: true})
		measured = append(measured, map[string]any{"time": at, "road_surface_temperature": fbt, "dew_point": fbt - 0.5})
	}
	issued := now.Add(-3 * time.Hour).Truncate(time.Hour)
	switch id {
	case "k23-bruecke":
		var hours []roadcast.Hour
		for i := -4; i <= 14; i++ {
			ta := 2.5 - 5*math.Max(float64(i), 0)/12
			hours = append(hours, roadcast.Hour{Time: now.Truncate(time.Hour).Add(time.Duration(i) * time.Hour), AirTemperature: ta, DewPoint: ta - 1.5,
				WindSpeed: 1.5, CloudCover: 1, Pressure: 1015, SWDown: 0, LWDown: math.NaN()})
		}
		res, err := roadcast.Forecast(roadcast.Input{Station: roadcast.Station{Lat: 51.7, Lon: 8.7}, Start: now, Weather: hours, Observations: obs})
		if err != nil {
			return nil, err
		}
		v := map[string]any{"site": id, "source": "mosmix+roadcast", "forecast": res, "measured": measured,
			"weather": map[string]any{"source": "mosmix", "station": "10430", "issued": issued, "state": "fresh"}}
		if lead, ok := res.Lead(now); ok {
			v["ice_risk_in_min"] = lead.Minutes()
		}
		return v, nil
	case "k23-wald":
		return map[string]any{"site": id, "source": "none", "measured": measured, "note": "MOSMIX forecast issued 2026-01-12T03:00:00Z is stale",
			"weather": map[string]any{"source": "mosmix", "station": "10430", "issued": issued, "state": "stale"}}, nil
	case "b7-kuppe":
		return map[string]any{"site": id, "source": "none", "measured": []any{}, "note": "the site has no mosmix_station"}, nil
	}
	return nil, httpapi.ErrRoadNotFound
}
