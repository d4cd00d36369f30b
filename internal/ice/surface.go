package ice

import (
	"fmt"
	"math"
)

// SurfaceState is a road surface state (Fahrbahnoberflächenzustand, FBZ) as a
// TLS code. Its JSON form is the numeric code, as in measurement values.
type SurfaceState uint8

// TLS surface-state codes (TLS 2012 FG3, as used by German road weather
// stations and internal/measurement's road_surface_state).
const (
	Dry           SurfaceState = 0  // trocken
	Moist         SurfaceState = 1  // feucht
	Wet           SurfaceState = 32 // nass
	FreezingWater SurfaceState = 64 // gefrierendes Wasser
	Snow          SurfaceState = 65 // Schnee
	IceSurface    SurfaceState = 66 // Eis
	HoarFrost     SurfaceState = 67 // Raureif
)

var surfaceNames = map[SurfaceState][2]string{
	Dry:           {"trocken", "dry"},
	Moist:         {"feucht", "moist"},
	Wet:           {"nass", "wet"},
	FreezingWater: {"gefrierendes Wasser", "freezing water"},
	Snow:          {"Schnee", "snow"},
	IceSurface:    {"Eis", "ice"},
	HoarFrost:     {"Raureif", "hoar frost"},
}

// Valid reports whether s is one of the TLS codes above.
func (s SurfaceState) Valid() bool { _, ok := surfaceNames[s]; return ok }

// German returns the German name used in the TLS and on operator screens.
func (s SurfaceState) German() string {
	if n, ok := surfaceNames[s]; ok {
		return n[0]
	}
	return fmt.Sprintf("unbekannt (%d)", uint8(s))
}

// English returns the English name.
func (s SurfaceState) English() string {
	if n, ok := surfaceNames[s]; ok {
		return n[1]
	}
	return fmt.Sprintf("unknown (%d)", uint8(s))
}

// String returns the English name.
func (s SurfaceState) String() string { return s.English() }

// HasWater reports whether the surface carries liquid water (moist or wet),
// the case in which a falling FBT leads to black ice.
func (s SurfaceState) HasWater() bool { return s == Moist || s == Wet }

// Frozen reports whether the sensor sees frozen or freezing water.
func (s SurfaceState) Frozen() bool {
	return s == FreezingWater || s == Snow || s == IceSurface || s == HoarFrost
}

// ParseSurfaceState converts a measurement value (float, as stored) into a
// SurfaceState; non-integers and unknown codes are errors.
func ParseSurfaceState(v float64) (SurfaceState, error) {
	if math.IsNaN(v) || v < 0 || v > 255 || v != math.Trunc(v) || !SurfaceState(v).Valid() {
		return 0, fmt.Errorf("road surface state %v: not a TLS code", v)
	}
	return SurfaceState(v), nil
}

// Water-film thresholds for DeriveSurfaceState. Optical/capacitive road
// sensors resolve about 1 um; below MinWaterFilm the road counts as dry.
// The moist/wet limit is a proposal [K] to confirm with the users; sensor
// vendors use 0.05–0.2 mm.
const (
	MinWaterFilm   = 0.005 // mm; below: dry
	MoistWaterFilm = 0.1   // mm; at or above: wet
)

// DeriveSurfaceState estimates the surface state for a station that reports
// a water film but no state:
//
//	film < 0.005 mm               -> dry
//	film >= 0.005 mm, FBT <= Tg   -> freezing water (Tg = freezing temp, 0 degC if unknown)
//	0.005 <= film < 0.1 mm        -> moist
//	film >= 0.1 mm                -> wet
//
// It never derives snow, ice or hoar frost: those need an optical sensor.
// ok is false when the film is missing or not a finite non-negative value.
func DeriveSurfaceState(film, fbt, freezingTemp *float64) (s SurfaceState, ok bool) {
	if film == nil || !finite(*film) || *film < 0 {
		return 0, false
	}
	if *film < MinWaterFilm {
		return Dry, true
	}
	tg := 0.0
	if freezingTemp != nil && validTemp(*freezingTemp) {
		tg = *freezingTemp
	}
	if fbt != nil && validTemp(*fbt) && *fbt <= tg {
		return FreezingWater, true
	}
	if *film < MoistWaterFilm {
		return Moist, true
	}
	return Wet, true
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func validTemp(v float64) bool { return finite(v) && v >= MinTemperature && v <= MaxTemperature }
