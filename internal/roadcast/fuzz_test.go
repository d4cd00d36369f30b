package roadcast

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzForecast feeds arbitrary comparison cases through the model: bad
// input is an error, never a panic, and an accepted one yields finite
// temperatures.
func FuzzForecast(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "metro", "*.json"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"issued":"2026-12-14T18:00:00Z","forecast":[{"time":"2026-12-14T18:00:00Z","air_temperature":1,"dew_point":0,"wind_speed":1,"cloud_cover":4},{"time":"2026-12-14T19:00:00Z","air_temperature":1,"dew_point":0,"wind_speed":1,"cloud_cover":4}],"observations":[{"time":"2026-12-14T18:00:00Z","air_temperature":1,"dew_point":0,"road_surface_temperature":1},{"time":"2026-12-14T18:00:00Z","air_temperature":1,"dew_point":0,"road_surface_temperature":2}],"metro":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCase(data)
		if err != nil {
			return
		}
		res, err := Forecast(c.Input())
		if err != nil {
			return
		}
		for _, p := range res.Points {
			if math.IsNaN(p.SurfaceTemperature) || math.IsInf(p.SurfaceTemperature, 0) {
				t.Fatalf("FBT %v at %s", p.SurfaceTemperature, p.Time)
			}
		}
	})
}
