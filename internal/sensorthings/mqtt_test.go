package sensorthings

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// mqttSetup starts Mosquitto and a server taking observations from it.
func mqttSetup(t *testing.T) (*testserver.SensorThings, *testserver.Mosquitto, Config) {
	broker := testserver.StartMosquitto(t)
	srv := testserver.StartSensorThings(t, "1.1")
	srv.ServeMQTT(t, broker.URL())
	cfg := testConfig(srv)
	cfg.MQTTURL = broker.URL()
	cfg.ConfirmTimeout = 500 * time.Millisecond
	return srv, broker, cfg
}

// Observations go over MQTT, are confirmed by reading them back, and
// arrive once; no CreateObservations request is needed.
func TestSinkOverMQTT(t *testing.T) {
	srv, _, cfg := mqttSetup(t)
	st := openStore(t, t.TempDir())
	defer st.Close()
	require.NoError(t, st.Append(context.Background(), batch(0, 40)))
	reg := prometheus.NewRegistry()
	stop := runSink(t, st, cfg, reg, newRegistry().device)
	waitObservations(t, srv, 40)
	require.Eventually(t, func() bool {
		return metricValue(t, reg, "loraedge_sensorthings_observations_delivered_total", "") == 40
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, 40.0, metricValue(t, reg, "loraedge_sensorthings_mqtt_published_total", ""))
	assert.Zero(t, metricValue(t, reg, "loraedge_sensorthings_mqtt_unconfirmed_total", ""))
	stop()
	assert.Zero(t, srv.Requests()["POST CreateObservations"])
	assert.Equal(t, 40, srv.Requests()["MQTT Observations"])
	for k, n := range observationKeys(t, srv) {
		require.Equal(t, 1, n, k)
	}
}

// An observation the server drops (MQTT cannot say so) does not block the
// sink: after confirm_timeout it goes over HTTP, is refused there and
// counted; the others are delivered once.
func TestSinkOverMQTTRefusedObservation(t *testing.T) {
	srv, _, cfg := mqttSetup(t)
	srv.Reject(func(_ int, result any) bool { return result == 1.3 })
	st := openStore(t, t.TempDir())
	defer st.Close()
	require.NoError(t, st.Append(context.Background(), batch(0, 30)))
	reg := prometheus.NewRegistry()
	stop := runSink(t, st, cfg, reg, newRegistry().device)
	require.Eventually(t, func() bool {
		return metricValue(t, reg, "loraedge_sensorthings_observations_rejected_total", "server") == 1
	}, 10*time.Second, 10*time.Millisecond)
	waitObservations(t, srv, 29)
	assert.Equal(t, 1.0, metricValue(t, reg, "loraedge_sensorthings_mqtt_unconfirmed_total", ""))
	assert.Equal(t, 29.0, metricValue(t, reg, "loraedge_sensorthings_observations_delivered_total", ""))
	stop()
	assert.Equal(t, 1, srv.Requests()["POST CreateObservations"], "only the unconfirmed one over HTTP")
}

// With the broker down, observations go over HTTP.
func TestSinkOverMQTTBrokerDown(t *testing.T) {
	srv, broker, cfg := mqttSetup(t)
	broker.Stop()
	st := openStore(t, t.TempDir())
	defer st.Close()
	require.NoError(t, st.Append(context.Background(), batch(0, 20)))
	reg := prometheus.NewRegistry()
	stop := runSink(t, st, cfg, reg, newRegistry().device)
	waitObservations(t, srv, 20)
	assert.Zero(t, metricValue(t, reg, "loraedge_sensorthings_mqtt_published_total", ""))
	stop()
	for k, n := range observationKeys(t, srv) {
		require.Equal(t, 1, n, k)
	}
}
