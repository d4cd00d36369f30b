package influx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/backoff"
	"github.com/loraedge/loraedge/internal/store"
)

// CursorName is the store cursor of the sink.
const CursorName = "influx"

// Options are the sink's dependencies. Zero values take defaults.
type Options struct {
	// GatewayID is written as the gateway tag when Config.GatewayTag is on
	// (left out when empty).
	GatewayID  string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	// CursorName defaults to CursorName.
	CursorName string
	// MinBackoff is the first retry delay, doubled per failure up to
	// Config.MaxBackoff. Default 500 ms (capped by MaxBackoff).
	MinBackoff time.Duration
}

// Sink delivers the store's log to InfluxDB. Run it once.
type Sink struct {
	cfg    Config
	opts   Options
	log    *slog.Logger
	st     *store.Store
	cur    *store.Cursor
	client influxdb2.Client
	write  api.WriteAPIBlocking
	m      *metrics

	backlog       store.Backlog
	pendingPoints atomic.Int64

	closeOnce sync.Once
}

// New creates a sink for st and opens (and so persists) its cursor, so the
// log is kept for it from now on. Call it before sources append: a new
// cursor starts at the oldest record still in the log, and records sealed
// before any cursor held them are no longer there to deliver. New does not
// look at cfg.Enabled: the caller builds a sink only when enabled, and when
// the sink is disabled it should call st.RemoveCursor(CursorName) so an old
// cursor does not keep the log growing.
func New(st *store.Store, cfg Config, opts Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("influx: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CursorName == "" {
		opts.CursorName = CursorName
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 500 * time.Millisecond
	}
	if opts.MinBackoff > cfg.MaxBackoff {
		opts.MinBackoff = cfg.MaxBackoff
	}
	cur, err := st.OpenCursor(opts.CursorName)
	if err != nil {
		return nil, fmt.Errorf("influx: %w", err)
	}
	s := &Sink{
		cfg:    cfg,
		opts:   opts,
		log:    opts.Logger.With("component", "influx"),
		st:     st,
		cur:    cur,
		client: newClient(cfg),
	}
	s.write = s.client.WriteAPIBlocking(cfg.Org, cfg.Bucket)
	s.m = newMetrics(opts.Registerer, s)
	return s, nil
}

func newClient(cfg Config) influxdb2.Client {
	o := influxdb2.DefaultOptions().
		SetHTTPRequestTimeout(uint((cfg.Timeout + time.Second - 1) / time.Second)).
		SetLogLevel(0).
		SetApplicationName("loraedge")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	if cfg.TLSInsecureSkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // operator's explicit choice
	}
	o.SetHTTPClient(&http.Client{Transport: tr, Timeout: cfg.Timeout})
	return influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, o)
}

// Close releases the cursor and the HTTP client. Run calls it on return.
func (s *Sink) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.cur.Close()
		s.client.Close()
		s.m.unregister()
	})
	return err
}

// Run delivers the log until ctx is done (returning nil) or the store
// fails. Records read but not yet delivered when ctx ends stay after the
// cursor and are delivered again by the next Run; InfluxDB overwrites
// points it already has, so that is no duplicate.
func (s *Sink) Run(ctx context.Context) error {
	defer s.Close()
	s.log.Info("influx sink started", "url", s.cfg.URL, "bucket", s.cfg.Bucket, "position", s.cur.Position())
	err := s.cur.Deliver(ctx, s.cfg.BatchSize, s.cfg.FlushInterval, func(ctx context.Context, recs []store.Record) error {
		s.noteRead(recs)
		if err := s.deliver(ctx, recs); err != nil {
			return err
		}
		s.backlog.Delivered()
		s.pendingPoints.Store(0)
		return nil
	})
	if err != nil {
		return fmt.Errorf("influx: %w", err)
	}
	return nil
}

func (s *Sink) noteRead(recs []store.Record) {
	n := 0
	for _, r := range recs {
		n += len(r.Measurements)
	}
	s.backlog.Read(recs)
	s.pendingPoints.Add(int64(n))
}

// deliver writes every point of recs, in requests of at most BatchSize
// points. It returns only when all are written or dropped, or ctx is done.
func (s *Sink) deliver(ctx context.Context, recs []store.Record) error {
	var buf []byte
	var lines []string
	gw := ""
	if s.cfg.GatewayTag {
		gw = s.opts.GatewayID
	}
	for _, r := range recs {
		for _, m := range r.Measurements {
			var ok bool
			start := len(buf)
			buf, ok = appendLine(buf, m, gw)
			if !ok {
				s.m.dropped.WithLabelValues(reasonUnrepresentable).Inc()
				s.log.Warn("influx point dropped: cannot be written", "reason", reasonUnrepresentable,
					"dev_eui", m.Device, "quantity", string(m.Quantity), "value", m.Value)
				continue
			}
			// Strings share buf's backing array only until it grows, so
			// copy each line out.
			lines = append(lines, string(buf[start:]))
		}
		buf = buf[:0]
	}
	for i := 0; i < len(lines); i += s.cfg.BatchSize {
		j := min(i+s.cfg.BatchSize, len(lines))
		if err := s.writeLines(ctx, lines[i:j]); err != nil {
			return err
		}
		s.pendingPoints.Add(-int64(j - i))
	}
	return nil
}

// Drop reasons (label values of loraedge_influx_points_dropped_total).
const (
	reasonRejected        = "rejected"        // HTTP 400/422 for this single point
	reasonTooLarge        = "too_large"       // HTTP 413 for this single point
	reasonUnrepresentable = "unrepresentable" // NaN/Inf value, no device or quantity
)

// writeLines writes lines, retrying transient failures until success or
// ctx is done. A rejected batch is bisected until the bad points are
// alone; those are dropped. InfluxDB 1.x writes the good points of a
// rejected batch anyway (partial write), so rewriting them while
// bisecting only overwrites them.
func (s *Sink) writeLines(ctx context.Context, lines []string) error {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		err := s.write.WriteRecord(ctx, lines...)
		s.m.latency.Observe(time.Since(start).Seconds())
		if err == nil {
			s.m.sent.Add(float64(len(lines)))
			if attempt > 0 {
				s.log.Info("influx write succeeded after retries", "attempts", attempt+1, "points", len(lines))
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var herr *ihttp.Error
		status := 0
		var retryAfter time.Duration
		if errors.As(err, &herr) {
			status = herr.StatusCode
			retryAfter = time.Duration(herr.RetryAfter) * time.Second
		}
		switch status {
		case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
			if len(lines) == 1 {
				reason := reasonRejected
				if status == http.StatusRequestEntityTooLarge {
					reason = reasonTooLarge
				}
				s.m.dropped.WithLabelValues(reason).Inc()
				s.log.Warn("influx point dropped", "reason", reason, "status", status, "err", err.Error(), "line", lines[0])
				return nil
			}
			s.m.bisections.Inc()
			h := len(lines) / 2
			if err := s.writeLines(ctx, lines[:h]); err != nil {
				return err
			}
			return s.writeLines(ctx, lines[h:])
		}
		reason := backoff.Reason(status)
		s.m.retries.WithLabelValues(reason).Inc()
		wait := max(s.backoff(attempt), min(retryAfter, s.cfg.MaxBackoff))
		if attempt == 0 || attempt%10 == 0 {
			s.log.Warn("influx write failed, retrying", "reason", reason, "status", status,
				"err", err.Error(), "attempt", attempt+1, "backoff", wait.String(), "points", len(lines))
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// backoff returns the delay before retry attempt+1: MinBackoff doubled per
// attempt up to MaxBackoff, with jitter.
func (s *Sink) backoff(attempt int) time.Duration {
	return backoff.Policy{Min: s.opts.MinBackoff, Max: s.cfg.MaxBackoff}.Delay(attempt)
}
