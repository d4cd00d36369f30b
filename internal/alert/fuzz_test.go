package alert

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// FuzzEngine feeds arbitrary measurement sequences through every rule kind:
// no panic, every alert in a valid state, and the state stays persistable.
func FuzzEngine(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0x40, 0x10, 5})
	f.Add([]byte{3, 2, 0xff, 0xf8, 0, 0, 0, 0, 0, 0, 1, 7, 0, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0, 0})
	qs := []measurement.Quantity{measurement.RoadSurfaceTemperature, measurement.AirTemperature, measurement.RelativeHumidity,
		measurement.RoadSurfaceState, measurement.WaterFilmHeight, measurement.CO2, measurement.PM10, measurement.NO2,
		measurement.PulseCount, measurement.WaterVolume, measurement.VolumeFlow, measurement.LeakAlarm, measurement.BatteryVoltage}
	devs := append(sim.Devices("winter-night"), sim.Devices("building-meters")...)
	cfg := Config{Rules: []RuleConfig{
		{Name: "ice", Kind: KindIce}, {Name: "co2", Kind: KindCO2}, {Name: "pm", Kind: KindAirQuality, Quantity: "pm10"},
		{Name: "no2", Kind: KindAirQuality, Quantity: "no2"}, {Name: "leak", Kind: KindLeak}, {Name: "burst", Kind: KindBurst, NominalM3H: 2.5},
		{Name: "flag", Kind: KindFlag}, {Name: "bat", Kind: KindBattery}, {Name: "stale", Kind: KindStale},
		{Name: "rate", Kind: KindRate, Quantity: "air_temperature", On: ptr(2)},
		{Name: "thr", Kind: KindThreshold, Quantity: "road_surface_temperature", Bands: []Band{{On: 0, Off: 1, Level: "warnung"}, {On: -2, Off: -1, Level: "alarm"}}, Direction: "below"},
	}}
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(f, cfg, "winter-night,building-meters", start)
	f.Fuzz(func(t *testing.T, data []byte) {
		at := start
		for len(data) >= 11 {
			dev := eui(devs[int(data[0])%len(devs)])
			q := qs[int(data[1])%len(qs)]
			v := math.Float64frombits(binary.BigEndian.Uint64(data[2:10]))
			at = at.Add(time.Duration(data[10]) * time.Minute)
			h.feed(m(dev, q, v, at))
			data = data[11:]
		}
		h.tick(at.Add(time.Hour))
		for _, a := range h.e.List(Filter{}) {
			switch a.State {
			case StatePending, StateFiring, StateAcknowledged, StateResolved:
			default:
				t.Fatalf("alert %s in state %q", a.ID, a.State)
			}
		}
		h.e.mu.Lock()
		defer h.e.mu.Unlock()
		if err := h.e.saveEvalState(); err != nil {
			t.Fatal(err)
		}
	})
}
