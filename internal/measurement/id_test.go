package measurement

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestIDStableAndDistinct(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	base := Measurement{Device: "70b3d57ed0000001", Quantity: CO2, Value: 412, Unit: "ppm", Time: t0,
		Meta: map[string]string{MetaFCnt: "70000", "site": "gs-nord"}}
	id := ID(base)
	assert.Len(t, id, 32)
	// Known answer: the recipe README documents, so consumers can recompute it.
	// (echo -n '70b3d57ed0000001|70000|co2|0|1796623200000000000' | sha256sum).
	assert.Equal(t, "2cb0062bdfc1340986eb91c13a2e8f68", id)
	same := base
	same.Value = 999                                 // the value is not identity
	same.Meta = map[string]string{MetaFCnt: "70000"} // nor is the site or the receiving gateway
	same.Time = t0.In(time.FixedZone("CET", 3600))   // nor the time zone
	assert.Equal(t, id, ID(same))

	for name, change := range map[string]func(m *Measurement){
		"device":   func(m *Measurement) { m.Device = "70b3d57ed0000002" },
		"f_cnt":    func(m *Measurement) { m.Meta = map[string]string{MetaFCnt: "70001"} },
		"no f_cnt": func(m *Measurement) { m.Meta = nil },
		"quantity": func(m *Measurement) { m.Quantity = AirTemperature },
		"channel":  func(m *Measurement) { m.Channel = 1 },
		"time":     func(m *Measurement) { m.Time = t0.Add(time.Nanosecond) },
	} {
		m := base
		change(&m)
		assert.NotEqual(t, id, ID(m), name)
	}
}
