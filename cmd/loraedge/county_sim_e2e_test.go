package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/testserver"
)

// mqttMeasurements counts the measurements published to a broker: per
// stable id the topics it came on, per device the frame counters.
type mqttMeasurements struct {
	mu     sync.Mutex
	topics map[string][]string
	fcnts  map[string]map[uint32]bool
	bad    int
}

// counts returns the number of frame counters seen per device.
func (m *mqttMeasurements) counts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{"bad": m.bad}
	for d, f := range m.fcnts {
		out[d] = len(f)
	}
	return out
}

func subscribeMeasurements(t *testing.T, url string) *mqttMeasurements {
	t.Helper()
	m := &mqttMeasurements{topics: map[string][]string{}, fcnts: map[string]map[uint32]bool{}}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("county-sim-observer"))
	require.True(t, c.Connect().WaitTimeout(5*time.Second))
	t.Cleanup(func() { c.Disconnect(100) })
	require.True(t, c.Subscribe("loraedge/+/device/+/measurement", 1, func(_ paho.Client, msg paho.Message) {
		var v struct {
			ID     string
			Device string
			Meta   map[string]string
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if json.Unmarshal(msg.Payload(), &v) != nil {
			m.bad++
			return
		}
		fcnt, err := strconv.ParseUint(v.Meta[measurement.MetaFCnt], 10, 32)
		if err != nil {
			m.bad++
			return
		}
		m.topics[v.ID] = append(m.topics[v.ID], msg.Topic())
		if m.fcnts[v.Device] == nil {
			m.fcnts[v.Device] = map[uint32]bool{}
		}
		m.fcnts[v.Device][uint32(fcnt)] = true
	}).WaitTimeout(5*time.Second))
	return m
}

// The county scenario through three real daemons configured by `loraedge
// county init`, each fed by its own virtual gateway: every simulated
// uplink is stored exactly once, at its device's home; each join request
// gets exactly one join-accept; each confirmed uplink one ACK; MQTT
// carries each measurement once, from the home's topic.
func TestCountySimulation(t *testing.T) {
	broker := testserver.StartMosquitto(t)
	mq := subscribeMeasurements(t, broker.URL())
	insts := sim.Instances(countyScenario)
	plan := defaultCountyPlan()
	plan.Dir, plan.MQTT = t.TempDir(), broker.URL()
	// The home's window covers the forward window and a hop on a machine
	// busy with other tests.
	plan.DedupWindow = 600 * time.Millisecond
	for range insts {
		plan.Ports = append(plan.Ports, countyPorts{GWMP: freeUDPPort(t), HTTP: testserver.FreePort(t), Roaming: testserver.FreePort(t)})
	}
	layout, err := writeCounty(plan)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"validate", layout.Instances[0].Config}, nil, &out, &out), out.String())

	daemons := make([]*e2eDaemon, len(insts))
	targets := make([]string, len(insts))
	for i, in := range layout.Instances {
		daemons[i] = startDaemonOn(t, in.Config, filepath.Join(plan.Dir, in.Name, "data"), in.GWMP)
		targets[i] = in.GWMP
	}
	s, err := sim.New(sim.Options{Targets: targets, Config: sim.Config{Scenario: countyScenario, Speed: 1200},
		Duration: 2 * time.Hour, JoinTimeout: 5 * time.Second, Linger: 1500 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, s.Run(ctx))
	st := s.Stats()

	// The scenario's links keep every frame in reach of some gateway.
	require.Zero(t, st.TransmissionsLost)
	otaa := 0
	homes := sim.Homes(countyScenario)
	want := map[string]struct{ stored, joins float64 }{}
	for _, ds := range s.DeviceStates() {
		home := homes[ds.DevEUI]
		w := want[home]
		w.stored += float64(ds.Uplinks)
		if d := deviceOf(t, ds.DevEUI.String()); d.Activation == device.OTAA {
			otaa++
			w.joins++
		}
		want[home] = w
	}
	assert.Equal(t, uint64(otaa), st.JoinRequests, "one join request per OTAA device")
	assert.Equal(t, st.JoinRequests, st.JoinAccepts, "each join request answered by exactly one join-accept")
	assert.Equal(t, st.JoinRequests, st.JoinsDone)
	assert.Zero(t, st.DownlinksUnmatched, "no downlink twice, none for nobody")
	assert.Zero(t, st.AcksMissed)
	valve, ok := s.DeviceState(deviceNamed(t, "Main water valve actuator").DevEUI)
	require.True(t, ok)
	assert.Positive(t, valve.Uplinks)
	assert.Equal(t, valve.Uplinks, st.AcksReceived, "one ACK per confirmed uplink")

	for i, in := range layout.Instances {
		d := daemons[i]
		d.waitMetric(`loraedge_ingest_uplinks_total{result="stored"}`, want[in.Name].stored)
		assert.Equal(t, want[in.Name].stored, metricOf(t, d, `loraedge_network_uplinks_total{result="ok"}`), in.Name)
		assert.Equal(t, want[in.Name].joins, metricOf(t, d, `loraedge_network_joins_total{result="ok"}`), in.Name)
		for _, peer := range insts {
			assert.Zero(t, metricOf(t, d, `loraedge_roaming_queue_depth{peer="`+peer.Name+`"}`), "%s for %s", in.Name, peer.Name)
		}
	}
	// Federation happened: frames heard only by a peer reached their home.
	assert.Positive(t, metricOf(t, daemons[0], `loraedge_network_uplinks_total{result="forwarded"}`))
	assert.Positive(t, metricOf(t, daemons[1], `loraedge_roaming_requests_sent_total{peer="bauhof",result="Success",type="XmitDataReq"}`),
		"the valve's ACKs through the depot's gateway, which hears it best")

	// MQTT: every stored uplink's measurements, each once, from the home.
	var total float64
	for _, w := range want {
		total += w.stored
	}
	require.Eventually(t, func() bool {
		mq.mu.Lock()
		defer mq.mu.Unlock()
		n := 0
		for _, f := range mq.fcnts {
			n += len(f)
		}
		return float64(n) == total
	}, 10*time.Second, 20*time.Millisecond, "every stored uplink on MQTT: %v", mq.counts())
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show
	mq.mu.Lock()
	defer mq.mu.Unlock()
	assert.Zero(t, mq.bad)
	for _, ds := range s.DeviceStates() {
		assert.Len(t, mq.fcnts[ds.DevEUI.String()], int(ds.Uplinks), ds.DevEUI.String())
	}
	for id, topics := range mq.topics {
		require.Len(t, topics, 1, "measurement %s once", id)
	}
	for id, topics := range mq.topics {
		parts := strings.Split(topics[0], "/") // loraedge/<gateway_id>/device/<eui>/measurement
		require.Len(t, parts, 5, topics[0])
		assert.Equal(t, homes[deviceOf(t, parts[3]).DevEUI], parts[1], "measurement %s from the home", id)
	}
}

// deviceOf returns the county scenario's device with the given EUI.
func deviceOf(t *testing.T, eui string) device.Device {
	t.Helper()
	for _, d := range sim.Devices(countyScenario) {
		if d.DevEUI.String() == eui {
			return d
		}
	}
	t.Fatalf("no county device %s", eui)
	return device.Device{}
}

func deviceNamed(t *testing.T, name string) device.Device {
	t.Helper()
	for _, d := range sim.Devices(countyScenario) {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no county device %q", name)
	return device.Device{}
}

func metricOf(t *testing.T, d *e2eDaemon, name string) float64 {
	t.Helper()
	v, err := d.metric(name)
	require.NoError(t, err)
	return v
}

// The simulator's --targets: by name in any order or by position; the
// defaults are county init's ports; wrong counts and names are refused.
func TestSimTargets(t *testing.T) {
	got, err := simTargets(countyScenario, "", false)
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:1701", "127.0.0.1:1702", "127.0.0.1:1703"}, got)
	got, err = simTargets(countyScenario, "bauhof=10.0.0.3:1700,rathaus=10.0.0.1:1700,schule=10.0.0.2:1700", true)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:1700", "10.0.0.2:1700", "10.0.0.3:1700"}, got)
	got, err = simTargets(countyScenario, "a:1,b:2,c:3", true)
	require.NoError(t, err)
	assert.Equal(t, []string{"a:1", "b:2", "c:3"}, got)
	got, err = simTargets("school-day", "", false)
	require.NoError(t, err)
	assert.Nil(t, got)
	for flag, msg := range map[string]string{
		"a:1,b:2":                         "2 addresses for the 3 instances",
		"x=a:1,b:2,c:3":                   `"x" is no instance`,
		"rathaus=a:1,rathaus=b:2,c:3":     `"rathaus" given twice`,
		"rathaus=a:1,schule=b:2,bauhof=c": "missing port",
	} {
		_, err := simTargets(countyScenario, flag, true)
		assert.ErrorContains(t, err, msg, flag)
	}
	_, err = simTargets("school-day", "a:1", true)
	assert.ErrorContains(t, err, "plays against one daemon")
}

// county init refuses to overwrite a county unless forced, and its
// instances' configurations pass validation.
func TestCountyInit(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"county", "init", dir, "--gwmp-port", "21700"}, nil, &out, &out), out.String())
	assert.Contains(t, out.String(), "rathaus=127.0.0.1:21700,schule=127.0.0.1:21701,bauhof=127.0.0.1:21702")
	for _, in := range sim.Instances(countyScenario) {
		out.Reset()
		require.NoError(t, run(context.Background(), []string{"validate", filepath.Join(dir, in.Name, "loraedge.yaml")}, nil, &out, &out), out.String())
	}
	err := run(context.Background(), []string{"county", "init", dir}, nil, &out, &out)
	assert.ErrorContains(t, err, "exists (--force")
	require.NoError(t, run(context.Background(), []string{"county", "init", dir, "--force"}, nil, &out, &out))
}
