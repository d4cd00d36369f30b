package main

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/testserver"
)

// The whole daemon against a real Mosquitto: simulated meters' measurements
// arrive on their topics, and a "close" command published to the broker
// reaches the simulated valve in its next receive window; the valve then
// reports itself closed, through the daemon, back on MQTT.
func TestDaemonMQTTMeasurementsAndValveCommand(t *testing.T) {
	broker := testserver.StartMosquitto(t)
	var valveEUI string
	for _, d := range sim.Devices("building-meters") {
		if d.Profile == "generic/valve-actuator" {
			valveEUI = d.DevEUI.String()
		}
	}
	require.NotEmpty(t, valveEUI)

	type msg struct {
		Device   string  `json:"device"`
		Quantity string  `json:"quantity"`
		Value    float64 `json:"value"`
		ID       string  `json:"id"`
	}
	var mu sync.Mutex
	var got []msg
	acks := make(chan string, 4)
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("e2e-observer"))
	require.True(t, c.Connect().WaitTimeout(5*time.Second))
	defer c.Disconnect(100)
	require.True(t, c.Subscribe("loraedge/rathaus/device/+/measurement", 1, func(_ paho.Client, m paho.Message) {
		var v msg
		if json.Unmarshal(m.Payload(), &v) == nil {
			mu.Lock()
			got = append(got, v)
			mu.Unlock()
		}
	}).WaitTimeout(5*time.Second))
	require.True(t, c.Subscribe("loraedge/rathaus/device/+/command/+", 1, func(_ paho.Client, m paho.Message) {
		if strings.HasSuffix(m.Topic(), "/ack") || strings.HasSuffix(m.Topic(), "/nack") {
			acks <- m.Topic() + " " + string(m.Payload())
		}
	}).WaitTimeout(5*time.Second))

	var logs syncBuffer
	defer runDaemon(t, []string{"--simulate", "--scenario", "building-meters", "--speed", "300",
		"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-level", "warn"},
		[]string{"LORAEDGE_GATEWAY_ID=rathaus", "LORAEDGE_MQTT_ENABLED=true", "LORAEDGE_MQTT_URL=" + broker.URL()}, &logs)()

	seen := func(quantity string, pred func(msg) bool) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range got {
			if m.Quantity == quantity && pred(m) {
				return true
			}
		}
		return false
	}
	require.Eventually(t, func() bool {
		return seen("heat_energy", func(msg) bool { return true }) && seen("valve_state", func(m msg) bool { return m.Device == valveEUI && m.Value == 1 })
	}, 30*time.Second, 50*time.Millisecond, "meter and open-valve measurements on MQTT; logs:\n%s", logs.String())

	tok := c.Publish("loraedge/rathaus/device/"+valveEUI+"/command/down", 1, false, `{"id":"close-1","command":"close"}`)
	require.True(t, tok.WaitTimeout(5*time.Second))
	select {
	case a := <-acks:
		require.Contains(t, a, "/ack", a)
		assert.Contains(t, a, "close-1")
	case <-time.After(10 * time.Second):
		t.Fatal("no command ack")
	}
	require.Eventually(t, func() bool {
		return seen("valve_state", func(m msg) bool { return m.Device == valveEUI && m.Value == 0 })
	}, 30*time.Second, 50*time.Millisecond, "the valve reports itself closed")
	mu.Lock()
	for _, m := range got {
		assert.NotEmpty(t, m.ID, "every measurement carries its id")
	}
	mu.Unlock()
}
