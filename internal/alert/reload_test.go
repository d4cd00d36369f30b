package alert

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/ice"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// tempConfig: rule "temp" warns when the air at the bridge station goes
// below on (0 degC) and clears above off (1 degC).
func tempConfig(on, off float64, extra ...RuleConfig) Config {
	return Config{
		RepeatInterval:   100 * time.Hour,
		Receivers:        []ReceiverConfig{{Name: "hook", Type: "webhook"}},
		DefaultReceivers: []string{"hook"},
		Rules: append([]RuleConfig{{Name: "temp", Kind: KindThreshold, Quantity: string(measurement.AirTemperature),
			Direction: "below", On: ptr(on), Off: ptr(off)}}, extra...),
	}
}

func ruleNames(e *Engine) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, r := range e.rules {
		out = append(out, r.cfg.Name)
	}
	return out
}

// A kept rule keeps its firing alert (no new notification) and, with
// changed thresholds, its hysteresis band; a new rule evaluates at once; a
// removed rule's alert is resolved quietly and goes after the retention.
func TestReloadKeepsChangesAndRemovesRules(t *testing.T) {
	t0 := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, tempConfig(0, 1), "winter-night", t0)
	dev := eui(sim.Devices("winter-night")[0])
	id := "temp/" + dev + ":air_temperature"

	h.feed(m(dev, measurement.AirTemperature, -1, t0))
	h.drain()
	require.Equal(t, []string{"firing warnung " + id}, h.hook.notes())
	before := h.e.List(Filter{Rule: "temp"})
	require.Len(t, before, 1)

	// Thresholds moved (on -0.5, off 1.5) and a new rule on the surface.
	hot := RuleConfig{Name: "hot", Kind: KindThreshold, Quantity: string(measurement.RoadSurfaceTemperature), On: ptr(5), Off: ptr(4)}
	require.NoError(t, h.reload(tempConfig(-0.5, 1.5, hot)))
	assert.Equal(t, []string{"temp", "hot"}, ruleNames(h.e))

	// 0.5 degC is no reason to warn under the new thresholds, but the
	// running warning holds until the air passes the off value (1.5).
	h.feed(m(dev, measurement.AirTemperature, 0.5, t0.Add(10*time.Minute)),
		m(dev, measurement.RoadSurfaceTemperature, 6, t0.Add(10*time.Minute)))
	h.tick(t0.Add(11 * time.Minute))
	h.drain()
	after := h.e.List(Filter{Rule: "temp"})
	require.Len(t, after, 1)
	assert.Equal(t, StateFiring, after[0].State, "hysteresis band carried over")
	assert.Equal(t, before[0].FiringSince, after[0].FiringSince)
	assert.Equal(t, 1, after[0].Notified)
	assert.Equal(t, []string{"firing warnung " + id, "firing warnung hot/" + dev + ":road_surface_temperature"}, h.hook.notes(),
		"the kept alert is not announced again; the new rule fires")

	// Remove "temp": its alert is resolved quietly and listed until the
	// retention ends; its data no longer counts.
	require.NoError(t, h.reload(tempConfig(0, 1, hot)), "same name, same kind")
	cfg := tempConfig(0, 1, hot)
	cfg.Rules = cfg.Rules[1:]
	require.NoError(t, h.reload(cfg))
	assert.Equal(t, []string{"hot"}, ruleNames(h.e))
	gone := h.e.List(Filter{Rule: "temp"})
	require.Len(t, gone, 1)
	assert.Equal(t, StateResolved, gone[0].State)
	assert.Equal(t, "config_reload", gone[0].Info["resolved_by"])
	h.feed(m(dev, measurement.AirTemperature, -5, t0.Add(20*time.Minute)))
	h.tick(t0.Add(21 * time.Minute))
	h.drain()
	assert.Len(t, h.hook.notes(), 2, "no all-clear, no new alert of the removed rule")

	// Survives a restart in the same state, then goes after the retention.
	h.opts.Config = h.testConfig(cfg)
	h.restart()
	require.NoError(t, h.reload(cfg))
	gone = h.e.List(Filter{Rule: "temp"})
	require.Len(t, gone, 1)
	assert.Equal(t, StateResolved, gone[0].State)
	h.tick(t0.Add(25 * time.Hour))
	assert.Empty(t, h.e.List(Filter{Rule: "temp"}))
	h.drain()
	assert.Len(t, h.hook.notes(), 2, "the retired alert went without a word")
	assert.Len(t, h.e.List(Filter{Rule: "hot", States: []State{StateFiring}}), 1, "the kept rule's alert survived")
}

// A rule that disappears while the daemon is down ends the same way.
func TestRestartRetiresAlertsOfRemovedRules(t *testing.T) {
	t0 := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, tempConfig(0, 1), "winter-night", t0)
	dev := eui(sim.Devices("winter-night")[0])
	h.feed(m(dev, measurement.AirTemperature, -1, t0))
	h.drain()
	h.opts.Config.Rules = nil
	h.restart()
	as := h.e.List(Filter{})
	require.Len(t, as, 1)
	assert.Equal(t, StateResolved, as[0].State)
	assert.Equal(t, "config_reload", as[0].Info["resolved_by"])
	h.tick(t0.Add(time.Hour))
	h.drain()
	assert.Len(t, h.hook.notes(), 1, "no all-clear")
}

func iceState(h *harness, rule, station string) (ice.TrackerState, *iceEval) {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	ev := h.e.ruleByName(rule).eval.(*iceEval)
	return ev.st[station].Tracker, ev
}

// Changing the ice rule's tuning in the middle of a winter night keeps the
// station's tracker (level, hysteresis, all-clear hold): the night reads
// exactly as without the reload, each level announced once, one all-clear.
func TestReloadKeepsIceTracker(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	cfg := winterConfig()
	h := newHarness(t, cfg, "winter-night", start)
	dev := eui(sim.Devices("winter-night")[0]) // k23-bridge
	reloadAt := time.Date(2026, 1, 13, 3, 0, 0, 0, cet)
	reloaded := false
	for i, t0 := 0, start; t0.Before(start.Add(20 * time.Hour)); i, t0 = i+1, t0.Add(10*time.Minute) {
		h.feed(roadReading(dev, t0, i)...)
		h.tick(t0.Add(time.Minute))
		if reloaded || t0.Before(reloadAt) {
			continue
		}
		reloaded = true
		h.drain()
		sent := len(h.hook.notes())
		firing := h.e.List(Filter{Rule: "glaette"})
		require.Len(t, firing, 1)
		require.Equal(t, StateFiring, firing[0].State)
		st, ev := iceState(h, "glaette", "k23-bridge")
		require.NotEqual(t, ice.LevelNone, st.Level)

		next := winterConfig()
		next.Rules[0].Ice.StaleAfter = 3 * time.Hour // a tuning change: a new evaluator takes over
		require.NoError(t, h.reload(next))
		st2, ev2 := iceState(h, "glaette", "k23-bridge")
		assert.NotSame(t, ev, ev2)
		j1, err := json.Marshal(st)
		require.NoError(t, err)
		j2, err := json.Marshal(st2)
		require.NoError(t, err)
		assert.JSONEq(t, string(j1), string(j2))
		h.tick(t0.Add(2 * time.Minute))
		h.drain()
		assert.Len(t, h.hook.notes(), sent, "nothing announced by the reload")
		again := h.e.List(Filter{Rule: "glaette"})
		require.Len(t, again, 1)
		assert.Equal(t, firing[0].FiringSince, again[0].FiringSince)
		assert.Equal(t, firing[0].Notified, again[0].Notified)
	}
	require.True(t, reloaded)
	h.drain()
	var firing []string
	resolved := 0
	for _, a := range byReceiver(h.hook, "winterdienst") {
		if a.Rule != "glaette" {
			continue
		}
		switch a.Notification {
		case "firing":
			firing = append(firing, a.Level.String())
		case "resolved":
			resolved++
		}
	}
	assert.Equal(t, []string{"vorwarnung", "warnung", "alarm"}, firing)
	assert.Equal(t, 1, resolved)
}

// A bad configuration changes nothing and names every problem.
func TestReloadRefusesBadConfig(t *testing.T) {
	t0 := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, tempConfig(0, 1), "winter-night", t0)
	dev := eui(sim.Devices("winter-night")[0])
	h.feed(m(dev, measurement.AirTemperature, -1, t0))
	h.drain()
	want := h.e.List(Filter{})

	tests := []struct {
		name string
		mod  func(*Config)
		errs []string
	}{
		{"several validation problems", func(c *Config) {
			c.GroupBy = "street"
			c.Rules = append(c.Rules, RuleConfig{Name: "x", Kind: "weather"}, RuleConfig{Name: "y", Kind: KindStale, Receivers: []string{"nobody"}})
		}, []string{`group_by: "street"`, `kind: "weather"`, `unknown receiver "nobody"`}},
		{"mqtt receiver without a publisher", func(c *Config) {
			c.Receivers = append(c.Receivers, ReceiverConfig{Name: "bus", Type: "mqtt"})
		}, []string{`"bus": mqtt needs a publisher`}},
		{"rules the engine cannot run", func(c *Config) {
			c.Rules = append(c.Rules, RuleConfig{Name: "gw", Kind: KindGateway}, RuleConfig{Name: "disk", Kind: KindDisk})
		}, []string{"gateway rule needs Options.Gateways", "disk rule needs Options.Disk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tempConfig(5, 6) // would change temp
			tt.mod(&cfg)
			err := h.reload(cfg)
			require.Error(t, err)
			for _, s := range tt.errs {
				assert.ErrorContains(t, err, s)
			}
			assert.Equal(t, err.Error(), h.e.CheckConfig(h.testConfig(cfg)).Error())
			assert.Equal(t, []string{"temp"}, ruleNames(h.e))
			h.e.mu.Lock()
			assert.Equal(t, "site", h.e.cfg.GroupBy)
			assert.Equal(t, 0.0, h.e.rules[0].eval.(*thresholdEval).bands[0].on)
			h.e.mu.Unlock()
			assert.Equal(t, want, h.e.List(Filter{}))
		})
	}
	require.NoError(t, h.e.CheckConfig(h.testConfig(tempConfig(5, 6))))
}

// Reloads while measurements flow through Observe and Run and the clock
// ticks: no race, no panic, and the notification waiting in the durable
// queue for a receiver that is down arrives once it is up, exactly once.
func TestReloadWhileMeasurementsFlow(t *testing.T) {
	t0 := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, tempConfig(0, 1), "winter-night", t0)
	devs := sim.Devices("winter-night")
	dev := eui(devs[0])
	id := "temp/" + dev + ":air_temperature"
	h.hook.down.Store(true)
	h.feed(m(dev, measurement.AirTemperature, -1, t0))
	require.Equal(t, 1, h.e.Pending())

	// B keeps "temp" as it is (routing changes only), changes the
	// receiver, grouping, timezone and eval interval, and adds a rule.
	b := tempConfig(0, 1, RuleConfig{Name: "hot", Kind: KindThreshold, Quantity: string(measurement.RoadSurfaceTemperature), On: ptr(50), Off: ptr(40)},
		RuleConfig{Name: "stale", Kind: KindStale})
	b.Rules[0].RepeatInterval = 200 * time.Hour
	b.Rules[0].Select = Select{Profiles: []string{sim.ProfileRoadStation}}
	b.Receivers[0].Headers = map[string]string{"X-Reload": "b"}
	b.GroupBy, b.Timezone, b.EvalInterval = "route", "UTC", 5*time.Millisecond
	configs := []Config{b, tempConfig(0, 1)}

	const batches = 400
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := range batches {
			at := t0.Add(time.Duration(i+1) * time.Minute)
			var ms []measurement.Measurement
			for _, d := range devs {
				ms = append(ms, m(eui(d), measurement.AirTemperature, -1-float64(i%3)/10, at),
					m(eui(d), measurement.RoadSurfaceTemperature, -2, at))
			}
			h.e.Observe(ms)
			if i%16 == 0 {
				time.Sleep(time.Millisecond) // let Run keep up: a full queue would drop batches
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 60 {
			assert.NoError(t, h.reload(configs[i%2]))
			_ = h.e.List(Filter{})
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 60 {
			h.tick(t0.Add(time.Duration(i) * time.Minute))
		}
	}()
	wg.Wait()
	require.NoError(t, h.reload(tempConfig(0, 1)))
	require.Eventually(t, func() bool { return len(h.e.queue) == 0 }, 10*time.Second, time.Millisecond)

	h.hook.down.Store(false)
	h.drain()
	var mine []string
	for _, n := range h.hook.notes() {
		if slices.Contains([]string{"firing warnung " + id, "repeat warnung " + id}, n) {
			mine = append(mine, n)
		}
	}
	assert.Equal(t, []string{"firing warnung " + id}, mine, "the queued notification arrived once and was not repeated")
	a := h.e.List(Filter{Rule: "temp", Matchers: []Matcher{{Label: "device", Value: dev}}})
	require.Len(t, a, 1)
	assert.Equal(t, StateFiring, a[0].State)
	assert.Equal(t, 1, a[0].Notified)
}
