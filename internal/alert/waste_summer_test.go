package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// feedSummer feeds an outdoor sensor at 20 degC and a heat meter drawing
// kw(at) kW, hourly from start for the given days.
func feedSummer(h *harness, meter, station string, start time.Time, days int, kw func(at time.Time) float64) {
	reg := 700000.0
	for i := 0; i <= days*24; i++ {
		at := start.Add(time.Duration(i) * time.Hour)
		h.feed(m(station, measurement.AirTemperature, 20, at), m(meter, measurement.HeatEnergy, reg, at))
		reg += kw(at)
	}
	h.drain()
}

// TestEnergyWasteSummerHeating: in June a school's heat meter draws its
// hot-water base, 2 kW on use days and 1 kW on days without use; on 16
// and 17 June the space heating runs as well (6 kW). The learned base
// (lower quartile of the past use days) makes one alert for those days,
// resolved on the 18th; the weekends and the public holiday (Fronleichnam,
// 4 June) are held against days without use and raise nothing.
func TestEnergyWasteSummerHeating(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, berlin) // Monday
	meter := eui(sim.Devices("building-meters")[1])
	station := eui(sim.Devices("winter-night")[0])
	h := rulesHarness(t, RuleConfig{Name: "verschwendung", Kind: KindEnergyWaste}, start, func(o *Options) {
		o.OutdoorSensors = map[string]string{"school-am-park": station}
	})
	feedSummer(h, meter, station, start, 20, func(at time.Time) float64 {
		switch {
		case at.Day() == 16 || at.Day() == 17:
			return 6
		case at.Weekday() == time.Saturday || at.Weekday() == time.Sunday || at.Day() == 4:
			return 1
		}
		return 2
	})
	id := "verschwendung/" + meter + ":summer_heating"
	assert.Equal(t, []string{"firing warnung " + id, "resolved warnung " + id}, h.hook.notes())
	as := byReceiver(h.hook, "hook")
	require.Len(t, as, 2)
	assert.Equal(t, "2026-06-16", as[0].Info["day"])
	assert.InDelta(t, 144, as[0].Values["day_consumption"], 1e-6)
	assert.InDelta(t, 48, as[0].Values["hot_water_base"], 1e-6)
	assert.Contains(t, as[0].Title, "Heizung im Sommer über Warmwasser")
	assert.Contains(t, as[0].Text, "Sommerbetrieb der Regelung prüfen")
	assert.Equal(t, time.Date(2026, 6, 19, 0, 0, 0, 0, berlin), as[1].ResolvedAt.In(berlin), "resolved when the 18th is over")
}

// TestEnergyWasteSummerConfiguredBase: with hot_water_per_day 30 kWh a
// building whose heating runs from the first summer day on is caught on
// that day (no history needed); the first day of September resolves it.
func TestEnergyWasteSummerConfiguredBase(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	start := time.Date(2026, 8, 30, 0, 0, 0, 0, berlin) // Sunday
	meter := eui(sim.Devices("building-meters")[1])
	station := eui(sim.Devices("winter-night")[0])
	h := rulesHarness(t, RuleConfig{Name: "verschwendung", Kind: KindEnergyWaste, HotWaterPerDay: 30}, start, func(o *Options) {
		o.OutdoorSensors = map[string]string{"school-am-park": station}
	})
	feedSummer(h, meter, station, start, 3, func(at time.Time) float64 {
		if at.Weekday() == time.Sunday {
			return 1 // 24 kWh: below 1.3 x 30
		}
		return 2
	})
	id := "verschwendung/" + meter + ":summer_heating"
	assert.Equal(t, []string{"firing warnung " + id, "resolved warnung " + id}, h.hook.notes())
	as := byReceiver(h.hook, "hook")
	require.Len(t, as, 2)
	assert.Equal(t, "2026-08-31", as[0].Info["day"])
	assert.InDelta(t, 30, as[0].Values["hot_water_base"], 1e-9)
	assert.Equal(t, time.Date(2026, 9, 2, 0, 0, 0, 0, berlin), as[1].ResolvedAt.In(berlin))

	c := DefaultConfig()
	c.Rules = []RuleConfig{{Name: "w", Kind: KindEnergyWaste, HotWaterPerDay: -1}}
	assert.ErrorContains(t, c.Validate(), "hot_water_per_day: must not be negative")
}
