package datex2

import (
	"context"
	"fmt"
	"sort"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// LastReader returns the latest point of each series (the store).
type LastReader interface {
	Last(ctx context.Context, keys []string) ([]store.Series, error)
}

// quantities are the canonical quantities a station publishes.
var quantities = []measurement.Quantity{
	measurement.RoadSurfaceTemperature, measurement.AirTemperature, measurement.DewPoint,
	measurement.RelativeHumidity, measurement.WaterFilmHeight, measurement.RoadSurfaceState,
}

// Collect builds the stations: every road site, with the newest value of
// each quantity among the devices mounted there.
func Collect(ctx context.Context, src LastReader, sites []site.Site, devices []device.Device) ([]Station, error) {
	bySite := map[string][]string{}
	for _, d := range devices {
		bySite[d.Site] = append(bySite[d.Site], d.DevEUI.String())
	}
	var out []Station
	for _, s := range sites {
		if s.Kind != site.Road {
			continue
		}
		st := Station{ID: s.ID, Name: s.Name, Road: s.Road, Km: s.Km, Lat: s.Lat, Lon: s.Lon}
		var keys []string
		for _, dev := range bySite[s.ID] {
			for _, q := range quantities {
				keys = append(keys, measurement.Measurement{Device: dev, Quantity: q}.SeriesKey())
			}
		}
		series, err := src.Last(ctx, keys)
		if err != nil {
			return nil, fmt.Errorf("datex2: latest values of %s: %w", s.ID, err)
		}
		for _, se := range series {
			if len(se.Points) == 0 || se.Channel != 0 {
				continue
			}
			p := se.Points[len(se.Points)-1]
			slot := st.slot(se.Quantity)
			if *slot == nil || p.Time.After((*slot).Time) {
				*slot = &Reading{Value: p.Value, Time: p.Time}
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *Station) slot(q measurement.Quantity) **Reading {
	switch q {
	case measurement.RoadSurfaceTemperature:
		return &s.SurfaceTemperature
	case measurement.AirTemperature:
		return &s.AirTemperature
	case measurement.DewPoint:
		return &s.DewPoint
	case measurement.RelativeHumidity:
		return &s.Humidity
	case measurement.WaterFilmHeight:
		return &s.WaterFilm
	default:
		return &s.SurfaceState
	}
}
