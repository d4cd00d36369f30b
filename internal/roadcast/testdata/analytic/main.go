// Command analytic writes testdata/metro/analytic-clearing-night.json, the
// comparison case that stands in until METRo's own outputs are committed.
//
// Its reference curve is not METRo output but the published closed-form
// solution for a semi-infinite solid whose surface exchanges heat linearly
// with its surroundings (Carslaw and Jaeger, Conduction of Heat in Solids,
// 2nd ed. 1959, section 2.7, eq. 9): a unit step of net surface flux cools
// the surface by U(t) = (1/h) * (1 - exp(b^2) * erfc(b)), b = h*sqrt(t)/e,
// with h the linearised exchange coefficient and e the thermal effusivity.
// The night: a dry road at +4 degC under overcast sky at +4 degC air
// temperature, dew point -10 degC, calm (0.5 m/s); the sky clears over the
// hour after the issue time, so the long-wave deficit ramps up linearly and
// the response is the ramp's Duhamel integral over U. Run it from the
// repository root: go run ./internal/roadcast/testdata/analytic
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"time"
)

const (
	sigma      = 5.670374e-8
	emissivity = 0.95   // roadcast's default
	convective = 2.0    // W/(m2 K): the calm-night minimum exchange at 0.5 m/s
	effusivity = 1510.0 // sqrt(k*rho*c) of asphalt, k 1.2 W/(m K), rho*c 1.9e6 J/(m3 K)
	t0         = 4.0
	dewPoint   = -10.0
)

// brutsaert is the clear-sky long-wave radiation (Brutsaert 1975).
func brutsaert(ta, td float64) float64 {
	e := 6.112 * math.Exp(17.62*td/(243.12+td))
	tk := ta + 273.15
	return 1.24 * math.Pow(e/tk, 1.0/7) * sigma * math.Pow(tk, 4)
}

func main() {
	issued := time.Date(2026, 12, 14, 18, 0, 0, 0, time.UTC)
	tk := t0 + 273.15
	overcast := sigma * math.Pow(tk, 4)
	clear := brutsaert(t0, dewPoint)
	q := emissivity * (clear - overcast) // W/m2, negative: the loss once clear
	h := 4*emissivity*sigma*math.Pow(tk, 3) + convective
	step := func(t float64) float64 { // response to a unit flux step
		if t <= 0 {
			return 0
		}
		b := h * math.Sqrt(t) / effusivity
		return (1 - math.Exp(b*b)*math.Erfc(b)) / h
	}
	type rec = map[string]any
	var fc, obs, ref []rec
	for i := -3; i <= 12; i++ {
		t := issued.Add(time.Duration(i) * time.Hour)
		lw, cloud := overcast, 8.0
		if i >= 1 {
			lw, cloud = clear, 0
		}
		fc = append(fc, rec{"time": t, "air_temperature": t0, "dew_point": dewPoint, "wind_speed": 0.5,
			"cloud_cover": cloud, "precipitation": 0.0, "pressure": 1013.25, "sw_down": 0.0, "lw_down": lw})
	}
	for m := -180; m <= 0; m += 10 {
		obs = append(obs, rec{"time": issued.Add(time.Duration(m) * time.Minute), "air_temperature": t0,
			"dew_point": dewPoint, "road_surface_temperature": t0, "road_subsurface_temperature": t0,
			"wind_speed": 0.5, "road_wet": false})
	}
	const ramp = 3600.0
	for m := 0; m <= 720; m += 20 {
		t := float64(m) * 60
		dT := 0.0 // Duhamel: the flux rises by q/ramp per second during the ramp
		for s := 0.5; s < math.Min(t, ramp); s++ {
			dT += q / ramp * step(t-s)
		}
		ref = append(ref, rec{"time": issued.Add(time.Duration(m) * time.Minute),
			"road_surface_temperature": math.Round((t0+dT)*100) / 100, "road_condition": 1})
	}
	out := rec{"name": "analytic-clearing-night: Carslaw-Jaeger semi-infinite solid, linear surface exchange (not METRo output)",
		"station": rec{"lat": 51.72, "lon": 8.75}, "issued": issued.Format(time.RFC3339),
		"forecast": fc, "observations": obs, "metro": ref}
	data, err := json.MarshalIndent(out, "", " ")
	if err == nil {
		err = os.WriteFile("internal/roadcast/testdata/metro/analytic-clearing-night.json", append(data, '\n'), 0o600)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
