package roadcast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/loraedge/loraedge/internal/ice"
)

// Input is everything one station's forecast needs. Zero durations take
// their defaults.
type Input struct {
	Station Station
	// Start is when the forecast begins, normally now; observations after it
	// are ignored.
	Start time.Time
	// Weather is the hourly point forecast; it must reach Start+Horizon or
	// its last hour is held.
	Weather []Hour
	// Observations are the station's recent readings (up to the last 12 h
	// are used). Without them the model starts from air temperature and
	// runs uncoupled, which Result.Coupled reports.
	Observations []Observation
	Params       Params
	// SensorDepth is the depth in m of the subsurface sensor (default 0.30).
	SensorDepth float64
	// Horizon is the forecast span (default 12 h), Step the model step
	// (default 60 s), Interval the output spacing (default 10 min).
	Horizon, Step, Interval time.Duration
}

// Point is the forecast at one output time.
type Point struct {
	Time time.Time `json:"time"`
	// SurfaceTemperature is the forecast FBT in degC.
	SurfaceTemperature float64          `json:"road_surface_temperature"`
	State              ice.SurfaceState `json:"road_surface_state"`
	// Water, Ice, Frost and Snow on the surface in mm water equivalent.
	Water float64 `json:"water_mm"`
	Ice   float64 `json:"ice_mm"`
	Frost float64 `json:"frost_mm"`
	Snow  float64 `json:"snow_mm"`
	// AirTemperature and DewPoint are the forcing the model used.
	AirTemperature float64 `json:"air_temperature"`
	DewPoint       float64 `json:"dew_point"`
}

// Result is one station's forecast.
type Result struct {
	Start  time.Time `json:"start"`
	Points []Point   `json:"points"`
	// Coupled says the model was fitted to the station's measurements;
	// Correction is the coupling flux at Start in W/m2.
	Coupled    bool    `json:"coupled"`
	Correction float64 `json:"correction_w_m2"`
	// Risk is the first output time with ice, snow, hoar frost or freezing
	// water, or FBT at or below the freezing temperature with water; zero
	// when none comes within the horizon.
	Risk time.Time `json:"ice_risk,omitzero"`
}

// HasRisk reports whether ice risk is forecast within the horizon.
func (r Result) HasRisk() bool { return !r.Risk.IsZero() }

// Lead returns how long after now the ice risk begins (0 if it already
// has); ok is false when no risk is forecast.
func (r Result) Lead(now time.Time) (time.Duration, bool) {
	if !r.HasRisk() {
		return 0, false
	}
	return max(r.Risk.Sub(now), 0), true
}

// FirstBelow returns the first output time with FBT below t degC.
func (r Result) FirstBelow(t float64) (time.Time, bool) {
	for _, p := range r.Points {
		if p.SurfaceTemperature < t {
			return p.Time, true
		}
	}
	return time.Time{}, false
}

const (
	maxCoupling  = 12 * time.Hour
	minCoupling  = 30 * time.Minute
	fitWindow    = 2 * time.Hour
	relaxation   = 4 * time.Hour // forecast air temperature and dew point relax to the forecast's own over 4 h
	wetStartFilm = 0.2           // mm of water on a road the station reports wet
)

// Forecast runs the road model for one station.
func Forecast(in Input) (Result, error) {
	in.Params = in.Params.withDefaults()
	in.Horizon = cmpDuration(in.Horizon, 12*time.Hour)
	in.Step = cmpDuration(in.Step, time.Minute)
	in.Interval = cmpDuration(in.Interval, 10*time.Minute)
	if in.SensorDepth == 0 {
		in.SensorDepth = 0.30
	}
	if in.Step < 0 || in.Interval < in.Step || in.Horizon < in.Interval || in.Horizon > 48*time.Hour || in.SensorDepth < 0 {
		return Result{}, fmt.Errorf("step %v, interval %v, horizon %v, sensor depth %v: %w", in.Step, in.Interval, in.Horizon, in.SensorDepth, ErrInput)
	}
	if in.Start.IsZero() {
		return Result{}, fmt.Errorf("no start time: %w", ErrInput)
	}
	drv, err := newDriver(in.Station, in.Weather)
	if err != nil {
		return Result{}, err
	}
	if drv.end().Before(in.Start) || drv.start().After(in.Start.Add(time.Hour)) {
		return Result{}, fmt.Errorf("forecast %s..%s does not cover start %s: %w",
			drv.start().Format(time.RFC3339), drv.end().Format(time.RFC3339), in.Start.Format(time.RFC3339), ErrInput)
	}
	obs, err := usableObservations(in.Observations, in.Start)
	if err != nil {
		return Result{}, err
	}
	col := newColumn(in.Params)
	res := Result{Start: in.Start}
	cp := coupling{col: col, drv: drv, obs: obs, sensorDepth: in.SensorDepth, step: in.Step}
	res.Correction, res.Coupled = cp.run(in.Start)
	runForecast(col, drv, cp.offsets(in.Start), in, &res)
	return res, nil
}

func cmpDuration(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// usableObservations validates and sorts the readings of the last 12 h
// before start; one bad reading rejects the series, since a coupling to a
// broken sensor is worse than none.
func usableObservations(in []Observation, start time.Time) ([]Observation, error) {
	var out []Observation
	var errs []error
	for _, o := range in {
		if o.Time.After(start) || o.Time.Before(start.Add(-maxCoupling)) {
			continue
		}
		if err := o.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, o)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	// one reading per time: two at the same instant would make the
	// interpolation between them divide by zero
	dedup := out[:0]
	for i, o := range out {
		if i+1 < len(out) && out[i+1].Time.Equal(o.Time) {
			continue
		}
		dedup = append(dedup, o)
	}
	return dedup, nil
}

// runForecast integrates from in.Start to the horizon and fills res.
func runForecast(col *column, drv *driver, off offsets, in Input, res *Result) {
	dt := in.Step.Seconds()
	tau := in.Params.CorrectionDecay
	end := in.Start.Add(in.Horizon)
	next := in.Start
	for t := in.Start; !t.After(end); t = t.Add(in.Step) {
		f := drv.at(t)
		lead := t.Sub(in.Start)
		relax := math.Exp(-lead.Seconds() / relaxation.Seconds())
		f.ta += off.ta * relax
		f.td = math.Min(f.td+off.td*relax, f.ta)
		if !t.Before(next) {
			res.Points = append(res.Points, col.point(t, f))
			next = next.Add(in.Interval)
			p := res.Points[len(res.Points)-1]
			if res.Risk.IsZero() && risky(p, in.Params.FreezingTemperature) {
				res.Risk = t
			}
		}
		if t.Equal(end) {
			break
		}
		col.step(dt, f, res.Correction*math.Exp(-lead.Seconds()/tau))
	}
}

func (col *column) point(t time.Time, f forcing) Point {
	return Point{Time: t, SurfaceTemperature: col.t[0], State: col.state(),
		Water: col.water, Ice: col.ice, Frost: col.frost, Snow: col.snow,
		AirTemperature: f.ta, DewPoint: f.td}
}

// risky is the definition of ice risk: a frozen surface state, or
// FBT at or below the freezing temperature with water on the road.
func risky(p Point, freezing float64) bool {
	if p.State.Frozen() {
		return true
	}
	return p.SurfaceTemperature <= freezing && p.Water >= moistState
}
