package roadcast

import (
	"math"
	"time"
)

// coupling fits the model to the station before the forecast starts.
type coupling struct {
	col         *column
	drv         *driver
	obs         []Observation
	sensorDepth float64
	step        time.Duration
}

// offsets are the differences between the station's last air temperature
// and dew point and the forecast's at the start; the forecast is forced to
// the observation there and relaxes to its own values (METRo does this over
// 4 h).
type offsets struct{ ta, td float64 }

func (cp *coupling) offsets(start time.Time) offsets {
	if len(cp.obs) == 0 {
		return offsets{}
	}
	last := cp.obs[len(cp.obs)-1]
	if start.Sub(last.Time) > time.Hour {
		return offsets{}
	}
	f := cp.drv.at(start)
	return offsets{ta: last.AirTemperature - f.ta, td: last.DewPoint - f.td}
}

// run initialises the profile and, when the observations span at least
// 30 min, drives the model over them with the surface held at the measured
// FBT. What the ground and the surface volume took in beyond the modelled
// energy balance is the flux the model lacks (shading, traffic heat, a
// biased cloud forecast); its mean over the last 2 h is the correction.
func (cp *coupling) run(start time.Time) (corr float64, coupled bool) {
	col := cp.col
	if len(cp.obs) == 0 {
		f := cp.drv.at(start)
		cp.initProfile(f.ta, f.ta)
		return 0, false
	}
	first, last := cp.obs[0], cp.obs[len(cp.obs)-1]
	deep := first.SubsurfaceTemperature
	if math.IsNaN(deep) {
		deep = meanSurface(cp.obs)
	}
	cp.initProfile(first.SurfaceTemperature, deep)
	if last.Time.Sub(first.Time) < minCoupling {
		col.t[0] = last.SurfaceTemperature
		cp.wetStart(last)
		return 0, false
	}
	dt := cp.step.Seconds()
	var sum, weight float64
	for t := first.Time; t.Before(last.Time); t = t.Add(cp.step) {
		o := cp.interpolate(t.Add(cp.step))
		f := cp.forcing(t, o)
		old := col.t[0]
		fl := col.surfaceFluxes(f, old)
		// a stiff flux pins the surface to the measurement (Dirichlet)
		const pin = 1e9
		col.conduct(dt, pin*o.SurfaceTemperature-pin*old, -pin)
		col.t[0] = o.SurfaceTemperature
		if last.Time.Sub(t) <= fitWindow {
			sum += col.groundFlux(old, dt) - fl.net
			weight++
		}
	}
	cp.wetStart(last)
	if weight == 0 {
		return 0, false
	}
	return sum / weight, true
}

// wetStart puts a film on a road the station reports wet.
func (cp *coupling) wetStart(last Observation) {
	if last.Wet {
		cp.col.water = wetStartFilm
	}
}

// initProfile sets a linear profile from the surface to the sensor depth,
// constant below it.
func (cp *coupling) initProfile(surface, deep float64) {
	for i, z := range nodeDepths {
		w := 1.0
		if cp.sensorDepth > 0 {
			w = math.Min(z/cp.sensorDepth, 1)
		}
		cp.col.t[i] = surface + w*(deep-surface)
	}
}

func meanSurface(obs []Observation) float64 {
	s := 0.0
	for _, o := range obs {
		s += o.SurfaceTemperature
	}
	return s / float64(len(obs))
}

// interpolate returns the observation at t, linear between readings.
func (cp *coupling) interpolate(t time.Time) Observation {
	obs := cp.obs
	if !t.After(obs[0].Time) {
		return obs[0]
	}
	for i := 1; i < len(obs); i++ {
		if t.After(obs[i].Time) {
			continue
		}
		a, b := obs[i-1], obs[i]
		w := float64(t.Sub(a.Time)) / float64(b.Time.Sub(a.Time))
		lerp := func(x, y float64) float64 { return x + w*(y-x) }
		return Observation{Time: t, AirTemperature: lerp(a.AirTemperature, b.AirTemperature),
			DewPoint: lerp(a.DewPoint, b.DewPoint), SurfaceTemperature: lerp(a.SurfaceTemperature, b.SurfaceTemperature),
			WindSpeed: lerp(a.WindSpeed, b.WindSpeed), Wet: b.Wet}
	}
	return obs[len(obs)-1]
}

// forcing is the atmosphere during the coupling: measured air temperature,
// dew point and wind; radiation from the forecast where it covers t, else
// computed from the sun and the forecast's first cloud cover.
func (cp *coupling) forcing(t time.Time, o Observation) forcing {
	f := cp.drv.at(t)
	f.ta, f.td, f.precip = o.AirTemperature, math.Min(o.DewPoint, o.AirTemperature), 0
	if !math.IsNaN(o.WindSpeed) {
		f.wind = o.WindSpeed
	}
	if t.Before(cp.drv.start()) {
		cloud := cp.drv.hours[0].CloudCover
		f.sw = ShortWaveDown(cp.drv.station, t, cloud)
		f.lw = LongWaveDown(f.ta, f.td, cloud)
	}
	return f
}
