package roadcast

import (
	"math"
	"sort"
	"time"

	"github.com/loraedge/loraedge/internal/ice"
)

// Sample is one measured value.
type Sample struct {
	Time  time.Time
	Value float64
}

// Readings are a road station's measured series (from every device at the
// site), each in any order.
type Readings struct {
	FBT, Air, DewPoint, RH, Wind, Subsurface, State []Sample
}

// maxFill is how much older than an FBT reading another quantity may be to
// complete it (one missed 15-min uplink).
const maxFill = 30 * time.Minute

// Observations assembles one Observation per FBT reading. The dew point is
// the measured one or computed from air temperature and humidity; a reading
// with neither, or without air temperature, is left out. Wind is NaN where
// the station has no anemometer (the coupling then uses the forecast's).
// The road counts as wet when the surface state says moist or wet.
func (r Readings) Observations() []Observation {
	for _, s := range [][]Sample{r.FBT, r.Air, r.DewPoint, r.RH, r.Wind, r.Subsurface, r.State} {
		sort.Slice(s, func(i, j int) bool { return s[i].Time.Before(s[j].Time) })
	}
	var out []Observation
	for _, f := range r.FBT {
		o := Observation{Time: f.Time, SurfaceTemperature: f.Value, AirTemperature: latest(r.Air, f.Time),
			DewPoint: latest(r.DewPoint, f.Time), WindSpeed: latest(r.Wind, f.Time), SubsurfaceTemperature: latest(r.Subsurface, f.Time)}
		if math.IsNaN(o.DewPoint) {
			if td, err := ice.DewPoint(o.AirTemperature, latest(r.RH, f.Time)); err == nil {
				o.DewPoint = td
			}
		}
		if st := latest(r.State, f.Time); !math.IsNaN(st) {
			if s, err := ice.ParseSurfaceState(st); err == nil {
				o.Wet = s.HasWater()
			}
		}
		if math.IsNaN(o.AirTemperature) || math.IsNaN(o.DewPoint) {
			continue
		}
		out = append(out, o)
	}
	return out
}

// latest returns the value of s at or before t, at most maxFill old, or NaN.
func latest(s []Sample, t time.Time) float64 {
	i := sort.Search(len(s), func(i int) bool { return s[i].Time.After(t) })
	if i == 0 || t.Sub(s[i-1].Time) > maxFill {
		return math.NaN()
	}
	return s[i-1].Value
}
