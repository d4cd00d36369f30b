package basicstation

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a router's connection is refused (label "reason" of
// loraedge_basicstation_connections_refused_total).
const (
	refusedUnknownRouter  = "unknown_router"
	refusedBadCredentials = "bad_credentials"
	refusedNoCredentials  = "no_credentials"
	refusedBadRequest     = "bad_request"
)

var refusedReasons = []string{refusedUnknownRouter, refusedBadCredentials, refusedNoCredentials, refusedBadRequest}

// Results of a downlink handed to Send (label "result" of
// loraedge_basicstation_downlinks_total).
const (
	dnSent         = "sent"
	dnNotConnected = "not_connected"
	dnNoUplink     = "no_uplink_context"
	dnBadTiming    = "bad_timing"
	dnBadDataRate  = "bad_data_rate"
	dnQueueFull    = "queue_full"
)

var dnResults = []string{dnSent, dnNotConnected, dnNoUplink, dnBadTiming, dnBadDataRate, dnQueueFull}

type metrics struct {
	refused         *prometheus.CounterVec
	accepted        prometheus.Counter
	connected       prometheus.Gauge
	messages        *prometheus.CounterVec
	rejected        *prometheus.CounterVec
	framesDropped   prometheus.Counter
	downlinks       *prometheus.CounterVec
	dntxed          prometheus.Counter
	dntxedMissing   prometheus.Counter
	dntxedUnknown   prometheus.Counter
	outboundDropped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "loraedge", "basicstation"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	vec := func(name, help, label string, values []string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, []string{label})
		for _, x := range values {
			v.WithLabelValues(x)
		}
		return v
	}
	m := &metrics{
		refused:  vec("connections_refused_total", "Router connections refused, by reason.", "reason", refusedReasons),
		accepted: counter("connections_total", "Router connections accepted."),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "routers_connected",
			Help: "Routers connected now."}),
		messages: vec("messages_total", "Router messages accepted, by msgtype.", "msgtype",
			[]string{msgVersion, msgUpdf, msgJreq, msgPropdf, msgDntxed, msgTimesync}),
		rejected:        vec("messages_rejected_total", "Router messages refused, by reason.", "reason", rejectReasons),
		framesDropped:   counter("frames_dropped_total", "Uplink frames dropped because the network layer's queue was full."),
		downlinks:       vec("downlinks_total", "Downlinks handed to the LNS, by result.", "result", dnResults),
		dntxed:          counter("dntxed_total", "Downlinks the router confirmed as sent (dntxed)."),
		dntxedMissing:   counter("dntxed_missing_total", "Downlinks without a dntxed within basicstation.dntxed_timeout."),
		dntxedUnknown:   counter("dntxed_unmatched_total", "dntxed messages for no downlink awaiting one."),
		outboundDropped: counter("outbound_dropped_total", "Messages to a router dropped because its send queue was full."),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.refused, m.accepted, m.connected, m.messages, m.rejected,
		m.framesDropped, m.downlinks, m.dntxed, m.dntxedMissing, m.dntxedUnknown, m.outboundDropped} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register basicstation metrics: %w", err)
	}
	return m, nil
}
