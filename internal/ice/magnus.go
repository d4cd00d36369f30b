package ice

import (
	"errors"
	"fmt"
	"math"
)

// Magnus constants per WMO-No. 8 Annex 4.B. The ice constants give the
// saturation vapour pressure over a plane ice surface, which is what matters
// for hoar frost on a road below 0 degC.
const (
	magnusE0     = 6.112  // hPa, saturation vapour pressure at 0 degC
	magnusAWater = 17.62  // dimensionless
	magnusBWater = 243.12 // degC
	magnusAIce   = 22.46  // dimensionless
	magnusBIce   = 272.62 // degC
)

// MinTemperature and MaxTemperature bound every temperature this package
// accepts. Road surfaces reach about +70 degC in summer and air rarely falls
// below -50 degC in Germany; values outside are sensor faults, and the Magnus
// fit is only validated down to about -45 degC over water anyway.
const (
	MinTemperature = -60.0
	MaxTemperature = 80.0
)

// Input errors. They are sentinels so callers can tell a bad sensor value
// (errors.Is) from a programming error.
var (
	ErrTemperatureRange = errors.New("temperature out of range")
	ErrHumidityRange    = errors.New("relative humidity out of range (0,100]")
	ErrDewPointAbove    = errors.New("dew point above air temperature")
)

// dewPointTolerance allows sensor noise where the dew point reads a little
// above the air temperature in fog; beyond it the pair is inconsistent.
const dewPointTolerance = 0.2

func checkTemperature(name string, t float64) error {
	if math.IsNaN(t) || t < MinTemperature || t > MaxTemperature {
		return fmt.Errorf("%s %v degC: %w", name, t, ErrTemperatureRange)
	}
	return nil
}

func checkHumidity(rh float64) error {
	if math.IsNaN(rh) || rh <= 0 || rh > 100 {
		return fmt.Errorf("relative humidity %v %%: %w", rh, ErrHumidityRange)
	}
	return nil
}

// SaturationVapourPressureWater returns the saturation vapour pressure over
// (supercooled) water in hPa at t degC. It does not validate t; use the
// error-returning functions for sensor input.
func SaturationVapourPressureWater(t float64) float64 {
	return magnusE0 * math.Exp(magnusAWater*t/(magnusBWater+t))
}

// SaturationVapourPressureIce returns the saturation vapour pressure over ice
// in hPa at t degC. It does not validate t.
func SaturationVapourPressureIce(t float64) float64 {
	return magnusE0 * math.Exp(magnusAIce*t/(magnusBIce+t))
}

// VapourPressure returns the actual vapour pressure in hPa of air at t degC
// and rh percent. RH is relative to water, as meteorological sensors report
// it (WMO convention), also below 0 degC.
func VapourPressure(t, rh float64) (float64, error) {
	if err := checkTemperature("air temperature", t); err != nil {
		return 0, err
	}
	if err := checkHumidity(rh); err != nil {
		return 0, err
	}
	return rh / 100 * SaturationVapourPressureWater(t), nil
}

// DewPoint returns the dew point in degC (temperature at which the air is
// saturated with respect to water) of air at t degC and rh percent.
func DewPoint(t, rh float64) (float64, error) {
	e, err := VapourPressure(t, rh)
	if err != nil {
		return 0, err
	}
	g := math.Log(e / magnusE0)
	return magnusBWater * g / (magnusAWater - g), nil
}

// FrostPoint returns the frost point in degC (temperature at which the air is
// saturated with respect to ice) of air at t degC and rh percent. Below
// 0 degC it lies above the dew point; hoar frost forms when the road surface
// is colder than the frost point.
func FrostPoint(t, rh float64) (float64, error) {
	e, err := VapourPressure(t, rh)
	if err != nil {
		return 0, err
	}
	return frostPointFromVapour(e), nil
}

// FrostPointFromDewPoint returns the frost point in degC for air whose dew
// point is td degC; stations that report only a dew point still get a frost
// point this way.
func FrostPointFromDewPoint(td float64) (float64, error) {
	if err := checkTemperature("dew point", td); err != nil {
		return 0, err
	}
	return frostPointFromVapour(SaturationVapourPressureWater(td)), nil
}

func frostPointFromVapour(e float64) float64 {
	g := math.Log(e / magnusE0)
	return magnusBIce * g / (magnusAIce - g)
}

// RelativeHumidity returns RH in percent from air temperature t and dew point
// td (both degC). A dew point up to 0.2 K above t (sensor noise in fog) gives
// 100 %; further above is an error.
func RelativeHumidity(t, td float64) (float64, error) {
	if err := checkTemperature("air temperature", t); err != nil {
		return 0, err
	}
	if err := checkTemperature("dew point", td); err != nil {
		return 0, err
	}
	if td > t+dewPointTolerance {
		return 0, fmt.Errorf("dew point %v > air temperature %v: %w", td, t, ErrDewPointAbove)
	}
	rh := 100 * SaturationVapourPressureWater(td) / SaturationVapourPressureWater(t)
	return math.Min(rh, 100), nil
}
