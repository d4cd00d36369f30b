package roadcast

import (
	"math"

	"github.com/loraedge/loraedge/internal/ice"
)

// Physical constants (SI).
const (
	kelvin          = 273.15
	stefanBoltzmann = 5.670374e-8
	latentVapour    = 2.501e6 // J/kg, evaporation and condensation
	latentSublime   = 2.834e6 // J/kg, deposition and sublimation
	latentFusion    = 3.34e5  // J/kg
	specificHeatAir = 1005.0  // J/(kg K)
	gasConstantAir  = 287.05  // J/(kg K)
)

// Params describe the road and the surface exchange. Zero fields take the
// defaults named in their comments (DefaultParams).
type Params struct {
	// Albedo of the dry surface (default 0.10, aged asphalt).
	Albedo float64
	// Emissivity of the surface (default 0.95).
	Emissivity float64
	// TransferCoefficient is the bulk coefficient for sensible and latent
	// heat with the 10 m wind (default 0.0025; Lewis number 1).
	TransferCoefficient float64
	// MinExchange is the least sensible-heat exchange in W/(m2 K), so a calm
	// clear night keeps free convection (default 2.0).
	MinExchange float64
	// AsphaltDepth is the wearing course's thickness in m (default 0.10).
	AsphaltDepth float64
	// FreezingTemperature of water on the road in degC (default 0; a salted
	// road's measured freezing point lowers it).
	FreezingTemperature float64
	// WaterCapacity is the water in mm the surface holds before run-off
	// (default 0.5; METRo and RoadSurf let the excess run off).
	WaterCapacity float64
	// CorrectionDecay is the e-folding time of the coupling flux over the
	// forecast (default 4 h, the span over which METRo relaxes its forcing).
	CorrectionDecay float64
}

// DefaultParams are the parameters of a typical German Landstraße.
func DefaultParams() Params {
	return Params{
		Albedo:              0.10,
		Emissivity:          0.95,
		TransferCoefficient: 0.0025,
		MinExchange:         2.0,
		AsphaltDepth:        0.10,
		WaterCapacity:       0.5,
		CorrectionDecay:     4 * 3600,
	}
}

func (p Params) withDefaults() Params {
	d := DefaultParams()
	set := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	set(&p.Albedo, d.Albedo)
	set(&p.Emissivity, d.Emissivity)
	set(&p.TransferCoefficient, d.TransferCoefficient)
	set(&p.MinExchange, d.MinExchange)
	set(&p.AsphaltDepth, d.AsphaltDepth)
	set(&p.WaterCapacity, d.WaterCapacity)
	set(&p.CorrectionDecay, d.CorrectionDecay)
	return p
}

// nodeDepths are the depths in m of the column's nodes: fine near the
// surface, where the diurnal wave lives, coarse to 1.4 m, where 12 h of
// forcing no longer reaches (damping depth of asphalt ~0.15 m per day).
var nodeDepths = []float64{0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.10, 0.14, 0.20, 0.30, 0.45, 0.60, 0.80, 1.05, 1.40}

// Material thermal properties: conductivity W/(m K), volumetric heat
// capacity J/(m3 K); asphalt over an unbound crushed-rock base.
const (
	asphaltConductivity = 1.2
	asphaltCapacity     = 1.9e6
	baseConductivity    = 1.5
	baseCapacity        = 1.8e6
)

// column is the road's temperature profile and its surface stores.
type column struct {
	p     Params
	t     []float64 // degC at nodeDepths
	cap   []float64 // heat capacity per area of each node's control volume, J/(m2 K)
	cond  []float64 // conductance between node i and i+1, W/(m2 K)
	water float64   // liquid water, mm (= kg/m2)
	ice   float64   // ice from freezing water, mm water equivalent
	frost float64   // hoar frost from deposition, mm w.e.
	snow  float64   // snow, mm w.e.
	// scratch for the tridiagonal solve
	a, b, c, d, cp []float64
}

func newColumn(p Params) *column {
	n := len(nodeDepths)
	col := &column{p: p, t: make([]float64, n), cap: make([]float64, n), cond: make([]float64, n-1),
		a: make([]float64, n), b: make([]float64, n), c: make([]float64, n), d: make([]float64, n), cp: make([]float64, n)}
	for i := range n {
		top := nodeDepths[i]
		bot := nodeDepths[i]
		if i > 0 {
			top = (nodeDepths[i-1] + nodeDepths[i]) / 2
		}
		if i < n-1 {
			bot = (nodeDepths[i] + nodeDepths[i+1]) / 2
		}
		col.cap[i] = layerIntegral(top, bot, p.AsphaltDepth, asphaltCapacity, baseCapacity)
		if i < n-1 {
			// series resistance of the two materials between the nodes
			r := layerIntegral(nodeDepths[i], nodeDepths[i+1], p.AsphaltDepth, 1/asphaltConductivity, 1/baseConductivity)
			col.cond[i] = 1 / r
		}
	}
	return col
}

// layerIntegral integrates a property that is above over [0, split) and
// below from split on, from depth z0 to z1.
func layerIntegral(z0, z1, split, above, below float64) float64 {
	upper := math.Max(0, math.Min(z1, split)-z0)
	lower := math.Max(0, z1-math.Max(z0, split))
	return upper*above + lower*below
}

// fluxes are the surface energy terms of one step, W/m2 (positive into the
// road), and the vapour flux in kg/(m2 s) (positive onto the road).
type fluxes struct {
	net, sw, lwIn, lwOut, sensible, latent, vapour float64
}

// surfaceFluxes evaluates the energy balance at surface temperature ts.
func (col *column) surfaceFluxes(f forcing, ts float64) fluxes {
	p := col.p
	tk := ts + kelvin
	albedo := p.Albedo
	if col.snow > 0.5 {
		albedo = 0.6 // fresh snow on a road, soiled quickly by traffic
	}
	var fl fluxes
	fl.sw = (1 - albedo) * f.sw
	fl.lwIn = p.Emissivity * f.lw
	fl.lwOut = -p.Emissivity * stefanBoltzmann * tk * tk * tk * tk
	rho := f.pressure * 100 / (gasConstantAir * (f.ta + kelvin))
	exchange := math.Max(rho*specificHeatAir*p.TransferCoefficient*f.wind, p.MinExchange)
	fl.sensible = exchange * (f.ta - ts)
	// vapour: same conductance as heat (Lewis number 1), specific humidity difference
	qa := specificHumidity(saturationWater(f.td), f.pressure)
	frozen := ts < p.FreezingTemperature
	es := saturationWater(ts)
	latent := latentVapour
	if frozen {
		es, latent = ice.SaturationVapourPressureIce(ts), latentSublime
	}
	qs := specificHumidity(es, f.pressure)
	fl.vapour = exchange / specificHeatAir * (qa - qs)
	if fl.vapour < 0 && col.water+col.ice+col.frost+col.snow <= 0 {
		fl.vapour = 0 // nothing to evaporate from a dry road
	}
	fl.latent = latent * fl.vapour
	fl.net = fl.sw + fl.lwIn + fl.lwOut + fl.sensible + fl.latent
	return fl
}

func saturationWater(t float64) float64 { return ice.SaturationVapourPressureWater(t) }

// specificHumidity converts vapour pressure e and pressure p (hPa) to kg/kg.
func specificHumidity(e, p float64) float64 { return 0.622 * e / (p - 0.378*e) }

// conduct advances the profile by dt seconds with the implicit (backward
// Euler) scheme: flux into the top node, zero flux at the bottom (1.4 m is
// beyond what 12 h reach). The surface flux is linearised around the
// current surface temperature so the radiative cooling of a clear night
// cannot overshoot.
func (col *column) conduct(dt, flux, dFlux float64) {
	n := len(col.t)
	for i := range n {
		col.a[i], col.c[i] = 0, 0
		col.b[i] = col.cap[i] / dt
		col.d[i] = col.cap[i] / dt * col.t[i]
		if i > 0 {
			col.a[i] = -col.cond[i-1]
			col.b[i] += col.cond[i-1]
		}
		if i < n-1 {
			col.c[i] = -col.cond[i]
			col.b[i] += col.cond[i]
		}
	}
	// flux(T) ~ flux + dFlux*(T - T0): dFlux < 0 stabilises
	col.b[0] -= dFlux
	col.d[0] += flux - dFlux*col.t[0]
	// Thomas algorithm
	col.cp[0] = col.c[0] / col.b[0]
	col.d[0] /= col.b[0]
	for i := 1; i < n; i++ {
		m := col.b[i] - col.a[i]*col.cp[i-1]
		col.cp[i] = col.c[i] / m
		col.d[i] = (col.d[i] - col.a[i]*col.d[i-1]) / m
	}
	col.t[n-1] = col.d[n-1]
	for i := n - 2; i >= 0; i-- {
		col.t[i] = col.d[i] - col.cp[i]*col.t[i+1]
	}
}

// groundFlux is the heat in W/m2 the surface hands to the ground and to its
// own control volume when the surface moves from old to t[0] in dt.
func (col *column) groundFlux(old, dt float64) float64 {
	return col.cond[0]*(col.t[0]-col.t[1]) + col.cap[0]*(col.t[0]-old)/dt
}
