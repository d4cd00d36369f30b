package sensorthings

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/backoff"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/mqttclient"
	"github.com/loraedge/loraedge/internal/store"
)

// CursorName is the store cursor of the sink.
const CursorName = "sensorthings"

// Options are the sink's dependencies. Zero values take defaults.
type Options struct {
	// Devices tells a device's name, profile and site (the registry); nil:
	// Things carry only the DevEUI.
	Devices func(devEUI string) (Device, bool)
	// Places tells a site's name and position; nil: no Locations.
	Places     func(id string) (Place, bool)
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
	// MinBackoff is the first retry delay, doubled per failure up to
	// Config.MaxBackoff. Default 500 ms.
	MinBackoff time.Duration
	// ClientID ends the MQTT client id (loraedge-sensorthings-<ClientID>);
	// the gateway id, so that two gateways do not take each other's
	// session. Default "loraedge".
	ClientID string
}

// Sink delivers the store's log to a SensorThings server. Run it once.
type Sink struct {
	cfg  Config
	opts Options
	log  *slog.Logger
	st   *store.Store
	cur  *store.Cursor
	c    *client
	res  *resolver
	m    *metrics

	backoff backoff.Policy
	mq      *mqttclient.Conn // nil until the first publish, and after a failure

	// suspect is set when the server may hold observations the sink has
	// not seen confirmed: at start (a crash after the server's answer and
	// before the cursor's commit) and after a failed request. The next
	// request then checks what is there before sending (see dedupe).
	suspect bool

	backlog   store.Backlog
	closeOnce sync.Once
}

// New creates a sink for st and opens its cursor. Like influx.New, it does
// not look at cfg.Enabled: a caller with the sink disabled removes the
// cursor instead.
func New(st *store.Store, cfg Config, opts Options) (*Sink, error) {
	if !cfg.Enabled {
		cfg.Enabled = true // Validate checks only enabled sections
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sensorthings: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Devices == nil {
		opts.Devices = func(string) (Device, bool) { return Device{}, false }
	}
	if opts.Places == nil {
		opts.Places = func(string) (Place, bool) { return Place{}, false }
	}
	if opts.ClientID == "" {
		opts.ClientID = "loraedge"
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 500 * time.Millisecond
	}
	opts.MinBackoff = min(opts.MinBackoff, cfg.MaxBackoff)
	cur, err := st.OpenCursor(CursorName)
	if err != nil {
		return nil, fmt.Errorf("sensorthings: %w", err)
	}
	s := &Sink{cfg: cfg, opts: opts, log: opts.Logger.With("component", "sensorthings"), st: st, cur: cur,
		c: newClient(cfg), suspect: true, backoff: backoff.Policy{Min: opts.MinBackoff, Max: cfg.MaxBackoff}}
	s.m = newMetrics(opts.Registerer, s)
	s.res = newResolver(s.c, cfg.Version, opts.Devices, opts.Places, func(kind string) {
		s.m.created.WithLabelValues(kind).Inc()
		s.log.Info("sensorthings entity created", "kind", kind)
	})
	return s, nil
}

// Close releases the cursor. Run calls it on return.
func (s *Sink) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.cur.Close()
		s.c.http.CloseIdleConnections()
		s.dropMQTT()
		s.m.unregister()
	})
	return err
}

// Run delivers the log until ctx is done (returning nil) or the store
// fails.
func (s *Sink) Run(ctx context.Context) error {
	defer s.Close()
	s.log.Info("sensorthings sink started", "url", s.cfg.URL, "version", s.cfg.Version, "position", s.cur.Position())
	if err := s.cur.Deliver(ctx, s.cfg.BatchSize, s.cfg.FlushInterval, s.deliverRecords); err != nil {
		return fmt.Errorf("sensorthings: %w", err)
	}
	return nil
}

// deliverRecords delivers the measurements of recs in requests of at most
// BatchSize observations.
func (s *Sink) deliverRecords(ctx context.Context, recs []store.Record) error {
	s.backlog.Read(recs)
	defer s.backlog.Delivered()
	var ms []measurement.Measurement
	for _, r := range recs {
		ms = append(ms, r.Measurements...)
	}
	for i := 0; i < len(ms); i += s.cfg.BatchSize {
		if err := s.deliver(ctx, ms[i:min(i+s.cfg.BatchSize, len(ms))]); err != nil {
			return err
		}
	}
	return nil
}

// row is one observation on its way: its measurement and Datastream.
type row struct {
	m  measurement.Measurement
	ds json.RawMessage
}

// Rejection reasons (label values of loraedge_sensorthings_observations_rejected_total).
const (
	reasonServer          = "server"          // the server refused the observation
	reasonEntity          = "entity"          // the server refused its Datastream (or Thing, Sensor...)
	reasonUnrepresentable = "unrepresentable" // NaN or Inf: JSON has no such number
)

// deliver resolves the Datastreams of ms and sends them, retrying until
// every observation is created or rejected, or ctx is done. Observations
// refused because their Datastream was deleted on the server (the cached
// id is stale) are sent once more to the Datastream found or created anew.
func (s *Sink) deliver(ctx context.Context, ms []measurement.Measurement) error {
	rows, err := s.resolveRetrying(ctx, ms)
	if err != nil {
		return err
	}
	refused, err := s.send(ctx, rows)
	if err != nil || len(refused) == 0 {
		return err
	}
	var gone []measurement.Measurement
	for attempt := 0; ; attempt++ {
		gone, err = s.stale(ctx, refused)
		if err == nil {
			break
		}
		if err := s.wait(ctx, attempt, "check refused Datastreams", err); err != nil {
			return err
		}
	}
	for _, r := range refused {
		if !slices.ContainsFunc(gone, func(m measurement.Measurement) bool { return m.SeriesKey() == r.m.SeriesKey() }) {
			s.reject(reasonServer, r.m, nil)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	s.log.Warn("sensorthings datastreams deleted on the server, finding them again", "observations", len(gone))
	s.res.reset()
	if rows, err = s.resolveRetrying(ctx, gone); err != nil {
		return err
	}
	refused, err = s.send(ctx, rows)
	for _, r := range refused {
		s.reject(reasonServer, r.m, nil)
	}
	return err
}

func (s *Sink) resolveRetrying(ctx context.Context, ms []measurement.Measurement) ([]row, error) {
	for attempt := 0; ; attempt++ {
		rows, err := s.resolve(ctx, ms)
		if err == nil {
			return rows, nil
		}
		if err := s.wait(ctx, attempt, "resolve entities", err); err != nil {
			return nil, err
		}
	}
}

// stale returns the measurements of refused whose Datastream no longer
// exists on the server.
func (s *Sink) stale(ctx context.Context, refused []row) ([]measurement.Measurement, error) {
	exists := map[string]bool{}
	var gone []measurement.Measurement
	for _, r := range refused {
		k := string(r.ds)
		if _, checked := exists[k]; !checked {
			err := s.c.do(ctx, "GET", "Datastreams("+idString(r.ds)+")", nil, nil)
			switch {
			case err == nil:
				exists[k] = true
			case statusOf(err) == http.StatusNotFound:
				exists[k] = false
			default:
				return nil, err
			}
		}
		if !exists[k] {
			gone = append(gone, r.m)
		}
	}
	return gone, nil
}

// resolve maps each measurement to its Datastream; those the server will
// not take are counted and left out.
func (s *Sink) resolve(ctx context.Context, ms []measurement.Measurement) ([]row, error) {
	rows := make([]row, 0, len(ms))
	refused := map[string]bool{}
	for _, m := range ms {
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) || m.Device == "" || m.Quantity == "" {
			s.reject(reasonUnrepresentable, m, nil)
			continue
		}
		if refused[m.SeriesKey()] {
			s.reject(reasonEntity, m, nil)
			continue
		}
		ds, err := s.res.datastream(ctx, m)
		if rejected(err) {
			refused[m.SeriesKey()] = true
			s.reject(reasonEntity, m, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{m: m, ds: ds})
	}
	return rows, nil
}

func (s *Sink) reject(reason string, m measurement.Measurement, err error) {
	s.m.rejected.WithLabelValues(reason).Inc()
	args := []any{"reason", reason, "dev_eui", m.Device, "quantity", string(m.Quantity), "value", m.Value, "time", m.Time}
	if err != nil {
		args = append(args, "err", err.Error())
	}
	s.log.Warn("sensorthings observation rejected", args...)
}

// wait logs a failed attempt and sleeps its backoff.
func (s *Sink) wait(ctx context.Context, attempt int, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.suspect = true
	reason := backoff.Reason(statusOf(err))
	s.m.retries.WithLabelValues(reason).Inc()
	d := s.backoff.Delay(attempt)
	if attempt == 0 || attempt%10 == 0 {
		s.log.Warn("sensorthings request failed, retrying", "what", what, "reason", reason, "err", err.Error(),
			"attempt", attempt+1, "backoff", d.String())
	}
	return backoff.Sleep(ctx, d)
}
