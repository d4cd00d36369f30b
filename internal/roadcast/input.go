package roadcast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Hour is one step of a point weather forecast. Optional quantities are NaN
// when the source does not provide them.
type Hour struct {
	Time time.Time `json:"time"`
	// AirTemperature and DewPoint are 2 m values in degC.
	AirTemperature float64 `json:"air_temperature"`
	DewPoint       float64 `json:"dew_point"`
	// WindSpeed is the 10 m wind in m/s.
	WindSpeed float64 `json:"wind_speed"`
	// CloudCover is the total cloud cover in octas (0-8).
	CloudCover float64 `json:"cloud_cover"`
	// Precipitation is the rate in mm/h over the hour ending at Time.
	Precipitation float64 `json:"precipitation"`
	// Pressure is the surface pressure in hPa (NaN: 1013.25).
	Pressure float64 `json:"pressure"`
	// SWDown is global radiation in W/m2 (NaN: computed from the sun's
	// elevation and CloudCover).
	SWDown float64 `json:"sw_down"`
	// LWDown is the long-wave down-welling radiation in W/m2 (NaN: computed
	// by LongWaveDown).
	LWDown float64 `json:"lw_down"`
}

// Observation is one reading of the road station the forecast is coupled
// to. SubsurfaceTemperature and WindSpeed are NaN where no sensor measures
// them.
type Observation struct {
	Time                  time.Time `json:"time"`
	AirTemperature        float64   `json:"air_temperature"`
	DewPoint              float64   `json:"dew_point"`
	SurfaceTemperature    float64   `json:"road_surface_temperature"`
	SubsurfaceTemperature float64   `json:"road_subsurface_temperature"`
	WindSpeed             float64   `json:"wind_speed"`
	Wet                   bool      `json:"road_wet"`
}

// Station is where the forecast is made; the latitude and longitude give the
// sun's elevation.
type Station struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// ErrInput reports a forecast or observation series the model cannot use.
var ErrInput = errors.New("invalid roadcast input")

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func inRange(v, lo, hi float64) bool { return finite(v) && v >= lo && v <= hi }

// validate checks one forecast hour and fills the optional quantities' NaN
// defaults it can (pressure).
func (h *Hour) validate() error {
	var errs []error
	if !inRange(h.AirTemperature, -60, 60) {
		errs = append(errs, fmt.Errorf("air_temperature %v", h.AirTemperature))
	}
	if !inRange(h.DewPoint, -80, 60) || h.DewPoint > h.AirTemperature+0.5 {
		errs = append(errs, fmt.Errorf("dew_point %v (air %v)", h.DewPoint, h.AirTemperature))
	}
	if !inRange(h.WindSpeed, 0, 75) {
		errs = append(errs, fmt.Errorf("wind_speed %v", h.WindSpeed))
	}
	if !inRange(h.CloudCover, 0, 8) {
		errs = append(errs, fmt.Errorf("cloud_cover %v octas", h.CloudCover))
	}
	if !inRange(h.Precipitation, 0, 200) {
		errs = append(errs, fmt.Errorf("precipitation %v", h.Precipitation))
	}
	if math.IsNaN(h.Pressure) || h.Pressure == 0 {
		h.Pressure = 1013.25
	}
	if !inRange(h.Pressure, 500, 1100) {
		errs = append(errs, fmt.Errorf("pressure %v", h.Pressure))
	}
	if !math.IsNaN(h.SWDown) && !inRange(h.SWDown, 0, 1400) {
		errs = append(errs, fmt.Errorf("sw_down %v", h.SWDown))
	}
	if !math.IsNaN(h.LWDown) && !inRange(h.LWDown, 50, 600) {
		errs = append(errs, fmt.Errorf("lw_down %v", h.LWDown))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("forecast %s: %w: %w", h.Time.Format(time.RFC3339), ErrInput, err)
	}
	return nil
}

func (o Observation) validate() error {
	var errs []error
	if !inRange(o.AirTemperature, -60, 60) {
		errs = append(errs, fmt.Errorf("air_temperature %v", o.AirTemperature))
	}
	if !inRange(o.DewPoint, -80, 60) {
		errs = append(errs, fmt.Errorf("dew_point %v", o.DewPoint))
	}
	if !inRange(o.SurfaceTemperature, -60, 80) {
		errs = append(errs, fmt.Errorf("road_surface_temperature %v", o.SurfaceTemperature))
	}
	if !math.IsNaN(o.SubsurfaceTemperature) && !inRange(o.SubsurfaceTemperature, -60, 80) {
		errs = append(errs, fmt.Errorf("road_subsurface_temperature %v", o.SubsurfaceTemperature))
	}
	if !math.IsNaN(o.WindSpeed) && !inRange(o.WindSpeed, 0, 75) {
		errs = append(errs, fmt.Errorf("wind_speed %v", o.WindSpeed))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("observation %s: %w: %w", o.Time.Format(time.RFC3339), ErrInput, err)
	}
	return nil
}

// LongWaveDown returns the down-welling long-wave radiation in W/m2 for air
// at ta degC with dew point td degC under cloud octas of cloud:
//
//	L = sigma * T^4 * (eps_clear * (1 - c) + c),  eps_clear = 1.24 * (e/T)^(1/7)
//
// with T in K, e the vapour pressure in hPa, c the cloud fraction: Brutsaert's
// (1975) clear-sky emissivity and Crawford and Duchon's (1999) cloud
// weighting, which treats an overcast sky as a black body at air temperature.
func LongWaveDown(ta, td, octas float64) float64 {
	tk := ta + kelvin
	e := saturationWater(td)
	epsClear := 1.24 * math.Pow(e/tk, 1.0/7.0)
	c := math.Min(math.Max(octas/8, 0), 1)
	return stefanBoltzmann * tk * tk * tk * tk * (epsClear*(1-c) + c)
}

// ShortWaveDown returns global radiation in W/m2 at t for the station under
// octas of cloud: a clear-sky value from the sun's elevation (1000 W/m2
// scaled by the sine of the elevation and a 0.7^(airmass^0.678)
// transmission) reduced by Kasten and Czeplak's (1980) cloud factor
// 1 - 0.75 * (N/8)^3.4.
func ShortWaveDown(st Station, t time.Time, octas float64) float64 {
	sinH := sunSine(st, t)
	if sinH <= 0.01 {
		return 0
	}
	airmass := 1 / sinH
	clear := 1361 * sinH * math.Pow(0.7, math.Pow(airmass, 0.678))
	c := math.Min(math.Max(octas/8, 0), 1)
	return clear * (1 - 0.75*math.Pow(c, 3.4))
}

// sunSine returns the sine of the sun's elevation (Spencer's declination,
// no equation of time: minutes do not matter for a road's heat balance).
func sunSine(st Station, t time.Time) float64 {
	t = t.UTC()
	day := float64(t.YearDay() - 1)
	g := 2 * math.Pi * day / 365
	decl := 0.006918 - 0.399912*math.Cos(g) + 0.070257*math.Sin(g) - 0.006758*math.Cos(2*g) + 0.000907*math.Sin(2*g)
	hours := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
	hourAngle := (hours + st.Lon/15 - 12) * math.Pi / 12
	lat := st.Lat * math.Pi / 180
	return math.Sin(lat)*math.Sin(decl) + math.Cos(lat)*math.Cos(decl)*math.Cos(hourAngle)
}

// forcing is the atmosphere over the road at one model step.
type forcing struct {
	ta, td, wind, precip, pressure, sw, lw float64
}

// driver interpolates an hourly forecast to model steps.
type driver struct {
	station Station
	hours   []Hour
}

func newDriver(st Station, hours []Hour) (*driver, error) {
	if len(hours) < 2 {
		return nil, fmt.Errorf("%d forecast hours, need at least 2: %w", len(hours), ErrInput)
	}
	hs := make([]Hour, len(hours))
	copy(hs, hours)
	sort.Slice(hs, func(i, j int) bool { return hs[i].Time.Before(hs[j].Time) })
	var errs []error
	for i := range hs {
		if err := hs[i].validate(); err != nil {
			errs = append(errs, err)
		}
		if i > 0 && !hs[i].Time.After(hs[i-1].Time) {
			errs = append(errs, fmt.Errorf("forecast time %s twice: %w", hs[i].Time.Format(time.RFC3339), ErrInput))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &driver{station: st, hours: hs}, nil
}

func (d *driver) start() time.Time { return d.hours[0].Time }
func (d *driver) end() time.Time   { return d.hours[len(d.hours)-1].Time }

// at returns the forcing at t, linear between hours and held beyond the
// ends. Precipitation is the rate of the hour t falls in.
func (d *driver) at(t time.Time) forcing {
	i := sort.Search(len(d.hours), func(i int) bool { return !d.hours[i].Time.Before(t) })
	var a, b Hour
	w := 0.0
	switch {
	case i == 0:
		a, b = d.hours[0], d.hours[0]
	case i == len(d.hours):
		a, b = d.hours[i-1], d.hours[i-1]
	default:
		a, b = d.hours[i-1], d.hours[i]
		w = float64(t.Sub(a.Time)) / float64(b.Time.Sub(a.Time))
	}
	lerp := func(x, y float64) float64 { return x + w*(y-x) }
	f := forcing{
		ta:       lerp(a.AirTemperature, b.AirTemperature),
		td:       lerp(a.DewPoint, b.DewPoint),
		wind:     lerp(a.WindSpeed, b.WindSpeed),
		precip:   b.Precipitation,
		pressure: lerp(a.Pressure, b.Pressure),
	}
	cloud := lerp(a.CloudCover, b.CloudCover)
	if math.IsNaN(a.SWDown) || math.IsNaN(b.SWDown) {
		f.sw = ShortWaveDown(d.station, t, cloud)
	} else {
		f.sw = lerp(a.SWDown, b.SWDown)
	}
	if math.IsNaN(a.LWDown) || math.IsNaN(b.LWDown) {
		f.lw = LongWaveDown(f.ta, f.td, cloud)
	} else {
		f.lw = lerp(a.LWDown, b.LWDown)
	}
	return f
}
