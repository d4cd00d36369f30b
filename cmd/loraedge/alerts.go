package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/sim"
)

// buildAlerts creates the alert engine when enabled. Its downlinks reach
// the network layer through a closure, and gateways' last-seen times are
// moved onto the daemon's clock (the simulator's in simulation).
func (d *daemon) buildAlerts() error {
	cfg := d.cfg
	if !cfg.Alert.Enabled {
		return nil
	}
	var pub alert.Publisher
	if d.mqtt != nil {
		pub = d.mqtt
	}
	cal, err := calendar.New(cfg.Calendar)
	if err != nil {
		return fmt.Errorf("alert calendar: %w", err)
	}
	outdoor := map[string]string{}
	for _, s := range cfg.Energy.Sites {
		if s.TemperatureDevice != "" {
			outdoor[s.ID] = s.TemperatureDevice
		}
	}
	eng, err := alert.New(alert.Options{
		Config: cfg.Alert, Store: d.store, Devices: d.devices, Sites: cfg.Sites, Profiles: d.profiles,
		Downlinks: alert.DownlinkFunc(func(eui lorawan.EUI64, fport uint8, payload []byte, confirmed bool, expiry time.Duration) (string, error) {
			return d.net.EnqueueDownlinkExpiring(eui, fport, payload, confirmed, expiry)
		}),
		MQTT:     pub,
		Remote:   d.remoteActioner(),
		Roads:    d.roadForecasts(),
		Gateways: udpGateways{udp: gatewayList{udp: d.udp, station: d.station}, now: d.now},
		Disk:     d.store, DiskBudget: cfg.Store.DiskBudget, Calendar: cal, OutdoorSensors: outdoor,
		Now: d.now, Logger: d.log, Registerer: d.metrics,
	})
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	d.alerts = eng
	d.observers.add(eng)
	return nil
}

// udpGateways reports the GWMP server's gateways to the alert engine. Their
// times are wall-clock, while a simulation evaluates on the virtual clock:
// each is moved to now() - time.Since(t), gateway liveness being a
// real-time matter.
type udpGateways struct {
	udp interface {
		Gateways() []semtechudp.GatewayStatus
	}
	now func() time.Time
}

// GatewaysLastSeen implements alert.Gateways.
func (g udpGateways) GatewaysLastSeen() map[string]time.Time {
	now := g.now()
	out := map[string]time.Time{}
	for _, s := range g.udp.Gateways() {
		out[s.ID.String()] = now.Add(-time.Since(s.LastSeen))
	}
	return out
}

// GatewaysTxAcks implements alert.GatewayTxAcks: a gateway that keeps
// polling but confirms no downlink raises the gateway alert.
func (g udpGateways) GatewaysTxAcks() map[string]alert.TxAckHealth {
	now := g.now()
	out := map[string]alert.TxAckHealth{}
	for _, s := range g.udp.Gateways() {
		h := alert.TxAckHealth{MissingRun: s.TXAckMissingRun}
		if !s.LastPullData.IsZero() {
			h.LastPullData = now.Add(-time.Since(s.LastPullData))
		}
		out[s.ID.String()] = h
	}
	return out
}

// demoAlerts are the rules `make run` shows the simulator's scenarios
// with, when the configuration has none: ice warnings at the road
// stations, classroom CO2, the night leak closing the valve, silent
// sensors. Alerts are on the web page and in the log; no receivers.
func demoAlerts(c alert.Config) alert.Config {
	if len(c.Rules) > 0 {
		return c
	}
	c.Enabled = true
	c.Rules = []alert.RuleConfig{
		{Name: "glaette", Kind: "ice", Select: alert.Select{Profiles: []string{sim.ProfileRoadStation}}},
		{Name: "co2", Kind: "co2", Select: alert.Select{Profiles: []string{sim.ProfileElsysCO2}}},
		{Name: "leck", Kind: "leak", Select: alert.Select{Profiles: []string{sim.ProfileEM300DI}}, PulseLitres: 1, NightMinLPH: 10,
			Action: &alert.ActionConfig{Command: "close", Profile: sim.ProfileValve, Confirmed: true}},
		{Name: "sensor-stale", Kind: "stale", Factor: 3},
	}
	c.Rules = append(c.Rules, floodAlerts()...)
	return c
}

// floodAlerts are the demo rules of the flood scenario: the gauges'
// stages IW1..IW3 and the shelter's occupancy (its capacity) and inflow.
func floodAlerts() []alert.RuleConfig {
	wl := alert.WaterLevelConfig{}
	for _, g := range sim.FloodGauges {
		gs := alert.GaugeStages{Site: g.Site}
		for _, l := range g.Stages {
			gs.Stages = append(gs.Stages, alert.StageConfig{Level: l})
		}
		wl.Gauges = append(wl.Gauges, gs)
	}
	return []alert.RuleConfig{
		{Name: "hochwasser", Kind: alert.KindWaterLevel, Select: alert.Select{Profiles: []string{sim.ProfileLDDS75}}, WaterLevel: wl},
		{Name: "personenstrom", Kind: alert.KindCrowd, Select: alert.Select{Profiles: []string{sim.ProfileVS133}},
			Crowd: alert.CrowdConfig{MaxInflow: 4}},
	}
}

// alertService adapts the engine to the API.
type alertService struct {
	eng *alert.Engine
	now func() time.Time
}

var activeStates = []alert.State{alert.StatePending, alert.StateFiring, alert.StateAcknowledged}

func (a alertService) ListAlerts(_ context.Context, state string) (any, error) {
	var f alert.Filter
	switch state {
	case "":
	case "active":
		f.States = activeStates
	default:
		f.States = []alert.State{alert.State(state)}
	}
	list := a.eng.List(f)
	if list == nil {
		list = []alert.Alert{}
	}
	return list, nil
}

func (a alertService) Acknowledge(_ context.Context, id, who string) error {
	return apiAlertErr(a.eng.Acknowledge(id, who, a.now()))
}

func (a alertService) ListSilences(context.Context) (any, error) {
	list := a.eng.Silences()
	if list == nil {
		list = []alert.Silence{}
	}
	return list, nil
}

func (a alertService) CreateSilence(_ context.Context, body json.RawMessage, who string) (any, error) {
	// A silence names its window by starts_at/ends_at, or by a duration
	// from now on the daemon's clock (the simulator's, in simulation).
	var in struct {
		alert.Silence
		Duration string `json:"duration"`
	}
	if err := inputerr.JSON(bytes.NewReader(body), &in); err != nil {
		return nil, httpapi.BadInput(err)
	}
	s := in.Silence
	if s.StartsAt.IsZero() {
		s.StartsAt = a.now()
	}
	if in.Duration != "" {
		d, err := time.ParseDuration(in.Duration)
		if err != nil || d <= 0 {
			return nil, &httpapi.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "silence: duration must be positive, e.g. 4h"}
		}
		s.EndsAt = s.StartsAt.Add(d)
	}
	if s.CreatedBy == "" {
		s.CreatedBy = who
	}
	out, err := a.eng.CreateSilence(s)
	if err != nil {
		// The engine's texts are the operator's; only its package prefix goes.
		return nil, &httpapi.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: strings.TrimPrefix(err.Error(), "alert: "), Err: err}
	}
	return out, nil
}

func (a alertService) ExpireSilence(_ context.Context, id string) error {
	return apiAlertErr(a.eng.ExpireSilence(id, a.now()))
}

func apiAlertErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, alert.ErrNotFound):
		return httpapi.ErrAlertNotFound
	case errors.Is(err, alert.ErrState):
		return &httpapi.Error{Status: http.StatusConflict, Code: "conflict", Message: err.Error(), Err: err}
	}
	return err
}
