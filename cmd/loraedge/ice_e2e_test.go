package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/sim"
)

// iceHook collects the ice alerts the daemon posts to its webhook.
type iceHook struct {
	mu     sync.Mutex
	alerts []notify.WebhookAlert
}

func (h *iceHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m notify.WebhookMessage
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.alerts = append(h.alerts, m.Alerts...)
	h.mu.Unlock()
}

func (h *iceHook) bySite() map[string][]notify.WebhookAlert {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string][]notify.WebhookAlert{}
	for _, a := range h.alerts {
		out[a.Labels["site"]] = append(out[a.Labels["site"]], a)
	}
	return out
}

// Issue 18 played as a winter-service engineer would: road-station readings
// every 15 min (GPS time) through the packet forwarder into the whole
// daemon with its real alert engine. Air +4 degC at 90 % (dew point +2.5,
// frost point +2.2 degC): a dry road at +1 degC and a moist road falling
// from +4 to +1.5 degC get dew, not ice, and raise no Alarm. A dry road at
// -1 degC under the same kind of air (frost point above FBT) does, with
// "Glätte vorhanden", not a "möglich" text. Stations with a freezing-point
// sensor (14-byte payload): a wet road at -1 degC well salted (Tg -5) is no
// Alarm; one whose brine is diluted to Tg -0.5 is.
func TestIceNoFalseAlarmAboveFreezing(t *testing.T) {
	hook := &iceHook{}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)

	type station struct {
		site     string
		readings []sim.RoadStationReading
	}
	dry := func(fbt, air, rh float64) sim.RoadStationReading {
		return sim.RoadStationReading{SurfaceTemp: fbt, AirTemp: air, RH: rh, SurfaceState: sim.SurfaceDry, BatteryVolts: 3.6}
	}
	moist := func(fbt float64) sim.RoadStationReading {
		return sim.RoadStationReading{SurfaceTemp: fbt, AirTemp: 4, RH: 90, SurfaceState: sim.SurfaceMoist, WaterFilmMM: 0.05, BatteryVolts: 3.6}
	}
	var stations []station
	s := station{site: "dry-plus1"}
	for range 8 {
		s.readings = append(s.readings, dry(1, 4, 90))
	}
	stations = append(stations, s)
	s = station{site: "moist-falling"}
	for _, v := range []float64{4, 3.5, 3, 2.5, 2, 1.5, 1.5, 1.5} {
		s.readings = append(s.readings, moist(v))
	}
	stations = append(stations, s)
	s = station{site: "dry-minus1"}
	for range 8 {
		s.readings = append(s.readings, dry(-1, 1, 95))
	}
	stations = append(stations, s)
	for _, b := range []struct {
		site string
		tg   float64
	}{{"wet-salted", -5}, {"wet-diluted", -0.5}} {
		s = station{site: b.site}
		for range 8 {
			s.readings = append(s.readings, sim.RoadStationReading{SurfaceTemp: -1, AirTemp: 1, RH: 90, SurfaceState: sim.SurfaceWet,
				WaterFilmMM: 0.2, BatteryVolts: 3.6, FreezingSensor: true, FreezingTemp: new(b.tg)})
		}
		stations = append(stations, s)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "loraedge.yaml")
	nwk := lorawan.AES128Key{0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c}
	app := lorawan.AES128Key{0x3c, 0x4f, 0xcf, 0x09, 0x88, 0x15, 0xf7, 0xab, 0xa6, 0xd2, 0xae, 0x28, 0x16, 0x15, 0x7e, 0x2b}
	// The readings are dated up to two hours back: no host-clock check.
	cfg := fmt.Sprintf(`udp:
  gps_time: {ignore_host_clock: true}
alert:
  enabled: true
  eval_interval: 50ms
  retry_min: 10ms
  retry_max: 100ms
  receivers: [{name: meisterei, type: webhook, url: "%s"}]
  default_receivers: [meisterei]
  rules: [{name: glaette, kind: ice}]
sites:
`, srv.URL)
	for i, st := range stations {
		cfg += fmt.Sprintf("  - {id: %s, name: Station %d, kind: road, road: K 23, km: %d}\n", st.site, i, i)
	}
	cfg += "devices:\n"
	for i, st := range stations {
		cfg += fmt.Sprintf("  - {dev_eui: \"70b3d57ed00001%02x\", activation: abp, profile: generic/road-station, site: %s, dev_addr: \"260118%02x\", nwk_s_key: \"%s\", app_s_key: \"%s\"}\n",
			i, st.site, i, nwk, app)
	}
	require.NoError(t, os.WriteFile(file, []byte(cfg), 0o600))

	d := startDaemon(t, file, dir)
	defer d.stop()
	gw := newGateway(t, d.udpAddr, lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 1})
	start := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Hour)
	n := 0
	for k := range 8 {
		at := start.Add(time.Duration(k) * 15 * time.Minute)
		for i, st := range stations {
			addr := lorawan.DevAddr{0x26, 0x01, 0x18, byte(i)}
			gw.pushAt(abpFrame(t, addr, nwk, app, uint32(k+1), sim.EncodeRoadStation(st.readings[k])), at)
			n++
			d.waitMetric(`loraedge_ingest_uplinks_total{result="stored"}`, float64(n))
		}
	}

	require.Eventually(t, func() bool {
		n := 0
		for _, site := range []string{"dry-minus1", "wet-diluted"} {
			for _, a := range hook.bySite()[site] {
				if a.Level == notify.LevelAlarm {
					n++
					break
				}
			}
		}
		return n == 2
	}, 10*time.Second, 20*time.Millisecond, "the frosty and the freezing road raise an Alarm")
	time.Sleep(200 * time.Millisecond) // the other stations' last notifications

	got := hook.bySite()
	for site, as := range got {
		for _, a := range as {
			t.Logf("%s: %s %s %q reasons=%s fbt=%.1f frost_point=%.1f", site, a.Notification, a.Level,
				a.Info["condition_de"], a.Info["reasons"], a.Values["fbt"], a.Values["frost_point"])
		}
	}
	for _, site := range []string{"dry-plus1", "moist-falling", "wet-salted"} {
		for _, a := range got[site] {
			assert.Less(t, a.Level, notify.LevelAlarm, "%s: %s", site, a.Info["reasons"])
			assert.NotContains(t, a.Info["reasons"], "fbt_below_frost_point", site)
		}
	}
	require.NotEmpty(t, got["dry-plus1"], "the dry road near its dew point still warns")
	assert.InDelta(t, 2.2, got["dry-plus1"][0].Values["frost_point"], 0.05, "the frost point itself is right")
	require.NotEmpty(t, got["wet-salted"])
	assert.Equal(t, -5.0, got["wet-salted"][0].Values["freezing_temp"], "the freezing temperature arrives from the payload")
	alarms := map[string]notify.WebhookAlert{}
	for _, site := range []string{"dry-minus1", "wet-diluted"} {
		for _, a := range got[site] {
			if a.Level == notify.LevelAlarm {
				alarms[site] = a
				assert.Equal(t, "Glätte vorhanden", a.Info["condition_de"], site)
				assert.Equal(t, "road is slippery", a.Info["condition_en"], site)
			}
		}
	}
	assert.Contains(t, alarms["dry-minus1"].Info["reasons"], "fbt_below_frost_point")
	assert.Contains(t, alarms["wet-diluted"].Info["reasons"], "fbt_le_freezing_wet")
}
