package ice

import (
	"time"
)

// Sample is one station reading as measured. Every value is optional (nil =
// not measured); invalid values (NaN, Inf, out of MinTemperature..
// MaxTemperature, RH outside (0,100], unknown TLS code) count as missing.
type Sample struct {
	Time time.Time `json:"time"`
	// FBT is the road surface temperature (Fahrbahnoberflächentemperatur), degC.
	FBT *float64 `json:"fbt,omitempty"`
	// LT is the air temperature (Lufttemperatur), degC.
	LT *float64 `json:"lt,omitempty"`
	// TPT is the dew point (Taupunkttemperatur), degC. When nil it is
	// computed from LT and RH.
	TPT *float64 `json:"tpt,omitempty"`
	// RH is the relative humidity in percent, used only when TPT is nil.
	RH *float64 `json:"rh,omitempty"`
	// State is the surface state the device reports (FBZ). When nil it is
	// derived from WaterFilm (see DeriveSurfaceState).
	State *SurfaceState `json:"state,omitempty"`
	// FreezingTemp is the measured freezing temperature of the film
	// (Gefriertemperatur), degC; 0 degC is assumed where it is needed and nil.
	FreezingTemp *float64 `json:"freezing_temp,omitempty"`
	// WaterFilm is the water film height in mm.
	WaterFilm *float64 `json:"water_film,omitempty"`
}

// Reading is a Sample plus the predicted values the decision tree compares
// against (from Forecast, see WithForecast).
type Reading struct {
	Sample
	// PredictedFBT and PredictedTPT are the trend values the tree asks
	// "will it get colder than ..." about; nil when no trend is available.
	PredictedFBT *float64 `json:"predicted_fbt,omitempty"`
	PredictedTPT *float64 `json:"predicted_tpt,omitempty"`
}

// Assessment is the outcome of the decision tree together with the values
// it used, so an operator can see why.
type Assessment struct {
	Condition Condition `json:"condition"`
	// FBT, DewPoint, FrostPoint and FreezingTemp are the values the tree and
	// the Tracker worked with (measured or computed); nil when unknown.
	FBT          *float64 `json:"fbt,omitempty"`
	DewPoint     *float64 `json:"dew_point,omitempty"`
	FrostPoint   *float64 `json:"frost_point,omitempty"`
	FreezingTemp *float64 `json:"freezing_temp,omitempty"`
	// Surface is the surface state used; SurfaceDerived tells that it came
	// from the water film rather than from the device.
	Surface        *SurfaceState `json:"surface,omitempty"`
	SurfaceDerived bool          `json:"surface_derived,omitempty"`
	// Missing names inputs the tree needed but did not have: "fbt", "lt",
	// "fbz", "tpt", "predicted_fbt", "predicted_tpt".
	Missing []string `json:"missing,omitempty"`
	// Conservative is set when a missing dew point or prediction was
	// resolved to the more severe branch instead of "not determinable".
	Conservative bool `json:"conservative,omitempty"`
}

// resolved holds the validated plain values of a Sample.
type resolved struct {
	fbt, lt, td, tf, tg  float64
	hasFBT, hasLT, hasTd bool
	hasTf, hasTg         bool
	state                SurfaceState
	hasState, derived    bool
}

func optTemp(p *float64) (float64, bool) {
	if p == nil || !validTemp(*p) {
		return 0, false
	}
	return *p, true
}

func resolve(s Sample) resolved {
	var r resolved
	r.fbt, r.hasFBT = optTemp(s.FBT)
	r.lt, r.hasLT = optTemp(s.LT)
	r.tg, r.hasTg = optTemp(s.FreezingTemp)
	r.td, r.hasTd = optTemp(s.TPT)
	if !r.hasTd && r.hasLT && s.RH != nil {
		if td, err := DewPoint(r.lt, *s.RH); err == nil {
			r.td, r.hasTd = td, true
		}
	}
	if r.hasTd {
		if tf, err := FrostPointFromDewPoint(r.td); err == nil {
			r.tf, r.hasTf = tf, true
		}
	}
	if s.State != nil && s.State.Valid() {
		r.state, r.hasState = *s.State, true
	} else {
		var fbt, tg *float64
		if r.hasFBT {
			fbt = &r.fbt
		}
		if r.hasTg {
			tg = &r.tg
		}
		r.state, r.hasState = DeriveSurfaceState(s.WaterFilm, fbt, tg)
		r.derived = r.hasState
	}
	return r
}

// freezing returns the freezing temperature, 0 degC (pure water) if unknown.
func (r resolved) freezing() float64 {
	if r.hasTg {
		return r.tg
	}
	return 0
}

func (r resolved) assessment() Assessment {
	a := Assessment{SurfaceDerived: r.derived}
	if r.hasFBT {
		a.FBT = new(r.fbt)
	}
	if r.hasTd {
		a.DewPoint = new(r.td)
	}
	if r.hasTf {
		a.FrostPoint = new(r.tf)
	}
	if r.hasTg {
		a.FreezingTemp = new(r.tg)
	}
	if r.hasState {
		a.Surface = new(r.state)
	}
	return a
}

// Thresholds of the decision tree (degC, K), from our reading of SWE 4.14.
const (
	treeWarm       = 5.0 // above: only the air temperature matters
	treeCold       = 2.0 // at or below: "sofort" branch; also the predicted-FBT limit
	treeWetCheck   = 3.0 // 2 < FBT <= 3 with water: black ice possible without a trend
	treeAirCold    = 2.0 // LT at or below: snow/glaze possible with precipitation
	treeDewSpread  = 2.0 // FBT - TPT above: no hoar frost now
	treePredSpread = 0.0 // predicted FBT - TPT above: no hoar frost later
)

// Assess runs the decision tree on one reading. It never fails: missing
// inputs give NotDeterminable or TrendNotPossible and are listed in
// Assessment.Missing.
//
// The tree (FBT road surface temp, LT air temp, TPT dew point, FBZ state,
// "pred" = Reading.PredictedFBT/PredictedTPT):
//
//	FBT > 5:       LT <= 2 -> OnPrecipitation, else NoDanger (LT missing: NotDeterminable)
//	FBZ unknown:   NotDeterminable (no state and no water film)
//	2 < FBT <= 5:  frozen FBZ (64..67) -> as for FBT <= 2 (our addition: the sensor sees ice)
//	               predFBT missing -> TrendNotPossible
//	               predFBT <= 2: dry -> OnPrecipitation if predFBT-predTPT > 0, else OnPrecipitationOrFrost
//	                             moist/wet -> BlackIcePossible
//	               else: FBT <= 3 and moist/wet -> BlackIcePossible, else DangerOnWeatherChange
//	FBT <= 2:      dry -> OnPrecipitationImmediate if FBT-TPT > 2 and predFBT-predTPT > 0,
//	                      else OnPrecipitationOrFrostImmediate
//	               moist/wet -> BlackIceImmediate
//	               freezing water, hoar frost -> SlipperyPresent
//	               snow, ice -> IceSnowOnRoad
//
// Where a dry branch lacks TPT or the prediction it compares, the more
// severe outcome is chosen and Conservative is set: a missing hygrometer must
// not hide hoar frost.
func Assess(r Reading) Assessment {
	rs := resolve(r.Sample)
	a := rs.assessment()
	predFBT, hasPredFBT := optTemp(r.PredictedFBT)
	predTd, hasPredTd := optTemp(r.PredictedTPT)
	a.Condition = rs.tree(predFBT, hasPredFBT, predTd, hasPredTd, &a)
	return a
}

func (rs resolved) tree(predFBT float64, hasPredFBT bool, predTd float64, hasPredTd bool, a *Assessment) Condition {
	missing := func(names ...string) { a.Missing = append(a.Missing, names...) }
	if !rs.hasFBT {
		missing("fbt")
		return NotDeterminable
	}
	fbt := rs.fbt
	if fbt > treeWarm {
		if !rs.hasLT {
			missing("lt")
			return NotDeterminable
		}
		if rs.lt <= treeAirCold {
			return OnPrecipitation
		}
		return NoDanger
	}
	if !rs.hasState {
		missing("fbz")
		return NotDeterminable
	}
	if rs.state.Frozen() {
		if rs.state == FreezingWater || rs.state == HoarFrost {
			return SlipperyPresent
		}
		return IceSnowOnRoad
	}
	// predSpreadOK reports whether the predicted FBT stays above the predicted
	// dew point; ok is false when that cannot be told.
	predSpreadOK := func() (above, ok bool) {
		if !hasPredFBT {
			missing("predicted_fbt")
		}
		if !hasPredTd {
			missing("predicted_tpt")
		}
		if !hasPredFBT || !hasPredTd {
			return false, false
		}
		return predFBT-predTd > treePredSpread, true
	}
	if fbt > treeCold {
		if !hasPredFBT {
			missing("predicted_fbt")
			return TrendNotPossible
		}
		if predFBT <= treeCold {
			if rs.state.HasWater() {
				return BlackIcePossible
			}
			above, ok := predSpreadOK()
			if !ok {
				a.Conservative = true
				return OnPrecipitationOrFrost
			}
			if above {
				return OnPrecipitation
			}
			return OnPrecipitationOrFrost
		}
		if fbt <= treeWetCheck && rs.state.HasWater() {
			return BlackIcePossible
		}
		return DangerOnWeatherChange
	}
	if rs.state.HasWater() {
		return BlackIceImmediate
	}
	// Dry and FBT <= 2.
	if !rs.hasTd {
		missing("tpt")
		a.Conservative = true
		return OnPrecipitationOrFrostImmediate
	}
	if fbt-rs.td <= treeDewSpread {
		return OnPrecipitationOrFrostImmediate
	}
	above, ok := predSpreadOK()
	if !ok {
		a.Conservative = true
		return OnPrecipitationOrFrostImmediate
	}
	if above {
		return OnPrecipitationImmediate
	}
	return OnPrecipitationOrFrostImmediate
}
