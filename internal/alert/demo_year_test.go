package alert

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// collector keeps what the year generator writes.
type collector struct {
	mu sync.Mutex
	ms []measurement.Measurement
}

func (c *collector) Append(_ context.Context, ms []measurement.Measurement) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ms = append(c.ms, ms...)
	return nil
}

// TestDemoYearWasteAndPeak runs the demo year with its events (15-minute
// readings of three buildings) through the engine with a peak_load rule
// on the first building's meter and an energy_waste rule on all of them:
// the peak fires once and resolves, the heating through Christmas fires
// once and resolves, and nothing else in the year raises an alert.
func TestDemoYearWasteAndPeak(t *testing.T) {
	if testing.Short() {
		t.Skip("a year of readings through the engine")
	}
	sites := sim.DemoSites(3)
	col := &collector{}
	ecfg, err := sim.GenerateYear(context.Background(), col, 2026, sites, sim.YearOptions{Events: true, LossRate: -1})
	require.NoError(t, err)
	slices.SortStableFunc(col.ms, func(a, b measurement.Measurement) int { return a.Time.Compare(b.Time) })
	var devs []device.Device
	add := func(dev, name, site string) {
		var e lorawan.EUI64
		require.NoError(t, e.UnmarshalText([]byte(dev)))
		devs = append(devs, device.Device{DevEUI: e, Name: name, Site: site, Activation: device.External})
	}
	outdoor := map[string]string{}
	for _, mc := range ecfg.Meters {
		add(mc.Device, mc.ID, mc.Site)
	}
	for _, sc := range ecfg.Sites {
		add(sc.TemperatureDevice, sc.ID+"-aussen", sc.ID)
		outdoor[sc.ID] = sc.TemperatureDevice
	}
	reg, err := device.NewRegistry(devs)
	require.NoError(t, err)
	elec := ecfg.Meters[0].Device
	limit := peakLimit(t, col.ms, elec)

	start := col.ms[0].Time
	h := &harness{t: t, dir: t.TempDir(), clock: &clock{t: start}, dl: &downlinks{}}
	h.hook = newWebhook(t)
	cfg := h.testConfig(Config{RepeatInterval: 10000 * time.Hour, Receivers: []ReceiverConfig{{Name: "hook", Type: "webhook"}},
		DefaultReceivers: []string{"hook"}, Rules: []RuleConfig{
			{Name: "lastspitze", Kind: KindPeakLoad, LimitKW: limit, Select: Select{Devices: []string{elec}}},
			{Name: "verschwendung", Kind: KindEnergyWaste},
		}})
	h.opts = Options{Config: cfg, Devices: reg, Sites: sites, Now: h.clock.Now, OutdoorSensors: outdoor}
	h.start()
	t.Cleanup(h.stop)
	for i := 0; i < len(col.ms); {
		j := i
		// One batch per reading time, as uplinks arrive: an alert that
		// fired and resolved within one batch would never be sent.
		for j < len(col.ms) && col.ms[j].Time.Equal(col.ms[i].Time) {
			j++
		}
		h.feed(col.ms[i:j]...)
		i = j
	}
	h.drain()
	heat := ecfg.Meters[2*3+1].Device // third building's heating meter
	assert.Equal(t, []string{
		"firing warnung lastspitze/" + elec, "resolved warnung lastspitze/" + elec,
		"firing warnung verschwendung/" + heat + ":heating_without_use", "resolved warnung verschwendung/" + heat + ":heating_without_use",
	}, h.hook.notes())
	as := byReceiver(h.hook, "hook")
	require.Len(t, as, 4)
	assert.Contains(t, as[0].Info["quarter"], "2026-03-10 09:45")
	assert.Equal(t, "2026-12-25", as[2].Info["day"])
	assert.Equal(t, "1. Weihnachtstag", as[2].Info["day_name"])
}

// peakLimit puts the contract limit between the highest and the second
// highest 15-minute mean of the meter: only the demo peak passes it.
func peakLimit(t *testing.T, ms []measurement.Measurement, dev string) float64 {
	var kw []float64
	var last *measurement.Measurement
	for i := range ms {
		m := &ms[i]
		if m.Device != dev || m.Quantity != measurement.EnergyActiveImport {
			continue
		}
		if last != nil {
			kw = append(kw, (m.Value-last.Value)/m.Time.Sub(last.Time).Hours())
		}
		last = m
	}
	require.Greater(t, len(kw), 30000)
	slices.Sort(kw)
	top, second := kw[len(kw)-1], kw[len(kw)-2]
	require.Greater(t, top, 1.5*second, "the peak stands out")
	return (top + second) / 2
}
