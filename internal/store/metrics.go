package store

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	reg              prometheus.Registerer
	all              []prometheus.Collector
	appendLatency    prometheus.Histogram
	sealDuration     prometheus.Histogram
	walBytes         prometheus.Gauge
	walWritten       prometheus.Counter
	points           prometheus.Counter
	fsyncs           prometheus.Counter
	tornTails        prometheus.Counter
	evictions        prometheus.Counter
	retentionDeleted prometheus.Counter
	compactions      prometheus.Counter
	cursorSkipped    prometheus.Counter
	readOnly         prometheus.Gauge
	collapsed        *prometheus.CounterVec
	refined          prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, _ *Store) *metrics {
	m := &metrics{
		reg: reg,
		appendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "loraedge_store_append_duration_seconds",
			Help:    "Time from Append to the fsync of its record.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .2, .3, .5, 1, 2.5},
		}),
		sealDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "loraedge_store_seal_duration_seconds",
			Help:    "Time to seal the head into chunks.",
			Buckets: prometheus.ExponentialBuckets(.001, 4, 8),
		}),
		walBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loraedge_store_wal_bytes", Help: "Bytes in write-ahead log segments."}),
		walWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_store_wal_written_bytes_total", Help: "Bytes written to the write-ahead log."}),
		points: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_store_points_appended_total", Help: "Points durably appended."}),
		fsyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_store_wal_fsyncs_total", Help: "Group commits (fsyncs) of the log."}),
		tornTails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_store_torn_tails_truncated_total", Help: "Torn log tails truncated on open."}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_store_budget_evictions_total", Help: "Chunks and segments evicted to keep the disk budget."}),
		retentionDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_store_retention_deleted_chunks_total", Help: "Chunks deleted by retention."}),
		compactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_store_series_compacted_total", Help: "Series whose chunks were rewritten into format 2 and full-size chunks (background conversion of old stores, loraedge store compact)."}),
		cursorSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_store_cursor_skipped_records_total", Help: "Records a cursor skipped because they were evicted before it read them."}),
		readOnly: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loraedge_store_read_only", Help: "1 while the store refuses writes for lack of disk space."}),
		collapsed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_store_points_collapsed_total",
			Help: "Appended points that took the place of a stored point of their series at the same time: duplicate (same value, an idempotent replay) or conflict (same nanosecond, another value; the later one is kept)."},
			[]string{"reason"}),
		refined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_store_points_refined_total",
			Help: "Points stored with a finer time than the store's resolution because another value of their series held the coarser one."}),
	}
	for _, r := range []string{CollapseDuplicate, CollapseConflict} {
		m.collapsed.WithLabelValues(r)
	}
	m.all = []prometheus.Collector{m.appendLatency, m.sealDuration, m.walBytes, m.walWritten, m.points, m.fsyncs,
		m.tornTails, m.evictions, m.retentionDeleted, m.compactions, m.cursorSkipped, m.readOnly, m.collapsed, m.refined}
	if reg != nil {
		for _, c := range m.all {
			// A store reopened in the same process replaces its
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
