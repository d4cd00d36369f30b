package alert

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

func TestNextBand(t *testing.T) {
	co2 := []bandL{{1000, 800, LevelWarnung}, {2000, 1800, LevelAlarm}}
	cold := []bandL{{0, 1, LevelWarnung}}
	tests := []struct {
		name  string
		bands []bandL
		below bool
		cur   int
		v     float64
		want  int
	}{
		{"below on", co2, false, -1, 999, -1},
		{"on", co2, false, -1, 1000, 0},
		{"straight to alarm", co2, false, -1, 2100, 1},
		{"alarm held above its off", co2, false, 1, 1900, 1},
		{"alarm down to warnung", co2, false, 1, 1700, 0},
		{"alarm to none", co2, false, 1, 700, -1},
		{"warnung held at 801", co2, false, 0, 801, 0},
		{"warnung off at 800", co2, false, 0, 800, -1},
		{"below: on at 0", cold, true, -1, 0, 0},
		{"below: held at 0.9", cold, true, 0, 0.9, 0},
		{"below: off at 1", cold, true, 0, 1, -1},
		{"below: not on at 0.5", cold, true, -1, 0.5, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, nextBand(tt.bands, tt.below, tt.cur, tt.v))
		})
	}
}

// rulesHarness runs one rule against a webhook receiver.
func rulesHarness(t *testing.T, r RuleConfig, start time.Time, mod ...func(*Options)) *harness {
	cfg := Config{RepeatInterval: 100 * time.Hour, Receivers: []ReceiverConfig{{Name: "hook", Type: "webhook"}},
		DefaultReceivers: []string{"hook"}, Rules: []RuleConfig{r}}
	return newHarness(t, cfg, "winter-night,building-meters", start, mod...)
}

func TestAirQualityExceedanceDays(t *testing.T) {
	start := time.Date(2026, 1, 12, 0, 0, 0, 0, cet)
	h := rulesHarness(t, RuleConfig{Name: "pm10", Kind: KindAirQuality, Quantity: "pm10", AllowedPerYear: 2}, start)
	dev := eui(sim.Devices("winter-night")[2])
	// Daily means 60, 40, 70 (20 h of data), 55 (only 10 h: not counted), 80.
	days := []struct {
		mean  float64
		hours int
	}{{60, 24}, {40, 24}, {70, 20}, {55, 10}, {80, 24}, {10, 24}}
	for d, day := range days {
		for i := 0; i < day.hours*6; i++ {
			v := day.mean + float64(i%3-1)*5
			h.feed(m(dev, measurement.PM10, v, start.AddDate(0, 0, d).Add(time.Duration(i)*10*time.Minute)))
		}
	}
	h.tick(start.AddDate(0, 0, len(days)).Add(time.Hour))
	h.drain()
	var got []string
	for _, a := range byReceiver(h.hook, "hook") {
		got = append(got, a.Notification+" "+a.Level.String()+" "+strings.TrimSuffix(a.Info["period_start"], "T00:00:00+01:00"))
	}
	assert.Equal(t, []string{
		"firing warnung 2026-01-12",   // day 1 > 50
		"resolved warnung 2026-01-13", // day 2 40
		"firing warnung 2026-01-14",   // day 3 (20 h >= 18 h)
		// day 4: coverage too low, no verdict; day 5: 3rd exceedance > 2 allowed
		"firing alarm 2026-01-16",
		"resolved alarm 2026-01-17",
	}, got)
	as := h.e.List(Filter{Rule: "pm10"})
	require.Len(t, as, 1)
	assert.Equal(t, 3.0, as[0].Values["exceedances"])
}

func TestBurstFlagBatteryRate(t *testing.T) {
	start := time.Date(2026, 1, 12, 10, 0, 0, 0, cet)
	meter := eui(sim.Devices("building-meters")[2])
	t.Run("burst after 30 min above 20 % of q3", func(t *testing.T) {
		h := rulesHarness(t, RuleConfig{Name: "burst", Kind: KindBurst, NominalM3H: 2.5, Quantity: "volume_flow"}, start)
		// 0.6 m3/h > 0.5 m3/h from 10:10 on; firing at 10:40; 0.45 is above the 0.4 off value.
		for i, v := range []float64{0.1, 0.6, 0.6, 0.6, 0.6, 0.45, 0.3} {
			h.feed(m(meter, measurement.VolumeFlow, v, start.Add(time.Duration(i)*10*time.Minute)))
		}
		h.drain()
		as := byReceiver(h.hook, "hook")
		require.Len(t, as, 2)
		assert.Equal(t, start.Add(40*time.Minute), as[0].FiringSince.In(cet))
		assert.Equal(t, LevelAlarm, as[0].Level)
		assert.Equal(t, start.Add(60*time.Minute), as[1].ResolvedAt.In(cet))
	})
	t.Run("meter flags", func(t *testing.T) {
		h := rulesHarness(t, RuleConfig{Name: "flags", Kind: KindFlag}, start)
		h.feed(m(meter, measurement.LeakAlarm, 0, start), m(meter, measurement.TamperAlarm, 1, start))
		h.feed(m(meter, measurement.LeakAlarm, 1, start.Add(time.Hour)), m(meter, measurement.TamperAlarm, 0, start.Add(time.Hour)))
		h.drain()
		assert.Equal(t, []string{
			"firing warnung flags/" + meter + ":tamper_alarm",
			"firing alarm flags/" + meter + ":leak_alarm",
			"resolved warnung flags/" + meter + ":tamper_alarm",
		}, h.hook.notes())
	})
	t.Run("battery", func(t *testing.T) {
		h := rulesHarness(t, RuleConfig{Name: "bat", Kind: KindBattery, VoltageBelow: 3.0}, start)
		h.feed(m(meter, measurement.BatteryVoltage, 3.05, start))
		h.feed(m(meter, measurement.BatteryVoltage, 2.98, start.Add(time.Hour)))
		h.feed(m(meter, measurement.BatteryVoltage, 3.05, start.Add(2*time.Hour))) // within 0.1 V hysteresis
		h.drain()
		assert.Equal(t, []string{"firing info bat/" + meter + ":battery_voltage"}, h.hook.notes())
	})
	t.Run("rate of change", func(t *testing.T) {
		h := rulesHarness(t, RuleConfig{Name: "drop", Kind: KindRate, Quantity: "road_surface_temperature", Direction: "below",
			On: ptr(-2), Off: ptr(-1), Window: time.Hour}, start)
		for i, v := range []float64{5, 4.9, 4.7, 4.0, 3.2, 2.5, 2.0, 1.8, 1.7, 1.7} {
			h.feed(m(meter, measurement.RoadSurfaceTemperature, v, start.Add(time.Duration(i)*15*time.Minute)))
		}
		h.drain()
		notes := byReceiver(h.hook, "hook")
		require.Len(t, notes, 2)
		assert.LessOrEqual(t, notes[0].Value, -2.0)
		assert.Equal(t, "resolved", notes[1].Notification)
	})
}

type gateways struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (g *gateways) GatewaysLastSeen() map[string]time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]time.Time{}
	for k, v := range g.seen {
		out[k] = v
	}
	return out
}

type disk struct{ used int64 }

func (d *disk) DiskUsage() int64 { return d.used }

func TestGatewayOfflineAndDisk(t *testing.T) {
	start := time.Date(2026, 1, 12, 10, 0, 0, 0, cet)
	gw := &gateways{seen: map[string]time.Time{"4c45534947570001": start, "4c45534947570002": start}}
	dk := &disk{used: 50}
	cfg := Config{RepeatInterval: 100 * time.Hour, Receivers: []ReceiverConfig{{Name: "hook", Type: "webhook"}}, DefaultReceivers: []string{"hook"},
		Rules: []RuleConfig{{Name: "gw", Kind: KindGateway, OfflineAfter: 5 * time.Minute}, {Name: "disk", Kind: KindDisk}}}
	h := newHarness(t, cfg, "winter-night", start, func(o *Options) { o.Gateways, o.Disk, o.DiskBudget = gw, dk, 100 })
	h.tick(start.Add(4 * time.Minute))
	gw.mu.Lock()
	gw.seen["4c45534947570002"] = start.Add(5 * time.Minute)
	gw.mu.Unlock()
	dk.used = 92
	h.tick(start.Add(6 * time.Minute))
	dk.used = 88 // within the 5-point hysteresis
	h.tick(start.Add(7 * time.Minute))
	dk.used = 80
	gw.mu.Lock()
	gw.seen["4c45534947570001"] = start.Add(8 * time.Minute)
	gw.mu.Unlock()
	h.tick(start.Add(8 * time.Minute))
	h.drain()
	assert.Equal(t, []string{
		"firing info disk/store",
		"firing info gw/4c45534947570001",
		"resolved info disk/store",
		"resolved info gw/4c45534947570001",
	}, h.hook.notes())
	assert.Contains(t, byReceiver(h.hook, "hook")[1].Title, "Gateway offline – Gateway 4c45534947570001")
}

func TestObserveNeverBlocks(t *testing.T) {
	start := time.Date(2026, 1, 12, 10, 0, 0, 0, cet)
	cfg := Config{QueueSize: 2, Rules: []RuleConfig{{Name: "co2", Kind: KindCO2}}}
	h := newHarness(t, cfg, "school-day", start)
	h.stop() // nobody drains the queue
	t.Cleanup(func() { h.cancel = nil })
	for range 5 {
		h.e.Observe([]measurement.Measurement{m("x", measurement.CO2, 1, start)})
	}
	assert.Len(t, h.e.queue, 2)
}

// group_by route with group_wait: two stations of one gritting route that
// reach Vorwarnung 10 min apart arrive in one message.
func TestGroupByRouteWithGroupWait(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	cfg := Config{GroupBy: "route", GroupWait: 15 * time.Minute, RepeatInterval: 100 * time.Hour,
		Receivers: []ReceiverConfig{{Name: "hook", Type: "webhook"}}, DefaultReceivers: []string{"hook"},
		Rules: []RuleConfig{{Name: "frost", Kind: KindThreshold, Quantity: "air_temperature", Direction: "below", On: ptr(0), Off: ptr(1), Level: "vorwarnung"}}}
	gw := GatewaysFunc(func() map[string]time.Time { return nil })
	h := newHarness(t, cfg, "winter-night", start, func(o *Options) { o.Gateways = gw })
	devs := sim.Devices("winter-night")
	h.feed(m(eui(devs[0]), measurement.AirTemperature, -0.5, start))
	h.tick(start.Add(5 * time.Minute))
	h.feed(m(eui(devs[2]), measurement.AirTemperature, -0.2, start.Add(10*time.Minute)))
	h.tick(start.Add(14 * time.Minute))
	assert.Empty(t, h.hook.messages(), "held for group_wait")
	h.tick(start.Add(16 * time.Minute))
	h.drain()
	msgs := h.hook.messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "route:Nord", msgs[0].GroupKey)
	assert.Len(t, msgs[0].Alerts, 2)
	assert.Contains(t, msgs[0].Title, "2 Meldungen")
	h.tick(start.Add(40 * time.Minute))
	h.drain()
	assert.Len(t, h.hook.messages(), 1, "no repeat, no duplicate")
}
