package roadcast

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Case is a comparison case: the inputs of one night and a peer model's
// (METRo's) road-surface forecast for them. Its JSON is the shape the
// reference outputs in testdata/metro are written in.
type Case struct {
	Name         string
	Station      Station
	Issued       time.Time
	Weather      []Hour
	Observations []Observation
	Reference    []ReferencePoint
}

// ReferencePoint is one output step of the peer model. Condition is
// METRo's road-condition code (1 dry, 2 wet, 3 ice/snow, 4 mixed
// water/snow, 5 dew, 6 melting snow, 7 frost, 8 icing rain).
type ReferencePoint struct {
	Time               time.Time `json:"time"`
	SurfaceTemperature float64   `json:"road_surface_temperature"`
	Condition          int       `json:"road_condition"`
}

// caseJSON mirrors Case with optional numbers as pointers, so an absent
// sw_down or lw_down becomes NaN (computed by the model) and not 0 W/m2.
type caseJSON struct {
	Name     string  `json:"name"`
	Station  Station `json:"station"`
	Issued   string  `json:"issued"`
	Forecast []struct {
		Time           time.Time `json:"time"`
		AirTemperature *float64  `json:"air_temperature"`
		DewPoint       *float64  `json:"dew_point"`
		WindSpeed      *float64  `json:"wind_speed"`
		CloudCover     *float64  `json:"cloud_cover"`
		Precipitation  *float64  `json:"precipitation"`
		Pressure       *float64  `json:"pressure"`
		SWDown         *float64  `json:"sw_down"`
		LWDown         *float64  `json:"lw_down"`
	} `json:"forecast"`
	Observations []struct {
		Time                  time.Time `json:"time"`
		AirTemperature        *float64  `json:"air_temperature"`
		DewPoint              *float64  `json:"dew_point"`
		SurfaceTemperature    *float64  `json:"road_surface_temperature"`
		SubsurfaceTemperature *float64  `json:"road_subsurface_temperature"`
		WindSpeed             *float64  `json:"wind_speed"`
		Wet                   bool      `json:"road_wet"`
	} `json:"observations"`
	Metro []ReferencePoint `json:"metro"`
}

// ErrCase reports a comparison case that cannot be read.
var ErrCase = errors.New("invalid comparison case")

func orNaN(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}

// ParseCase decodes a comparison case. Required numbers that are absent
// become NaN, which Forecast rejects with a message naming them.
func ParseCase(data []byte) (Case, error) {
	var cj caseJSON
	if err := json.Unmarshal(data, &cj); err != nil {
		return Case{}, fmt.Errorf("%w: %w", ErrCase, err)
	}
	issued, err := time.Parse(time.RFC3339, cj.Issued)
	if err != nil {
		return Case{}, fmt.Errorf("%w: issued: %w", ErrCase, err)
	}
	c := Case{Name: cj.Name, Station: cj.Station, Issued: issued, Reference: cj.Metro}
	for _, h := range cj.Forecast {
		c.Weather = append(c.Weather, Hour{Time: h.Time, AirTemperature: orNaN(h.AirTemperature),
			DewPoint: orNaN(h.DewPoint), WindSpeed: orNaN(h.WindSpeed), CloudCover: orNaN(h.CloudCover),
			Precipitation: zeroIfNil(h.Precipitation), Pressure: orNaN(h.Pressure), SWDown: orNaN(h.SWDown), LWDown: orNaN(h.LWDown)})
	}
	for _, o := range cj.Observations {
		c.Observations = append(c.Observations, Observation{Time: o.Time, AirTemperature: orNaN(o.AirTemperature),
			DewPoint: orNaN(o.DewPoint), SurfaceTemperature: orNaN(o.SurfaceTemperature),
			SubsurfaceTemperature: orNaN(o.SubsurfaceTemperature), WindSpeed: orNaN(o.WindSpeed), Wet: o.Wet})
	}
	if len(c.Reference) == 0 {
		return Case{}, fmt.Errorf("%w: %q has no metro output", ErrCase, c.Name)
	}
	return c, nil
}

// Input returns the forecast input of the case, starting at its issue time.
func (c Case) Input() Input {
	return Input{Station: c.Station, Start: c.Issued, Weather: c.Weather, Observations: c.Observations}
}

// zeroIfNil reads an absent precipitation as none, as METRo's input does.
func zeroIfNil(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}
