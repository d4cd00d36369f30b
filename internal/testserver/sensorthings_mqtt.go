package testserver

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

var staTopic = regexp.MustCompile(`^v1\.[01]/Datastreams\((\d+)\)/Observations$`)

// ServeMQTT makes the server take Observations published on a broker, as
// SensorThings servers with an MQTT interface do (OGC 18-088, create
// through MQTT): a message on v<version>/Datastreams(<id>)/Observations
// with an Observation as JSON creates it. One it cannot take is dropped:
// MQTT has no answer to tell the publisher.
func (s *SensorThings) ServeMQTT(t testing.TB, brokerURL string) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(brokerURL).SetClientID("sensorthings-test-server-" + strconv.Itoa(FreePort(t))).
		SetAutoReconnect(true).SetCleanSession(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("sensorthings: connect to %s: %v", brokerURL, tok.Error())
	}
	if tok := c.Subscribe("v"+s.Version+"/+/Observations", 1, s.onMQTT); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("sensorthings: subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
}

func (s *SensorThings) onMQTT(_ paho.Client, m paho.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests["MQTT Observations"]++
	sub := staTopic.FindStringSubmatch(m.Topic())
	if sub == nil {
		return
	}
	ds, _ := strconv.Atoi(sub[1])
	var o map[string]any
	if _, ok := s.ents["Datastreams"][ds]; !ok || json.Unmarshal(m.Payload(), &o) != nil {
		return
	}
	s.addObservation(ds, o)
}
