package gauge_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/gauge"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
)

var t0 = time.Date(2026, 7, 14, 6, 0, 0, 0, time.UTC)

func sites() []site.Site {
	sh := -0.5
	return []site.Site{
		{ID: "rur", Kind: site.Gauge, GaugeSite: site.GaugeSite{River: "Rur", MountingHeight: 5, RateWindow: time.Hour}},
		{ID: "wurm", Kind: site.Gauge, GaugeSite: site.GaugeSite{River: "Wurm", SensorHeight: &sh}},
		{ID: "school", Kind: site.Building},
	}
}

func dist(min int, v float64) measurement.Measurement {
	return measurement.Measurement{Device: "d1", Quantity: measurement.Distance, Value: v, Unit: "m",
		Time: t0.Add(time.Duration(min) * time.Minute), Meta: map[string]string{"site": "rur"}}
}

func find(ms []measurement.Measurement, q measurement.Quantity) *measurement.Measurement {
	for i := range ms {
		if ms[i].Quantity == q {
			return &ms[i]
		}
	}
	return nil
}

func TestLevelFromDistanceAndPressure(t *testing.T) {
	d := gauge.New(sites())
	ms := d.Derive("rur", []measurement.Measurement{dist(0, 3.2)})
	lv := find(ms, measurement.WaterLevel)
	require.NotNil(t, lv)
	assert.InDelta(t, 1.8, lv.Value, 1e-9)
	assert.Equal(t, "m", lv.Unit)
	assert.Equal(t, "rur", lv.Meta["site"])
	assert.False(t, lv.Invalid())

	p := measurement.Measurement{Device: "d2", Quantity: measurement.WaterPressure, Value: 0.2, Time: t0}
	ms = d.Derive("wurm", []measurement.Measurement{p})
	lv = find(ms, measurement.WaterLevel)
	require.NotNil(t, lv)
	assert.InDelta(t, -0.5+0.2*10.19716, lv.Value, 1e-4)

	// Not a gauge: nothing derived.
	ms = d.Derive("school", []measurement.Measurement{dist(0, 3.2)})
	assert.Len(t, ms, 1)
}

func TestImpossibleReadingsMarked(t *testing.T) {
	d := gauge.New(sites())
	ms := d.Derive("rur", []measurement.Measurement{dist(0, -0.3)})
	require.Len(t, ms, 1, "no level from an impossible reading")
	assert.True(t, ms[0].Invalid(), "raw distance marked")
	assert.Equal(t, gauge.ReasonNegativeDistance, ms[0].Meta[gauge.MetaReason])
	assert.InDelta(t, -0.3, ms[0].Value, 1e-9, "raw value kept")

	// The sensor's own flag: kept, no level.
	in := dist(1, 0.2)
	in.Meta["quality"] = "invalid"
	ms = d.Derive("rur", []measurement.Measurement{in})
	require.Len(t, ms, 1)
	assert.Nil(t, find(ms, measurement.WaterLevel))

	// A level the codec gives directly stays, marked when impossible.
	lv := measurement.Measurement{Device: "d9", Quantity: measurement.WaterLevel, Value: 2, Time: t0}
	d.Derive("rur", []measurement.Measurement{lv})
	lv.Value, lv.Time = 9, t0.Add(time.Minute)
	ms = d.Derive("rur", []measurement.Measurement{lv})
	require.Len(t, ms, 1)
	assert.True(t, ms[0].Invalid())
	assert.Equal(t, gauge.ReasonJump, ms[0].Meta[gauge.MetaReason])
}

func TestJumpMarkedUntilConfirmed(t *testing.T) {
	d := gauge.New(sites())
	d.Derive("rur", []measurement.Measurement{dist(0, 3.0)}) // level 2.0
	// 1 m in 10 min is 600 cm/h, beyond 100: a spike.
	ms := d.Derive("rur", []measurement.Measurement{dist(10, 2.0)})
	assert.Nil(t, find(ms, measurement.WaterLevel))
	assert.True(t, ms[0].Invalid(), "the raw distance is marked")
	assert.Equal(t, gauge.ReasonJump, ms[0].Meta[gauge.MetaReason])
	// Back to normal: plausible against the old level.
	ms = d.Derive("rur", []measurement.Measurement{dist(20, 2.98)})
	require.NotNil(t, find(ms, measurement.WaterLevel))
	assert.False(t, ms[0].Invalid())
	// A real step: two readings agreeing with each other are accepted.
	ms = d.Derive("rur", []measurement.Measurement{dist(30, 1.5)})
	assert.Nil(t, find(ms, measurement.WaterLevel))
	ms = d.Derive("rur", []measurement.Measurement{dist(40, 1.49)})
	lv := find(ms, measurement.WaterLevel)
	require.NotNil(t, lv)
	assert.InDelta(t, 3.51, lv.Value, 1e-9)
}

func TestRateOverWindow(t *testing.T) {
	d := gauge.New(sites())
	var last []measurement.Measurement
	var rates int
	// Rising 30 cm/h: distance falls 0.05 m per 10 min.
	for i := 0; i <= 12; i++ {
		last = d.Derive("rur", []measurement.Measurement{dist(i*10, 3.0-0.05*float64(i))})
		if r := find(last, measurement.WaterLevelRate); r != nil {
			rates++
			assert.InDelta(t, 30, r.Value, 1e-6)
			assert.Equal(t, "cm/h", r.Unit)
		}
	}
	// The first rate once half the hour is covered (minute 30).
	assert.Equal(t, 10, rates)
}

func TestSlope(t *testing.T) {
	pts := func(yield func(time.Time, float64) bool) {
		for i := range 5 {
			if !yield(t0.Add(time.Duration(i)*30*time.Minute), 1+0.5*float64(i)) {
				return
			}
		}
	}
	assert.InDelta(t, 1.0, gauge.Slope(t0, pts), 1e-9)
	assert.Equal(t, 0.0, gauge.Slope(t0, func(func(time.Time, float64) bool) {}))
}

// BenchmarkDerive is the gauge path's cost per uplink: one distance
// reading becomes a level, is checked and extends the rate window.
func BenchmarkDerive(b *testing.B) {
	d := gauge.New(sites())
	ms := make([]measurement.Measurement, 1, 4)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ms = ms[:1]
		ms[0] = measurement.Measurement{Device: "d1", Quantity: measurement.Distance, Value: 3 - 0.0005*float64(i%1000),
			Unit: "m", Time: t0.Add(time.Duration(i) * time.Minute), Meta: map[string]string{"site": "rur"}}
		ms = d.Derive("rur", ms)
	}
}
