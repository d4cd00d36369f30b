package roadcast

import (
	"math"

	"github.com/loraedge/loraedge/internal/ice"
)

// Surface store limits and state thresholds, mm water equivalent.
const (
	snowCapacity  = 20.0 // traffic and ploughs keep more off the road
	iceCapacity   = 3.0
	rainAbove     = 1.0 // degC air temperature above which precipitation falls as rain
	snowState     = 0.2
	iceState      = 0.02
	frostState    = 0.005
	wetState      = 0.05
	moistState    = 0.005
	exchangeFloor = 1e-9
)

// step advances the column by dt seconds under forcing f with the coupling
// flux corr (W/m2), and returns the fluxes at the start of the step.
func (col *column) step(dt float64, f forcing, corr float64) fluxes {
	p := col.p
	col.precipitate(dt, f)
	fl := col.surfaceFluxes(f, col.t[0])
	fl = col.exchangeVapour(dt, fl)
	tk := col.t[0] + kelvin
	rho := f.pressure * 100 / (gasConstantAir * (f.ta + kelvin))
	exchange := math.Max(rho*specificHeatAir*p.TransferCoefficient*f.wind, p.MinExchange)
	dFlux := -4*p.Emissivity*stefanBoltzmann*tk*tk*tk - exchange
	col.conduct(dt, fl.net+corr, dFlux)
	col.changePhase()
	return fl
}

// precipitate adds the step's precipitation: rain to the water, snow to the
// snow store (melting at once on a road above freezing is left to
// changePhase, which pays for it with the surface's heat).
func (col *column) precipitate(dt float64, f forcing) {
	mm := f.precip * dt / 3600
	if mm <= 0 {
		return
	}
	if f.ta > rainAbove {
		col.water += mm
	} else {
		col.snow = math.Min(col.snow+mm, snowCapacity)
	}
	col.water = math.Min(col.water, col.p.WaterCapacity)
}

// exchangeVapour moves the step's vapour between air and surface: dew onto
// water above freezing, hoar frost below; evaporation takes water first,
// then frost, ice and snow. Evaporation is limited to what lies on the road,
// and its latent heat with it.
func (col *column) exchangeVapour(dt float64, fl fluxes) fluxes {
	m := fl.vapour * dt
	switch {
	case m > 0 && col.t[0] < col.p.FreezingTemperature:
		col.frost += m
	case m > 0:
		col.water += m
	case m < 0:
		want := -m
		got := 0.0
		for _, s := range []*float64{&col.water, &col.frost, &col.ice, &col.snow} {
			take := math.Min(*s, want-got)
			*s -= take
			got += take
		}
		if want > exchangeFloor && got < want {
			scale := got / want
			fl.net -= fl.latent * (1 - scale)
			fl.latent *= scale
			fl.vapour *= scale
		}
	}
	return fl
}

// changePhase freezes water while the surface is below the freezing
// temperature and melts frost, ice and snow while it is above, each with
// the latent heat taken from or given to the top control volume; the
// surface therefore rests at the freezing temperature while a film freezes
// or melts, as a real road does.
func (col *column) changePhase() {
	tf := col.p.FreezingTemperature
	c0 := col.cap[0]
	switch {
	case col.t[0] < tf && col.water > 0:
		m := math.Min(col.water, c0*(tf-col.t[0])/latentFusion)
		col.water -= m
		col.ice = math.Min(col.ice+m, iceCapacity)
		col.t[0] += m * latentFusion / c0
	case col.t[0] > tf && col.frost+col.ice+col.snow > 0:
		avail := c0 * (col.t[0] - tf) / latentFusion
		for _, s := range []*float64{&col.frost, &col.ice, &col.snow} {
			m := math.Min(*s, avail)
			*s -= m
			avail -= m
			col.water += m
			col.t[0] -= m * latentFusion / c0
		}
	}
	col.water = math.Min(col.water, col.p.WaterCapacity)
}

// state classifies the surface stores as a TLS surface state.
func (col *column) state() ice.SurfaceState {
	switch {
	case col.snow >= snowState:
		return ice.Snow
	case col.ice >= iceState && col.water >= wetState:
		return ice.FreezingWater
	case col.ice >= iceState:
		return ice.IceSurface
	case col.frost >= frostState:
		return ice.HoarFrost
	case col.water >= wetState:
		return ice.Wet
	case col.water >= moistState:
		return ice.Moist
	}
	return ice.Dry
}
