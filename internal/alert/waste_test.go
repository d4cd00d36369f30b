package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// TestEnergyWasteHeating: a school's heat meter draws 6 kW per kelvin
// below 15 degC on use days and 60 % of that (setback) on days without
// use; the outdoor sensor (a road station serves as the weather station)
// reads 0 degC on weekdays and -5 degC at weekends, so the weekend draws
// less in total but not per degree day. On the second weekend the heating
// runs as on a school day. The alert fires once for that weekend and
// resolves with Monday; the cold normal weekend raises nothing.
func TestEnergyWasteHeating(t *testing.T) {
	start := time.Date(2026, 1, 12, 0, 0, 0, 0, cet) // Monday
	meter := eui(sim.Devices("building-meters")[1])
	station := eui(sim.Devices("winter-night")[0])
	h := rulesHarness(t, RuleConfig{Name: "verschwendung", Kind: KindEnergyWaste}, start, func(o *Options) {
		o.OutdoorSensors = map[string]string{"school-am-park": station}
	})
	reg := 500000.0
	for i := 0; i <= 16*24; i++ {
		at := start.Add(time.Duration(i) * time.Hour)
		weekend := at.Weekday() == time.Saturday || at.Weekday() == time.Sunday
		outdoor := 0.0
		if weekend {
			outdoor = -5
		}
		h.feed(m(station, measurement.AirTemperature, outdoor, at), m(meter, measurement.HeatEnergy, reg, at))
		day := at.Sub(start).Hours() / 24
		kw := 6 * (15 - outdoor)
		if weekend && !(day >= 12 && day < 14) {
			kw *= 0.6
		}
		reg += kw
	}
	h.drain()
	id := "verschwendung/" + meter + ":heating_without_use"
	assert.Equal(t, []string{"firing warnung " + id, "resolved warnung " + id}, h.hook.notes())
	as := byReceiver(h.hook, "hook")
	require.Len(t, as, 2)
	assert.Equal(t, "2026-01-24", as[0].Info["day"])
	assert.InDelta(t, 1.0, as[0].Values["ratio"], 0.01)
	assert.InDelta(t, -5, as[0].Values["outdoor_c"], 1e-9)
	assert.Contains(t, as[0].Title, "Heizung ohne Nutzung")
	assert.Contains(t, as[0].Text, "Die Heizung lief ohne Absenkung")
	assert.Equal(t, time.Date(2026, 1, 27, 0, 0, 0, 0, cet), as[1].ResolvedAt.In(cet), "resolved when Monday is over")
}

// TestEnergyWasteNightBase: the main electricity meter draws 5 kW at night
// and 40 kW by day; in two nights something stays on (12 kW). One alert,
// resolved by the next normal night; the high nights do not become the
// base.
func TestEnergyWasteNightBase(t *testing.T) {
	start := time.Date(2026, 1, 12, 0, 0, 0, 0, cet)
	meter := eui(sim.Devices("building-meters")[0])
	h := rulesHarness(t, RuleConfig{Name: "verschwendung", Kind: KindEnergyWaste}, start)
	reg := 1000.0
	for i := 0; i <= 14*24; i++ {
		at := start.Add(time.Duration(i) * time.Hour)
		h.feed(m(meter, measurement.EnergyActiveImport, reg, at))
		kw := 40.0
		if at.Hour() < 6 || at.Hour() >= 20 {
			kw = 5
			if d := at.Sub(start).Hours() / 24; d >= 10 && d < 12 && at.Hour() < 6 {
				kw = 12
			}
		}
		reg += kw
	}
	h.drain()
	id := "verschwendung/" + meter + ":night_base_load"
	assert.Equal(t, []string{"firing warnung " + id, "resolved warnung " + id}, h.hook.notes())
	as := byReceiver(h.hook, "hook")
	require.Len(t, as, 2)
	assert.InDelta(t, 12, as[0].Values["night_kw"], 1e-9)
	assert.InDelta(t, 5, as[0].Values["median_kw"], 1e-9)
	assert.Equal(t, "2026-01-22", as[0].Info["day"])
	assert.Contains(t, as[0].Title, "Nachtgrundlast gestiegen")
}

func TestEnergyWasteConfig(t *testing.T) {
	c := DefaultConfig()
	c.Rules = []RuleConfig{{Name: "w", Kind: KindEnergyWaste, Factor: 0.9, Share: -1, MinKW: -1, NightFrom: 5, NightTo: 3},
		{Name: "p", Kind: KindPeakLoad, Quantity: "heat_energy"}}
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{"factor: 0.9 must be above 1", "share: -1 is not in (0, 2)", "min_kw: must not be negative",
		"night_from/night_to", "limit_kw: required", `quantity: "heat_energy" is not energy_active_import or power_active`} {
		assert.Contains(t, err.Error(), want)
	}
}
