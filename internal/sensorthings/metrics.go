package sensorthings

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/backoff"
)

type metrics struct {
	reg         prometheus.Registerer
	all         []prometheus.Collector
	delivered   prometheus.Counter
	rejected    *prometheus.CounterVec
	skipped     prometheus.Counter
	published   prometheus.Counter
	unconfirmed prometheus.Counter
	retries     *prometheus.CounterVec
	created     *prometheus.CounterVec
	bisections  prometheus.Counter
	latency     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Sink) *metrics {
	m := &metrics{
		reg: reg,
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_sensorthings_observations_delivered_total", Help: "Observations the server created."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_sensorthings_observations_rejected_total",
			Help: "Observations given up on, by reason (server, entity, unrepresentable)."}, []string{"reason"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_sensorthings_observations_skipped_total",
			Help: "Observations not sent again because the server already had them (replay after a crash or a lost answer)."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_sensorthings_mqtt_published_total", Help: "Observations published over MQTT (mqtt_url)."}),
		unconfirmed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_sensorthings_mqtt_unconfirmed_total",
			Help: "Published observations the server did not show within confirm_timeout, sent over HTTP instead."}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_sensorthings_retries_total",
			Help: "Failed requests that will be retried, by reason (network, server, throttled, client)."}, []string{"reason"}),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_sensorthings_entities_created_total",
			Help: "Entities the sink created, by kind (Things, Locations, Sensors, ObservedProperties, Datastreams)."}, []string{"kind"}),
		bisections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_sensorthings_batch_bisections_total", Help: "Refused requests split in two to isolate bad observations."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "loraedge_sensorthings_request_duration_seconds",
			Help:    "Duration of CreateObservations requests, failed ones included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	for _, r := range []string{reasonServer, reasonEntity, reasonUnrepresentable} {
		m.rejected.WithLabelValues(r)
	}
	for _, r := range backoff.Reasons {
		m.retries.WithLabelValues(r)
	}
	lagSeconds := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loraedge_sensorthings_lag_seconds",
		Help: "Age of the oldest record not yet delivered (0 when caught up).",
	}, func() float64 { return s.backlog.Age(s.opts.Now()).Seconds() })
	lagRecords := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loraedge_sensorthings_lag_records",
		Help: "Log records (appended batches) not yet delivered: store's last seq minus the cursor.",
	}, func() float64 { return float64(s.cur.Behind()) })
	m.all = []prometheus.Collector{m.delivered, m.rejected, m.skipped, m.published, m.unconfirmed, m.retries, m.created, m.bisections, m.latency, lagSeconds, lagRecords}
	if reg != nil {
		for _, c := range m.all {
			// A sink recreated in the same process replaces its
			// predecessor's collectors (matched by their descriptions).
			reg.Unregister(c)
			_ = reg.Register(c)
		}
	}
	return m
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.all {
		m.reg.Unregister(c)
	}
}
