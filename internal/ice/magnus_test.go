package ice

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hand computations (Magnus, WMO constants), rounded at each printed step:
//
//	-3 degC, 90 %: e_w(-3) = 6.112*exp(17.62*-3/240.12) = 6.112*exp(-0.220140) = 4.9043 hPa
//	               e = 0.9*4.9043 = 4.4139; g = ln(4.4139/6.112) = -0.32550
//	               Td = 243.12*g/(17.62-g) = -79.136/17.9455 = -4.410 degC (published: -4.4)
//	               Tf = 272.62*g/(22.46-g) = -88.738/22.7855 = -3.894 degC (published: -3.9)
//	20 degC, 50 %: e_w(20) = 6.112*exp(352.4/263.12) = 23.326 hPa; e = 11.663; g = 0.64617
//	               Td = 157.10/16.9738 = 9.255 degC (common tables: 9.3)
//	10 degC, 80 %: e_w(10) = 6.112*exp(176.2/253.12) = 12.260; e = 9.8082; g = 0.47297
//	               Td = 114.99/17.1470 = 6.706 degC (tables: 6.7)
//	-10 degC, 70 %: e_w(-10) = 6.112*exp(-176.2/233.12) = 2.8703; e = 2.0092; g = -1.11251
//	               Td = -270.47/18.7325 = -14.439; Tf = -303.29/23.5725 = -12.866 degC
//	0 degC, 100 %: e = 6.112, g = 0 -> Td = Tf = 0 exactly.
func TestDewFrostPoint(t *testing.T) {
	tests := []struct {
		name      string
		t, rh     float64
		td, tf    float64
		tolerance float64
	}{
		{"published -3/90", -3, 90, -4.4, -3.9, 0.05},
		{"hand -3/90", -3, 90, -4.410, -3.894, 0.001},
		{"hand 20/50", 20, 50, 9.255, 8.076, 0.001},
		{"hand 10/80", 10, 80, 6.706, 5.864, 0.001},
		{"hand -10/70", -10, 70, -14.439, -12.866, 0.001},
		{"saturated at 0", 0, 100, 0, 0, 1e-12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			td, err := DewPoint(tc.t, tc.rh)
			require.NoError(t, err)
			assert.InDelta(t, tc.td, td, tc.tolerance, "dew point")
			tf, err := FrostPoint(tc.t, tc.rh)
			require.NoError(t, err)
			assert.InDelta(t, tc.tf, tf, tc.tolerance, "frost point")
			// Same vapour pressure, so the frost point from the dew point agrees.
			tf2, err := FrostPointFromDewPoint(td)
			require.NoError(t, err)
			assert.InDelta(t, tf, tf2, 1e-9)
			// Round trip back to RH.
			rh, err := RelativeHumidity(tc.t, td)
			require.NoError(t, err)
			assert.InDelta(t, tc.rh, rh, 1e-9)
		})
	}
}

func TestSaturationVapourPressure(t *testing.T) {
	// 0 degC: both are 6.112 hPa by construction. -10 degC: over water
	// 2.8703 hPa (above), over ice 6.112*exp(-224.6/262.62) = 2.5987 hPa;
	// ice is lower, which is why frost forms before dew below 0 degC.
	assert.InDelta(t, 6.112, SaturationVapourPressureWater(0), 1e-12)
	assert.InDelta(t, 6.112, SaturationVapourPressureIce(0), 1e-12)
	assert.InDelta(t, 2.8703, SaturationVapourPressureWater(-10), 1e-4)
	assert.InDelta(t, 2.5987, SaturationVapourPressureIce(-10), 1e-4)
	assert.InDelta(t, 23.326, SaturationVapourPressureWater(20), 1e-3)
	// Below 0 the frost point lies between the dew point and the air temperature.
	for _, tt := range []float64{-20, -10, -5, -1} {
		td, err := DewPoint(tt, 80)
		require.NoError(t, err)
		tf, err := FrostPoint(tt, 80)
		require.NoError(t, err)
		assert.Less(t, td, tf)
		assert.Less(t, tf, tt)
	}
}

func TestRelativeHumidity(t *testing.T) {
	// RH(10, 5) = 100*e_w(5)/e_w(10) = 100*8.7174/12.2603 = 71.10 %.
	rh, err := RelativeHumidity(10, 5)
	require.NoError(t, err)
	assert.InDelta(t, 71.10, rh, 0.01)
	// Dew point a little above T (fog, sensor noise) -> 100 %.
	rh, err = RelativeHumidity(2, 2.1)
	require.NoError(t, err)
	assert.Equal(t, 100.0, rh)
	_, err = RelativeHumidity(2, 3)
	require.ErrorIs(t, err, ErrDewPointAbove)
}

func TestMagnusValidation(t *testing.T) {
	tests := []struct {
		name  string
		t, rh float64
		want  error
	}{
		{"rh zero", 5, 0, ErrHumidityRange},
		{"rh negative", 5, -3, ErrHumidityRange},
		{"rh above 100", 5, 100.5, ErrHumidityRange},
		{"rh NaN", 5, math.NaN(), ErrHumidityRange},
		{"t NaN", math.NaN(), 50, ErrTemperatureRange},
		{"t too cold", -61, 50, ErrTemperatureRange},
		{"t too hot", 81, 50, ErrTemperatureRange},
		{"t inf", math.Inf(1), 50, ErrTemperatureRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DewPoint(tc.t, tc.rh)
			require.ErrorIs(t, err, tc.want)
			_, err = FrostPoint(tc.t, tc.rh)
			require.ErrorIs(t, err, tc.want)
		})
	}
	_, err := FrostPointFromDewPoint(math.NaN())
	require.ErrorIs(t, err, ErrTemperatureRange)
	// Edges are accepted and finite.
	for _, tt := range []float64{MinTemperature, MaxTemperature} {
		for _, rh := range []float64{1e-9, 100} {
			td, err := DewPoint(tt, rh)
			require.NoError(t, err)
			assert.False(t, math.IsNaN(td) || math.IsInf(td, 0))
		}
	}
}
