package alert

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/ingest"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
)

// udpBridge connects semtechudp and network as the daemon does: frames
// in, txpk out, TX_ACKs back to the downlink that caused them.
type udpBridge struct {
	udp     *semtechudp.Server
	net     *network.Server
	mu      sync.Mutex
	pending map[[2]uint64]uint64
}

func gwKey(gw lorawan.EUI64, token uint16) [2]uint64 {
	var k uint64
	for _, b := range gw {
		k = k<<8 | uint64(b)
	}
	return [2]uint64{k, uint64(token)}
}

func (b *udpBridge) SendDownlink(_ context.Context, d network.Downlink) error {
	tx := semtechudp.TXPK{Imme: d.Immediately, Freq: float64(d.Frequency) / 1e6, Powe: uint8(d.Power), Modu: "LORA",
		DatR: semtechudp.DatR{LoRa: d.DataRate}, CodR: "4/5", IPol: d.InvertPolarity, Size: uint16(len(d.PHYPayload)), Data: d.PHYPayload}
	if !d.Immediately {
		tmst := d.Tmst
		tx.Tmst = &tmst
	}
	token, err := b.udp.Send(d.GatewayID, tx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.pending[gwKey(d.GatewayID, token)] = d.ID
	b.mu.Unlock()
	return nil
}

func (b *udpBridge) onTxAck(ev semtechudp.TxAckEvent) {
	b.mu.Lock()
	id, ok := b.pending[gwKey(ev.GatewayID, ev.Token)]
	delete(b.pending, gwKey(ev.GatewayID, ev.Token))
	b.mu.Unlock()
	if ok {
		b.net.HandleTxAck(id, ev.Err)
	}
}

// simRun runs the real pipeline (GWMP server, LoRaWAN network layer,
// decoding, store, alert engine on the simulator's virtual clock) against
// the simulator and returns what the webhook received.
type simRun struct {
	hook   *webhook
	engine *Engine
	sim    *sim.Simulator
}

func runSimulated(t *testing.T, cfg Config, so sim.Options) *simRun {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	devs := sim.Devices(so.Config.Scenario)
	reg, err := device.NewRegistry(devs)
	require.NoError(t, err)
	profiles := loadProfiles(t)
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "store")})
	require.NoError(t, err)
	hook := newWebhook(t)
	for i := range cfg.Receivers {
		cfg.Receivers[i].URL = hook.srv.URL + "/" + cfg.Receivers[i].Name
	}
	cfg.EvalInterval = 20 * time.Millisecond
	cfg.RetryMin, cfg.RetryMax = 10*time.Millisecond, 50*time.Millisecond

	br := &udpBridge{pending: map[[2]uint64]uint64{}}
	udp, err := semtechudp.NewServer(semtechudp.Options{Config: semtechudp.Config{Listen: "127.0.0.1:0"}, Logger: log, OnTxAck: br.onTxAck,
		TrustGPSTime: true})
	require.NoError(t, err)
	require.NoError(t, udp.Listen())
	so.Target = udp.LocalAddr().String()
	so.Logger = log
	s, err := sim.New(so)
	require.NoError(t, err)
	now := func() time.Time {
		if c := s.Clock(); c != nil {
			return c.Now()
		}
		return so.Start
	}
	var netSrv *network.Server
	var eng *Engine
	eng, err = New(Options{Config: cfg, Store: st, Devices: reg, Sites: simSites(so.Config.Scenario), Profiles: profiles,
		Downlinks: DownlinkFunc(func(eui lorawan.EUI64, fport uint8, payload []byte, confirmed bool, expiry time.Duration) (string, error) {
			return netSrv.EnqueueDownlinkExpiring(eui, fport, payload, confirmed, expiry)
		}), Now: now, Logger: log})
	require.NoError(t, err)
	ing, err := ingest.New(ingest.Options{Devices: reg, Profiles: profiles, Store: st, Observers: []ingest.Observer{eng}, Logger: log})
	require.NoError(t, err)
	netSrv, err = network.NewServer(network.Options{Devices: reg, StatePath: filepath.Join(dir, "network.db"),
		Config: network.Config{JoinAcceptDelay1: time.Second}, Sender: br, Handler: ing, Logger: log})
	require.NoError(t, err)
	br.udp, br.net = udp, netSrv

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	run := func(f func(context.Context) error) {
		wg.Add(1)
		go func() { defer wg.Done(); _ = f(ctx) }()
	}
	engCtx, stopEngine := context.WithCancel(context.Background())
	engDone := make(chan error, 1)
	go func() { engDone <- eng.Run(engCtx) }()
	ingCtx, stopIngest := context.WithCancel(context.Background())
	ingDone := make(chan error, 1)
	go func() { ingDone <- ing.Run(ingCtx) }()
	run(udp.Run)
	run(netSrv.Run)
	run(func(context.Context) error {
		for f := range udp.Frames() {
			br.net.HandleFrame(ctx, network.Frame{PHYPayload: f.RXPK.Data, RxInfo: f.RxInfo()})
		}
		return nil
	})
	simErr := s.Run(ctx)
	cancel()
	wg.Wait()
	stopIngest()
	require.NoError(t, <-ingDone)
	settle(eng)
	stopEngine()
	require.NoError(t, <-engDone)
	require.NoError(t, netSrv.Close())
	require.NoError(t, st.Close())
	require.NoError(t, simErr)
	return &simRun{hook: hook, engine: eng, sim: s}
}

// settle lets the last evaluations and deliveries finish.
func settle(eng *Engine) {
	deadline := time.Now().Add(5 * time.Second)
	for (len(eng.queue) > 0 || eng.Pending() > 0) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// The simulator end to end: real GWMP, LoRaWAN, decoding and storage; the
// engine evaluates on the simulator's virtual clock.
func TestSimulatorEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator for about 20 s")
	}
	t.Run("winter-night", func(t *testing.T) {
		t.Parallel()
		cfg := Config{RepeatInterval: 100 * time.Hour, Receivers: []ReceiverConfig{{Name: "wd", Type: "webhook"}},
			DefaultReceivers: []string{"wd"}, Rules: []RuleConfig{{Name: "glaette", Kind: KindIce}}}
		r := runSimulated(t, cfg, sim.Options{Config: sim.Config{Scenario: "winter-night", Speed: 4000, Gateways: 1},
			Start: time.Date(2026, 1, 12, 16, 30, 0, 0, cet), Duration: 20 * time.Hour})
		byStation := map[string][]notify.WebhookAlert{}
		for _, a := range byReceiver(r.hook, "wd") {
			byStation[a.ID] = append(byStation[a.ID], a)
		}
		for id, as := range byStation {
			var got []string
			for _, a := range as {
				got = append(got, fmt.Sprintf("%s %s fbt=%.1f %s", a.Notification, a.Level, a.Values["fbt"], a.ObservedAt.In(cet).Format("15:04")))
			}
			t.Logf("%s: %v", id, got)
		}
		bridge := byStation["glaette/k23-bridge"]
		require.NotEmpty(t, bridge)
		assert.Equal(t, "firing", bridge[0].Notification)
		assert.Equal(t, LevelVorwarnung, bridge[0].Level)
		assert.Greater(t, bridge[0].Values["fbt"], 0.0, "Vorwarnung before the surface reaches 0 degC")
		var levels []Level
		for _, a := range bridge {
			if a.Notification == "firing" {
				levels = append(levels, a.Level)
			}
		}
		assert.True(t, slices.IsSorted(levels), "no flapping: levels only rise until the all-clear: %v", levels)
		assert.Contains(t, levels, LevelAlarm)
		last := bridge[len(bridge)-1]
		assert.Equal(t, "resolved", last.Notification, "Entwarnung after the morning warms the road")
		assert.Contains(t, last.Title, "Entwarnung")
		assert.GreaterOrEqual(t, last.Values["fbt"], 2.0)
	})
	t.Run("building-meters night leak closes the valve", func(t *testing.T) {
		t.Parallel()
		cfg := Config{RepeatInterval: 100 * time.Hour, Receivers: []ReceiverConfig{{Name: "fm", Type: "webhook"}},
			DefaultReceivers: []string{"fm"}, Rules: []RuleConfig{{Name: "leak", Kind: KindLeak, Select: Select{Profiles: []string{sim.ProfileEM300DI}},
				Action: &ActionConfig{Command: "close", Profile: sim.ProfileValve, Confirmed: true}}}}
		// Start Wednesday 05:00: the leak starts at 22:00 of the second
		// night, i.e. Wednesday; the night window 02-04 h is Thursday.
		r := runSimulated(t, cfg, sim.Options{Config: sim.Config{Scenario: "building-meters", Speed: 6000, Gateways: 1},
			Start: time.Date(2026, 1, 14, 5, 0, 0, 0, cet), Duration: 26 * time.Hour})
		notes := byReceiver(r.hook, "fm")
		require.Len(t, notes, 2, "%v", r.hook.notes())
		assert.Equal(t, "firing", notes[0].Notification)
		assert.Equal(t, time.Date(2026, 1, 15, 4, 0, 0, 0, cet).Hour(), notes[0].ObservedAt.In(cet).Hour(), "fires when the night window ends")
		assert.InDelta(t, 30, notes[0].Values["night_min_lph"], 6)
		assert.Contains(t, notes[0].ActionDone, "close:queued")
		assert.Equal(t, "resolved", notes[1].Notification, "the closed valve stops the flow")
		valve, ok := r.sim.DeviceState(sim.Devices("building-meters")[3].DevEUI)
		require.True(t, ok)
		require.NotNil(t, valve.ValveOpen)
		assert.False(t, *valve.ValveOpen, "the valve got the close command over the air")
	})
	t.Run("school-day CO2", func(t *testing.T) {
		t.Parallel()
		cfg := Config{RepeatInterval: 100 * time.Hour, Receivers: []ReceiverConfig{{Name: "hm", Type: "webhook"}},
			DefaultReceivers: []string{"hm"}, Rules: []RuleConfig{{Name: "co2", Kind: KindCO2}}}
		r := runSimulated(t, cfg, sim.Options{Config: sim.Config{Scenario: "school-day", Speed: 4000, Gateways: 1},
			Start: time.Date(2026, 1, 13, 7, 0, 0, 0, cet), Duration: 9 * time.Hour})
		t.Logf("%v", r.hook.notes())
		room7b := "co2/" + eui(sim.Devices("school-day")[1]) + ":co2"
		var levels []string
		for _, a := range byReceiver(r.hook, "hm") {
			if a.ID == room7b && a.Notification == "firing" {
				levels = append(levels, a.Level.String())
			}
		}
		require.NotEmpty(t, levels)
		assert.Equal(t, "warnung", levels[0])
		assert.Contains(t, levels, "alarm", "room 7b passes 2000 ppm")
	})
}
