package alert

import (
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
)

const (
	gaugeDev = "4c4553494dff0001"
	doorIn   = "4c4553494dff0002"
	doorOut  = "4c4553494dff0003"
)

// civilSites puts a gauge sensor on the Rur and two counters at an event
// area, in place of the harness's scenario.
func civilSites(t testing.TB) func(*Options) {
	return func(o *Options) {
		var devs []device.Device
		for i, e := range []string{gaugeDev, doorIn, doorOut} {
			var id lorawan.EUI64
			require.NoError(t, id.UnmarshalText([]byte(e)))
			d := device.Device{DevEUI: id, Name: e, Activation: device.OTAA, Class: device.ClassA, MACVersion: "1.0.3",
				Profile: "milesight/vs133", Site: "fest", AppKey: lorawan.AES128Key{1}}
			if i == 0 {
				d.Profile, d.Site = "dragino/ldds75", "pegel-a"
			}
			devs = append(devs, d)
		}
		reg, err := device.NewRegistry(devs)
		require.NoError(t, err)
		o.Devices = reg
		o.Sites = []site.Site{
			{ID: "pegel-a", Name: "Pegel Altstadt", Kind: site.Gauge, GaugeSite: site.GaugeSite{River: "Rur", MountingHeight: 6}},
			{ID: "fest", Name: "Festplatz", Kind: site.Area, Capacity: 100},
		}
	}
}

func civilHarness(t *testing.T, r RuleConfig, start time.Time, lang string) *harness {
	cfg := Config{RepeatInterval: 100 * time.Hour, Language: lang, Receivers: []ReceiverConfig{{Name: "hook", Type: "webhook"}},
		DefaultReceivers: []string{"hook"}, Rules: []RuleConfig{r}}
	return newHarness(t, cfg, "", start, civilSites(t))
}

var iw = []StageConfig{{Level: 2}, {Level: 3}, {Level: 4}}

func level(v float64, at time.Time) measurement.Measurement {
	ms := m(gaugeDev, measurement.WaterLevel, v, at)
	ms.Meta = map[string]string{"site": "pegel-a"}
	return ms
}

// A flood wave rising 20 cm/h from 1 m to 4.2 m and falling again: IW1,
// IW2, IW3 in order, each message with the forecast of the next stage
// (the trend is exactly linear, so the lead is exact: 5 h), then the
// all-clear 30 min after the level fell below IW1 minus the hysteresis.
func TestWaterLevelStagesForecastAllClear(t *testing.T) {
	start := time.Date(2026, 7, 14, 0, 0, 0, 0, cet)
	h := civilHarness(t, RuleConfig{Name: "pegel", Kind: KindWaterLevel, WaterLevel: WaterLevelConfig{Stages: iw}}, start, "de")
	step := 15 * time.Minute
	var at time.Time
	i := 0
	// In whole centimetres, so that the thresholds are met exactly.
	for cm := 100; cm <= 420; cm += 5 {
		at = start.Add(time.Duration(i) * step)
		h.feed(level(float64(cm)/100, at))
		i++
	}
	// At the peak (4.20 m at +16 h): IW3 in force, rising 20 cm/h, no stage above.
	gv := h.e.Gauges()
	require.Len(t, gv, 1)
	assert.Equal(t, "pegel-a", gv[0].Site)
	assert.Equal(t, "IW3", gv[0].Stage)
	require.NotNil(t, gv[0].Level)
	assert.InDelta(t, 4.2, *gv[0].Level, 1e-9)
	require.NotNil(t, gv[0].Rate)
	assert.InDelta(t, 20, *gv[0].Rate, 0.01)
	assert.Empty(t, gv[0].NextStage)
	assert.Equal(t, []StageView{{"IW1", 2, LevelVorwarnung}, {"IW2", 3, LevelWarnung}, {"IW3", 4, LevelAlarm}}, gv[0].Stages)
	for cm := 415; cm >= 100; cm -= 5 {
		at = start.Add(time.Duration(i) * step)
		h.feed(level(float64(cm)/100, at))
		i++
	}
	h.drain()
	as := byReceiver(h.hook, "hook")
	require.Len(t, as, 6, "%v", h.hook.notes())
	want := []struct {
		stage string
		level Level
		at    time.Duration
	}{{"IW1", LevelVorwarnung, 5 * time.Hour}, {"IW2", LevelWarnung, 10 * time.Hour}, {"IW3", LevelAlarm, 15 * time.Hour}}
	for k, w := range want {
		a := as[k]
		assert.Equal(t, w.stage, a.Info["stage"])
		assert.Equal(t, w.level, a.Level)
		assert.WithinDuration(t, start.Add(w.at), a.ObservedAt, time.Second)
		assert.Equal(t, "Rur", a.Labels["river"])
		assert.Equal(t, "Pegel Altstadt", a.Info["gauge"])
		assert.InDelta(t, 20, a.Values["rate_cm_h"], 0.01)
		if k < 2 {
			assert.Equal(t, want[k+1].stage, a.Info["next_stage"])
			assert.InDelta(t, 300, a.Values["forecast_in_min"], 1, "5 h to the next stage at 20 cm/h")
			assert.Contains(t, a.Text, "Prognose: "+want[k+1].stage)
			assert.Contains(t, a.Text, "in 5 h 0 min")
		} else {
			assert.Empty(t, a.Info["next_stage"], "no stage above IW3")
		}
		assert.Contains(t, a.Text, "Pegel: Pegel Altstadt, Gewässer Rur")
		assert.Contains(t, a.Text, "Stufe: "+w.stage)
		assert.Contains(t, a.Text, "Anstieg: 20,0 cm/h (steigend)")
	}
	// At IW1 the view forecast IW2 5 h ahead, as the message did.
	assert.Equal(t, start.Add(10*time.Hour).UTC(), mustTime(t, as[0].Info["forecast_time"]))
	// Falling: IW3 -> IW2 -> IW1 as the level passes each threshold minus
	// 5 cm, then the all-clear.
	assert.Equal(t, "IW2", as[3].Info["stage"])
	assert.Equal(t, "IW1", as[4].Info["stage"])
	last := as[5]
	assert.Equal(t, "resolved", last.Notification)
	assert.Equal(t, "true", last.Info["all_clear"])
	assert.Contains(t, last.Title, "Entwarnung")
	assert.Contains(t, last.Text, "ENTWARNUNG")
	// Below 1.95 m at 1.90 (level 1.90 after the peak), held 30 min.
	assert.Less(t, last.Values["level_m"], 1.95)
}

// Readings around a threshold do not flap; a marked reading never raises;
// a silent gauge gets its own alert and holds the warning.
func TestWaterLevelHysteresisInvalidStale(t *testing.T) {
	start := time.Date(2026, 7, 14, 0, 0, 0, 0, cet)
	h := civilHarness(t, RuleConfig{Name: "pegel", Kind: KindWaterLevel,
		WaterLevel: WaterLevelConfig{Gauges: []GaugeStages{{Site: "pegel-a", Stages: []StageConfig{{Name: "I", Level: 2}, {Name: "II", Level: 3}}}}}}, start, "en")
	spike := level(3.5, start)
	spike.Meta["quality"] = "invalid"
	h.feed(spike)
	for i, v := range []float64{2.01, 1.97, 2.02, 1.96, 2.0} {
		h.feed(level(v, start.Add(time.Duration(i+1)*10*time.Minute)))
	}
	h.tick(start.Add(3 * time.Hour))
	h.drain()
	as := byReceiver(h.hook, "hook")
	require.Len(t, as, 2, "%v", h.hook.notes())
	assert.Equal(t, "I", as[0].Info["stage"])
	assert.Equal(t, LevelWarnung, as[0].Level, "the lower of two stages is a warning")
	assert.Equal(t, "pegel/pegel-a:stale", as[1].ID)
	assert.Equal(t, LevelWarnung, as[1].Level, "a silent gauge under a warning is a warning")
	assert.Contains(t, as[1].Text, "this is no all-clear")
	list := h.e.List(Filter{States: []State{StateFiring}})
	require.Len(t, list, 2)
	for _, a := range list {
		if a.ID == "pegel/pegel-a" {
			assert.Equal(t, "true", a.Info["data_missing"])
		}
	}
}

func TestWaterLevelConfigChecks(t *testing.T) {
	c := Config{Rules: []RuleConfig{
		{Name: "a", Kind: KindWaterLevel},
		{Name: "b", Kind: KindWaterLevel, WaterLevel: WaterLevelConfig{Stages: []StageConfig{{Level: 3}, {Level: 2}, {Level: 4, Alert: "loud"}},
			Gauges: []GaugeStages{{Site: "x"}, {Site: "x", Stages: []StageConfig{{Level: 1}, {Level: 2}, {Level: 3}, {Level: 4}, {Level: 5}}}}}},
		{Name: "c", Kind: KindCrowd, Crowd: CrowdConfig{ResetAt: "25:00", ClearShare: 1.5, MaxInflow: -1}},
	}}
	err := c.Validate()
	require.Error(t, err)
	for _, s := range []string{
		"alert.rules[0].water_level: give stages or gauges",
		"alert.rules[1].water_level.stages[1].level_m: 2 must be above the stage before (3)",
		"alert.rules[1].water_level.stages[2].alert_level: unknown level",
		"alert.rules[1].water_level.gauges[0].stages: required",
		`alert.rules[1].water_level.gauges[1].site: "x" listed twice`,
		"alert.rules[1].water_level.gauges[1].stages: at most 4 stages, got 5",
		`alert.rules[2].crowd.reset_at: "25:00" is not a time of day`,
		"alert.rules[2].crowd.clear_share: 1.5 is outside 0..1",
		"alert.rules[2].crowd: limits must not be negative",
	} {
		assert.Contains(t, err.Error(), s)
	}
	assert.Equal(t, []Level{LevelVorwarnung, LevelVorwarnung, LevelWarnung, LevelAlarm},
		levelsOf(resolveStages([]StageConfig{{}, {}, {}, {}})))
	assert.Equal(t, []Level{LevelWarnung}, levelsOf(resolveStages([]StageConfig{{}})))
}

func levelsOf(ss []stage) []Level {
	var out []Level
	for _, s := range ss {
		out = append(out, s.alert)
	}
	return out
}

func people(dev string, q measurement.Quantity, v float64, at time.Time) measurement.Measurement {
	ms := m(dev, q, v, at)
	ms.Channel = 1
	return ms
}

// Counters in and out at the gates: occupancy over the area's capacity
// raises and, below 90 %, resolves; inflow over its limit likewise; the
// 04:00 reset starts the count again although the counters drifted.
func TestCrowdOccupancyInflowReset(t *testing.T) {
	start := time.Date(2026, 7, 14, 18, 0, 0, 0, cet)
	h := civilHarness(t, RuleConfig{Name: "fest", Kind: KindCrowd, Crowd: CrowdConfig{MaxInflow: 10}}, start, "de")
	in, out := 0.0, 0.0
	feed := func(min int, din, dout float64) {
		in += din
		out += dout
		at := start.Add(time.Duration(min) * time.Minute)
		h.feed(people(doorIn, measurement.PeopleIn, in, at), people(doorOut, measurement.PeopleOut, out, at))
	}
	feed(0, 0, 0)    // baseline
	feed(5, 40, 0)   // 40 inside, 8/min
	feed(10, 70, 5)  // 105 inside (> 100), 14/min (> 10)
	feed(15, 10, 10) // 105, inflow 2/min: inflow resolves below 9/min
	feed(20, 0, 20)  // 85 < 90: occupancy resolves
	feed(25, 30, 0)  // 115 > 100 again
	h.tick(start.Add(11 * time.Hour))
	h.drain()
	as := byReceiver(h.hook, "hook")
	var notes []string
	for _, a := range as {
		notes = append(notes, a.Notification+" "+a.ID)
	}
	require.Len(t, notes, 6)
	// Both start in one evaluation.
	assert.ElementsMatch(t, []string{"firing fest/fest:occupancy", "firing fest/fest:inflow"}, notes[:2])
	assert.Equal(t, []string{
		"resolved fest/fest:inflow", "resolved fest/fest:occupancy",
		"firing fest/fest:occupancy", "resolved fest/fest:occupancy",
	}, notes[2:])
	byID := map[string]notify.WebhookAlert{}
	for _, a := range as[:2] {
		byID[a.ID] = a
	}
	occ, flow := byID["fest/fest:occupancy"], byID["fest/fest:inflow"]
	assert.InDelta(t, 105, occ.Values["occupancy"], 1e-9)
	assert.InDelta(t, 100, occ.Values["max_occupancy"], 1e-9, "the area's capacity")
	assert.InDelta(t, 14, flow.Values["inflow_per_min"], 1e-9)
	assert.Contains(t, occ.Text, "Bereich: Festplatz")
	assert.Contains(t, occ.Title, "Überfüllung: 105 Personen")
	assert.Contains(t, flow.Title, "Zustrom 14 Personen/min")
	// After the 04:00 reset the area counts from zero: 101 more is 101,
	// not the 115 of yesterday plus 101.
	assert.InDelta(t, 0, as[5].Values["occupancy"], 1e-9)
	av := h.e.Areas()
	require.Len(t, av, 1)
	assert.Equal(t, 100, av[0].MaxOccupancy)
	assert.InDelta(t, 0, av[0].Occupancy, 1e-9)
	require.Len(t, av[0].History, 7, "one point per evaluation")
	assert.InDelta(t, 105, av[0].History[2].V, 1e-9)
	feed(11*60+5, 101, 0)
	h.drain()
	as = byReceiver(h.hook, "hook")
	require.Len(t, as, 8, "occupancy and inflow fire again")
	for _, a := range as[6:] {
		assert.Equal(t, "firing", a.Notification)
		assert.InDelta(t, 101, a.Values["occupancy"], 1e-9)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

func TestCivilRefsChecked(t *testing.T) {
	c := Config{Rules: []RuleConfig{
		{Name: "a", Kind: KindWaterLevel, WaterLevel: WaterLevelConfig{Gauges: []GaugeStages{{Site: "pegel-a"}, {Site: "nope"}, {Site: "fest"}}}},
		{Name: "b", Kind: KindCrowd, Crowd: CrowdConfig{Areas: []AreaLimits{{Site: "fest"}, {Site: "pegel-a"}}}},
	}}
	o := &Options{}
	civilSites(t)(o)
	err := c.ValidateRefs(o.Sites)
	require.Error(t, err)
	assert.Equal(t, `alert.rules[0].water_level.gauges[1].site: unknown site "nope"`+"\n"+
		`alert.rules[0].water_level.gauges[2].site: site "fest" is of kind area, not gauge`+"\n"+
		`alert.rules[1].crowd.areas[1].site: site "pegel-a" is of kind gauge, not area`, err.Error())
}

// The gauge's stage, window and the area's counters survive a restart:
// the level keeps rising into IW2 without a second IW1, the counters go on
// from their baselines.
func TestCivilStateSurvivesRestart(t *testing.T) {
	start := time.Date(2026, 7, 14, 12, 0, 0, 0, cet) // far from the 04:00 reset
	cfg := Config{RepeatInterval: 100 * time.Hour, Receivers: []ReceiverConfig{{Name: "hook", Type: "webhook"}}, DefaultReceivers: []string{"hook"},
		Rules: []RuleConfig{{Name: "pegel", Kind: KindWaterLevel, WaterLevel: WaterLevelConfig{Stages: iw}}, {Name: "fest", Kind: KindCrowd}}}
	h := newHarness(t, cfg, "", start, civilSites(t))
	at := func(i int) time.Time { return start.Add(time.Duration(i) * 10 * time.Minute) }
	for i := range 13 { // 1.90 .. 2.50 m
		h.feed(level(1.9+0.05*float64(i), at(i)))
	}
	h.feed(people(doorIn, measurement.PeopleIn, 10, at(12)), people(doorOut, measurement.PeopleOut, 5, at(12)))
	h.feed(people(doorIn, measurement.PeopleIn, 90, at(13)), people(doorOut, measurement.PeopleOut, 5, at(13)))
	h.drain()
	h.restart()
	gv := h.e.Gauges()
	require.Len(t, gv, 1)
	assert.Equal(t, "IW1", gv[0].Stage)
	require.NotNil(t, gv[0].Rate, "the window came back")
	assert.InDelta(t, 30, *gv[0].Rate, 0.01)
	for i := 14; i <= 24; i++ { // up to 3.10 m
		h.feed(level(1.9+0.05*float64(i), at(i)))
	}
	h.feed(people(doorIn, measurement.PeopleIn, 120, at(24)), people(doorOut, measurement.PeopleOut, 5, at(24)))
	h.drain()
	var stages []string
	for _, a := range byReceiver(h.hook, "hook") {
		if a.Rule == "pegel" {
			stages = append(stages, a.Notification+":"+a.Info["stage"])
		}
	}
	assert.Equal(t, []string{"firing:IW1", "firing:IW2"}, stages)
	av := h.e.Areas()
	require.Len(t, av, 1)
	assert.InDelta(t, 110, av[0].Occupancy, 1e-9, "counted from the first readings' baselines across the restart")
}
