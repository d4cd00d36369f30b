package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCurveInterpolatesAndWraps(t *testing.T) {
	c := curve{{0, 0}, {12, 12}, {18, 0}}
	tests := []struct{ h, want float64 }{
		{0, 0}, {6, 6}, {12, 12}, {15, 6}, {18, 0}, {21, 0}, {23.5, 0},
	}
	for _, tc := range tests {
		assert.InDelta(t, tc.want, c.at(tc.h), 1e-9, "h=%v", tc.h)
	}
	w := curve{{6, 10}, {18, 20}}
	assert.InDelta(t, 15, w.at(0), 1e-9, "wraps over midnight")
	assert.InDelta(t, 12.5, w.at(9), 1e-9)
}

func TestDewPoint(t *testing.T) {
	assert.InDelta(t, 20.0, dewPoint(20, 100), 0.01)
	assert.InDelta(t, 9.26, dewPoint(20, 50), 0.05)
	assert.InDelta(t, -3.3, dewPoint(0, 78), 0.2)
}

func TestWinterNightModel(t *testing.T) {
	sc, ok := LookupScenario("winter-night")
	require.True(t, ok)
	for i, sd := range sc.build(sc.Start) {
		m := sd.sensor.(*roadModel)
		t.Run(sd.dev.Name, func(t *testing.T) {
			states := map[uint8]bool{}
			var order []uint8
			byTime := map[string]RoadStationReading{}
			minSurface := 100.0
			for tt := sc.Start; !tt.After(sc.Start.Add(18 * time.Hour)); tt = tt.Add(10 * time.Minute) {
				r := m.Sample(tt)
				byTime[tt.In(cet).Format("15:04")] = r
				minSurface = min(minSurface, r.SurfaceTemp)
				if !states[r.SurfaceState] {
					order = append(order, r.SurfaceState)
				}
				states[r.SurfaceState] = true
			}
			assert.Equal(t, SurfaceDry, byTime["18:00"].SurfaceState, "dry in the evening")
			assert.Greater(t, byTime["18:00"].SurfaceTemp, 0.0)
			for _, hhmm := range []string{"03:00", "05:00", "07:30"} {
				assert.Less(t, byTime[hhmm].SurfaceTemp, 0.0, "surface below 0 at %s", hhmm)
				assert.Contains(t, []uint8{SurfaceIce, SurfaceHoarFrost}, byTime[hhmm].SurfaceState, "frozen at %s", hhmm)
			}
			assert.Less(t, minSurface, -3.0)
			assert.Greater(t, byTime["06:00"].RH, byTime["18:00"].RH+10, "humidity rises through the night")
			assert.Greater(t, byTime["22:00"].RH, byTime["18:00"].RH)
			assert.Greater(t, byTime["12:00"].SurfaceTemp, byTime["07:30"].SurfaceTemp+3, "warming after sunrise")
			assert.Equal(t, SurfaceMoist, order[1], "moist before anything else: %v", order)
			if i == 0 || i == 1 {
				assert.Contains(t, order, SurfaceWet, "bridge and forest get wet before freezing: %v", order)
			}
		})
	}
}

func TestSchoolDayModel(t *testing.T) {
	sc, _ := LookupScenario("school-day")
	peaks := map[string]float64{}
	for _, sd := range sc.build(sc.Start) {
		m := sd.sensor.(*co2Model)
		at := map[string]uint16{}
		for tt := sc.Start; !tt.After(sc.Start.Add(sc.Duration)); tt = tt.Add(5 * time.Minute) {
			r := m.Sample(tt)
			at[tt.In(cet).Format("15:04")] = r.CO2
			peaks[sd.dev.Name] = max(peaks[sd.dev.Name], float64(r.CO2))
		}
		assert.Less(t, at["07:30"], uint16(500), "fresh air before school in %s", sd.dev.Name)
		assert.Greater(t, at["09:30"], at["08:00"]+300, "CO2 rises in the lesson in %s", sd.dev.Name)
		assert.Less(t, at["09:50"], at["09:30"], "CO2 falls in the break in %s", sd.dev.Name)
	}
	assert.Greater(t, peaks["CO2 Room 212 (class 7b)"], 2000.0, "poorly ventilated room")
	assert.Less(t, peaks["CO2 Room 104 (class 5a)"], 1400.0, "well ventilated room")
}

func TestBuildingMetersNightLeak(t *testing.T) {
	sc, _ := LookupScenario("building-meters")
	var water *waterMeter
	var elec *electricityMeter
	var heat *heatMeter
	for _, sd := range sc.build(sc.Start) {
		switch m := sd.sensor.(type) {
		case *waterMeter:
			water = m
		case *electricityMeter:
			elec = m
		case *heatMeter:
			heat = m
		}
	}
	require.NotNil(t, water)
	pulses := map[string]uint32{}
	var lastE, lastH float64
	for tt := sc.Start; !tt.After(sc.Start.Add(sc.Duration)); tt = tt.Add(15 * time.Minute) {
		pulses[tt.In(cet).Format("Mon 15:04")] = water.Sample(tt).Pulses
		elec.Sample(tt)
		assert.GreaterOrEqual(t, elec.EnergyKWh(), lastE)
		lastE = elec.EnergyKWh()
		h := heat.Sample(tt)
		assert.GreaterOrEqual(t, h.EnergyKWh, lastH)
		lastH = h.EnergyKWh
	}
	firstNight := pulses["Tue 04:00"] - pulses["Tue 01:00"]
	secondNight := pulses["Wed 04:00"] - pulses["Wed 01:00"]
	assert.Zero(t, firstNight, "no flow in the first night")
	assert.InDelta(t, 90, float64(secondNight), 1, "30 l/h leak in the second night")
	assert.Greater(t, pulses["Mon 16:00"]-pulses["Mon 08:00"], uint32(500), "daytime use")
	assert.Greater(t, lastE, 412_836.0+500)
	assert.Greater(t, lastH, 1_286_412.3+2000)
}

func TestSecondNightStart(t *testing.T) {
	tests := []struct{ start, want time.Time }{
		{time.Date(2026, 1, 12, 6, 0, 0, 0, cet), time.Date(2026, 1, 13, 22, 0, 0, 0, cet)},
		{time.Date(2026, 1, 12, 18, 0, 0, 0, cet), time.Date(2026, 1, 13, 22, 0, 0, 0, cet)},
		{time.Date(2026, 1, 12, 2, 0, 0, 0, cet), time.Date(2026, 1, 12, 22, 0, 0, 0, cet)},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, secondNightStart(tc.start), tc.start.String())
	}
}

func TestValveClosedStopsFlow(t *testing.T) {
	b := newBuilding(time.Date(2026, 1, 1, 0, 0, 0, 0, cet))
	noon := time.Date(2026, 1, 13, 12, 0, 0, 0, cet)
	assert.Greater(t, b.FlowLH(noon), 30.0)
	v := &valveActuator{b: b, batteryMV: 3600}
	require.NoError(t, v.command(FPortValve, []byte{ValveCmdClose}))
	assert.Zero(t, b.FlowLH(noon))
	assert.Error(t, v.command(FPortValve, []byte{0x7f}))
	assert.Error(t, v.command(FPortValve, nil))
	assert.Error(t, v.command(1, []byte{ValveCmdOpen}))
	assert.False(t, b.ValveOpen())
}

// The valley is spread preventively at dusk and has a freezing-point
// sensor: its film stays liquid below 0 degC while the brine is strong,
// and freezes once condensation has diluted it so that its freezing
// temperature rises above the surface.
func TestSaltedValley(t *testing.T) {
	sc, ok := LookupScenario("winter-night")
	require.True(t, ok)
	devs := sc.build(sc.Start)
	m := devs[2].sensor.(*roadModel)
	require.Equal(t, "k23-valley", devs[2].dev.Site)
	at := map[string]RoadStationReading{}
	for tt := sc.Start; !tt.After(sc.Start.Add(18 * time.Hour)); tt = tt.Add(10 * time.Minute) {
		at[tt.In(cet).Format("15:04")] = m.Sample(tt)
	}
	r := at["18:00"]
	assert.True(t, r.FreezingSensor)
	assert.Nil(t, r.FreezingTemp, "no film, nothing to measure")
	assert.Len(t, EncodeRoadStation(r), 14)

	r = at["21:30"]
	assert.Less(t, r.SurfaceTemp, 0.0)
	assert.Equal(t, SurfaceWet, r.SurfaceState, "salted film still liquid")
	require.NotNil(t, r.FreezingTemp)
	assert.Less(t, *r.FreezingTemp, r.SurfaceTemp-1.5)

	r = at["03:00"]
	assert.Equal(t, SurfaceIce, r.SurfaceState)
	require.NotNil(t, r.FreezingTemp)
	assert.Greater(t, *r.FreezingTemp, r.SurfaceTemp, "brine diluted above FBT")

	// The other stations have no sensor and keep the 12-byte payload.
	assert.Len(t, EncodeRoadStation(devs[0].sensor.(*roadModel).Sample(sc.Start)), 12)
}
