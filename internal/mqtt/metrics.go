package mqtt

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	published *prometheus.CounterVec
	retried   prometheus.Counter
	dropped   *prometheus.CounterVec
	commands  *prometheus.CounterVec
	connects  *prometheus.CounterVec
	connected prometheus.Gauge
	lagPoints prometheus.GaugeFunc
	lagSecs   prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, s *Sink) (*metrics, error) {
	m := &metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_mqtt_published_total",
			Help: "Messages published, by kind: measurement (acknowledged by the broker), state, uplink, alert, status, command_reply.",
		}, []string{"kind"}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_mqtt_retried_total",
			Help: "Measurements published again after a failed batch (at-least-once resends).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_mqtt_dropped_total",
			Help: "Messages not published, by reason: queue_full, disconnected (live uplink events), bad_value, bad_topic (measurements that cannot be encoded).",
		}, []string{"reason"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_mqtt_commands_total",
			Help: "Downlink commands received, by result: ack, duplicate, or the nack reason.",
		}, []string{"result"}),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_mqtt_connects_total",
			Help: "Connection attempts to the broker, by result: ok, error.",
		}, []string{"result"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loraedge_mqtt_connected",
			Help: "1 while the sink is connected to the broker.",
		}),
	}
	m.lagPoints = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loraedge_mqtt_lag_points",
		Help: "Measurements read from the log and not yet acknowledged by the broker.",
	}, func() float64 { return float64(s.pendingPoints.Load()) })
	m.lagSecs = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loraedge_mqtt_lag_seconds",
		Help: "How long the oldest unacknowledged batch has waited, or the sink has been disconnected; 0 when caught up.",
	}, func() float64 { return s.lagSeconds(time.Now()) })
	if reg != nil {
		for _, c := range []prometheus.Collector{m.published, m.retried, m.dropped, m.commands, m.connects, m.connected, m.lagPoints, m.lagSecs} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("mqtt metrics: %w", err)
			}
		}
	}
	return m, nil
}
