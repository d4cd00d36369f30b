package roaming

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// refusalReasons are pre-initialised so that dashboards see zeros.
var refusalReasons = []string{"malformed", "unknown_sender", "unauthenticated", "unknown_receiver", "rate_limited", "unsupported", "not_home"}

type metrics struct {
	sent     *prometheus.CounterVec // peer, type, result
	received *prometheus.CounterVec // peer, type, result
	refused  *prometheus.CounterVec // reason
	rtt      *prometheus.HistogramVec
	errors   *prometheus.CounterVec // peer
	queue    *prometheus.GaugeVec   // peer
	dropped  *prometheus.CounterVec // peer
	frames   *prometheus.CounterVec // peer, result
	// forwarded counts this forwarder's frames by home and final answer.
	forwarded *prometheus.CounterVec // peer, result
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "loraedge", "roaming"
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_sent_total",
			Help: "Backend Interfaces requests sent to a peer, by peer, message type and the answer's result code (error: no answer)."}, []string{"peer", "type", "result"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_received_total",
			Help: "Authenticated Backend Interfaces requests from a peer, by peer, message type and the result code answered."}, []string{"peer", "type", "result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_refused_total",
			Help: "Requests refused before any processing, by reason (unknown or unauthenticated sender, rate limit, malformed)."}, []string{"reason"}),
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "round_trip_seconds",
			Help:    "Time from sending a request to a peer to its answer.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"peer"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "request_errors_total",
			Help: "Requests to a peer that got no answer (connection, TLS, timeout, HTTP status, unreadable answer)."}, []string{"peer"}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "queue_depth",
			Help: "Frames waiting in the durable queue for an unreachable home."}, []string{"peer"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "queue_dropped_total",
			Help: "Frames for an unreachable home dropped because its queue was full."}, []string{"peer"}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "frames_received_total",
			Help: "Frames a peer forwarded here as their home, by peer and the network layer's result (ok, replay, mic_invalid, ...)."}, []string{"peer", "result"}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "frames_forwarded_total",
			Help: "Attempts to deliver a frame to its home, by home and answer: a final TS002 result code (Success, FrameReplayed, MICFailed, ...) or retry (no final answer: kept and sent again)."}, []string{"peer", "result"}),
	}
	for _, r := range refusalReasons {
		m.refused.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sent, m.received, m.refused, m.rtt, m.errors, m.queue, m.dropped, m.frames, m.forwarded} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("register roaming metrics: %w", err)
			}
		}
	}
	return m, nil
}
