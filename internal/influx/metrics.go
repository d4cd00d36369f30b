package influx

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	reg        prometheus.Registerer
	all        []prometheus.Collector
	sent       prometheus.Counter
	retries    *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	bisections prometheus.Counter
	latency    prometheus.Histogram
}

// lastSeqer is the optional capability of a store to tell the Seq of its
// last durable record; with it the sink exports its lag in records.
type lastSeqer interface{ LastSeq() uint64 }

func newMetrics(reg prometheus.Registerer, s *Sink) *metrics {
	m := &metrics{
		reg: reg,
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_influx_points_sent_total", Help: "Points InfluxDB acknowledged."}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_influx_write_retries_total", Help: "Failed writes that will be retried, by reason (network, server, throttled, client)."},
			[]string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_influx_points_dropped_total", Help: "Points given up on, by reason (rejected, too_large, unrepresentable)."},
			[]string{"reason"}),
		bisections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_influx_batch_bisections_total", Help: "Rejected batches split in two to isolate bad points."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "loraedge_influx_write_duration_seconds",
			Help:    "Duration of write requests, failed ones included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	for _, r := range []string{reasonRejected, reasonTooLarge, reasonUnrepresentable} {
		m.dropped.WithLabelValues(r)
	}
	lagSeconds := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loraedge_influx_lag_seconds",
		Help: "Age of the oldest record not yet delivered (0 when caught up).",
	}, func() float64 { return s.backlog.Age(s.opts.Now()).Seconds() })
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "loraedge_influx_pending_points",
		Help: "Points read from the log and not yet delivered (at most about one batch).",
	}, func() float64 { return float64(s.pendingPoints.Load()) })
	m.all = []prometheus.Collector{m.sent, m.retries, m.dropped, m.bisections, m.latency, lagSeconds, pending}
	if ls, ok := any(s.st).(lastSeqer); ok {
		m.all = append(m.all, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "loraedge_influx_lag_records",
			Help: "Log records (appended batches) not yet delivered: store's last seq minus the cursor.",
		}, func() float64 {
			last, pos := ls.LastSeq(), s.cur.Position()
			if last < pos {
				return 0
			}
			return float64(last - pos)
		}))
	}
	if reg != nil {
		for _, c := range m.all {
			// A sink recreated in the same process replaces its
			// predecessor's collectors.
			var are prometheus.AlreadyRegisteredError
			if err := reg.Register(c); errors.As(err, &are) {
				reg.Unregister(are.ExistingCollector)
				_ = reg.Register(c)
			}
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
