package datex2

import "github.com/loraedge/loraedge/internal/ice"

// surfaceConditions maps the TLS surface-state codes the road sensors
// report to DATEX II WeatherRelatedRoadConditionTypeEnum values.
var surfaceConditions = map[ice.SurfaceState]string{
	ice.Dry:           "dry",
	ice.Moist:         "moist",
	ice.Wet:           "wet",
	ice.FreezingWater: "freezingOfWetRoads",
	ice.Snow:          "snow",
	ice.IceSurface:    "ice",
	ice.HoarFrost:     "rime",
}

// SurfaceCondition returns the DATEX II road condition of a TLS
// surface-state value; false for a value that is no TLS code.
func SurfaceCondition(tls float64) (string, bool) {
	s, err := ice.ParseSurfaceState(tls)
	if err != nil {
		return "", false
	}
	c, ok := surfaceConditions[s]
	return c, ok
}
