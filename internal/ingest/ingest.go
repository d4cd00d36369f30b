// Package ingest turns verified uplinks into stored measurements: it decodes
// each uplink with its device's firmware profile and appends the
// measurements to the store.
//
// The network layer hands uplinks over from its processing loop, which must
// never wait for a disk, so HandleUplink only queues (bounded; a full queue
// drops and counts). One worker drains the queue in batches and hands each
// to the store without waiting for its fsync (AppendAsync): the store's
// group commit then serves many batches at once, and observers hear about
// a batch only once it is durable. HandleUplinkDurable also tells the
// caller (the network layer, holding a confirmed uplink's ACK) when that
// happened for its uplink.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/uplink"
)

// Appender stores measurements durably: done is called once they are
// synced (nil) or lost (the error); an error returned instead means done is
// not called. It blocks while the store's queue is full.
type Appender interface {
	AppendAsync(ctx context.Context, ms []measurement.Measurement, done func(error)) error
}

// Observer is told about every batch of measurements after it is stored,
// e.g. the alert engine and the live view. Observe runs on the store's
// commit goroutine: it must return quickly and never block.
type Observer interface {
	Observe(ms []measurement.Measurement)
}

// Deriver adds measurements derived from a device's decoded ones, given
// the device's site (internal/gauge: water levels and their rate), and
// may mark readings in place. It runs on the ingest worker.
type Deriver interface {
	Derive(site string, ms []measurement.Measurement) []measurement.Measurement
}

// ResultObserver hears what became of each uplink: stored, decode error
// and its message, nothing to store (the daemon's frame log). It must not
// block.
type ResultObserver interface {
	ObserveResult(devEUI string, fcnt uint32, result, reason string)
}

// result tells Options.Results about up.
func (i *Ingester) result(up uplink.Uplink, result, reason string) {
	if i.opts.Results != nil {
		i.opts.Results.ObserveResult(up.DevEUI.String(), up.FCnt, result, reason)
	}
}

// ErrQueueFull is returned by HandleUplink when the uplink was dropped.
var ErrQueueFull = errors.New("ingest: queue full, uplink dropped")

// Options configures an Ingester.
type Options struct {
	Devices   *device.Registry // required
	Profiles  *profile.Set     // required
	Store     Appender         // required
	Observers []Observer
	// Derive, when set, derives measurements for devices with a site.
	Derive Deriver
	// Results hears what became of each uplink (nil: nobody).
	Results ResultObserver
	// QueueSize bounds the uplinks waiting to be decoded and stored (4096).
	QueueSize int
	// BatchSize is the most uplinks one worker stores in one Append (512).
	BatchSize  int
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Ingester decodes and stores uplinks.
type Ingester struct {
	opts     Options
	log      *slog.Logger
	in       chan queued
	profiles atomic.Pointer[profile.Set]

	uplinks      *prometheus.CounterVec
	decodeErrors *prometheus.CounterVec
	stored       prometheus.Counter
	dropped      prometheus.Counter
	appendErrors prometheus.Counter
	latency      prometheus.Histogram
}

var _ uplink.DurableHandler = (*Ingester)(nil)

// queued is an uplink waiting for the worker and whom to tell once its
// measurements are durable (nil: nobody).
type queued struct {
	up   uplink.Uplink
	done func(error)
}

// New checks opts and fills defaults.
func New(opts Options) (*Ingester, error) {
	if opts.Devices == nil || opts.Profiles == nil || opts.Store == nil {
		return nil, errors.New("ingest: Devices, Profiles and Store are required")
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	i := &Ingester{
		opts: opts,
		log:  opts.Logger.With("component", "ingest"),
		in:   make(chan queued, opts.QueueSize),
		uplinks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_ingest_uplinks_total",
			Help: "Uplinks by ingest result: stored, no_profile, unknown_device, decode_error, store_error.",
		}, []string{"result"}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_ingest_decode_errors_total",
			Help: "Payloads a firmware profile could not decode, by profile.",
		}, []string{"profile"}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_ingest_measurements_stored_total",
			Help: "Measurements appended to the store.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_ingest_queue_dropped_total",
			Help: "Uplinks dropped because the ingest queue was full.",
		}),
		appendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_ingest_append_errors_total",
			Help: "Batches the store refused.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "loraedge_ingest_latency_seconds",
			Help: "Time from the first UDP reception of an uplink to its measurements being durably stored.",
			// The dedup window (200 ms by default) dominates; the budget is
			// window + 20 ms, so the buckets are fine just above it.
			Buckets: []float64{.05, .1, .15, .2, .205, .21, .215, .22, .225, .23, .24, .25, .3, .4, .5, .75, 1, 1.5, 2, 3, 5, 10},
		}),
	}
	i.profiles.Store(opts.Profiles)
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{i.uplinks, i.decodeErrors, i.stored, i.dropped, i.appendErrors, i.latency} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("ingest metrics: %w", err)
			}
		}
	}
	return i, nil
}

// SetProfiles switches to a reloaded profile set; uplinks in flight finish
// with the old one.
func (i *Ingester) SetProfiles(s *profile.Set) { i.profiles.Store(s) }

// HandleUplink queues up for decoding and storing; it never blocks.
func (i *Ingester) HandleUplink(ctx context.Context, up uplink.Uplink) error {
	return i.HandleUplinkDurable(ctx, up, nil)
}

// HandleUplinkDurable queues up like HandleUplink and calls done once its
// measurements are synced (nil), could not be stored (the error), or at
// once with nil after decoding when up yields none. A full queue returns
// ErrQueueFull and done is not called.
func (i *Ingester) HandleUplinkDurable(_ context.Context, up uplink.Uplink, done func(error)) error {
	select {
	case i.in <- queued{up: up, done: done}:
		return nil
	default:
		i.dropped.Inc()
		return ErrQueueFull
	}
}

// Run stores queued uplinks until ctx is done, then stores what is still
// queued and waits until all of it is synced: stop the sources before
// cancelling ctx, and the store after Run returned, so that nothing
// accepted is lost on shutdown.
func (i *Ingester) Run(ctx context.Context) error {
	var pending sync.WaitGroup
	// A batch taken from the queue is stored even when ctx ends meanwhile:
	// cancelling it would lose uplinks already accepted.
	sctx := context.WithoutCancel(ctx)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case q := <-i.in:
			i.store(sctx, i.take([]queued{q}), &pending)
		}
	}
	dctx, cancel := context.WithTimeout(sctx, 30*time.Second)
	defer cancel()
	for batch := i.take(nil); len(batch) > 0; batch = i.take(nil) {
		i.store(dctx, batch, &pending)
	}
	pending.Wait()
	return nil
}

// take adds what is queued, up to BatchSize, without waiting.
func (i *Ingester) take(batch []queued) []queued {
	for len(batch) < i.opts.BatchSize {
		select {
		case q := <-i.in:
			batch = append(batch, q)
		default:
			return batch
		}
	}
	return batch
}

func (i *Ingester) store(ctx context.Context, batch []queued, pending *sync.WaitGroup) {
	var ms []measurement.Measurement
	var received []time.Time
	var dones []func(error)
	var ups []uplink.Uplink
	n := 0
	for _, q := range batch {
		got, ok := i.decode(q.up)
		if !ok {
			if q.done != nil {
				q.done(nil) // nothing to store, nothing to wait for
			}
			continue
		}
		ms = append(ms, got...)
		n++
		ups = append(ups, q.up)
		if len(q.up.RxInfo) > 0 {
			received = append(received, firstReception(q.up.RxInfo))
		}
		if q.done != nil {
			dones = append(dones, q.done)
		}
	}
	if len(ms) == 0 {
		return
	}
	failed := func(err error) {
		i.appendErrors.Inc()
		i.uplinks.WithLabelValues("store_error").Add(float64(n))
		i.log.Error("store append failed", "measurements", len(ms), "uplinks", n, "err", err)
		for _, up := range ups {
			i.result(up, uplink.ResultStoreError, err.Error())
		}
		for _, d := range dones {
			d(err)
		}
	}
	pending.Add(1)
	err := i.opts.Store.AppendAsync(ctx, ms, func(err error) {
		defer pending.Done()
		if err != nil {
			failed(err)
			return
		}
		for _, d := range dones {
			d(nil)
		}
		i.uplinks.WithLabelValues("stored").Add(float64(n))
		for _, up := range ups {
			i.result(up, uplink.ResultStored, "")
		}
		i.stored.Add(float64(len(ms)))
		now := time.Now()
		for _, r := range received {
			i.latency.Observe(now.Sub(r).Seconds())
		}
		for _, o := range i.opts.Observers {
			o.Observe(ms)
		}
	})
	if err != nil {
		pending.Done()
		failed(err)
	}
}

// decode maps one uplink to measurements; false means nothing to store.
func (i *Ingester) decode(up uplink.Uplink) ([]measurement.Measurement, bool) {
	eui := up.DevEUI.String()
	dev, ok := i.opts.Devices.Get(up.DevEUI)
	if !ok {
		// Removed between verification and now.
		i.uplinks.WithLabelValues("unknown_device").Inc()
		return nil, false
	}
	// The device status of the frame's MAC commands is stored whatever the
	// payload: a frame may carry it alone (FPort 0 or no FRMPayload).
	ms := macMeasurements(eui, up)
	if dev.Profile == "" || up.FPort == 0 || len(up.Payload) == 0 && up.MAC != nil {
		if len(ms) == 0 {
			i.uplinks.WithLabelValues("no_profile").Inc()
			reason := "FPort 0 or no payload"
			if dev.Profile == "" {
				reason = "the device has no firmware profile"
			}
			i.result(up, uplink.ResultNoPayload, reason)
			return nil, false
		}
	} else {
		app, res, err := i.profiles.Load().Decode(dev.Profile, codec.Input{FPort: up.FPort, Bytes: up.Payload, RecvTime: up.Time}, eui)
		if err != nil {
			i.uplinks.WithLabelValues("decode_error").Inc()
			i.decodeErrors.WithLabelValues(dev.Profile).Inc()
			i.log.Warn("payload not decoded", "dev_eui", eui, "profile", dev.Profile, "f_port", up.FPort, "f_cnt", up.FCnt, "err", err)
			i.result(up, uplink.ResultDecodeError, err.Error())
			if len(ms) == 0 {
				return nil, false
			}
		}
		for _, w := range res.Warnings {
			i.log.Debug("decoder warning", "dev_eui", eui, "profile", dev.Profile, "warning", w)
		}
		ms = append(withoutShadowed(ms, app), app...)
	}
	// The frame counter makes the measurement's id (measurement.ID) the same
	// wherever it is computed; the store sequence is local to this instance.
	fcnt := strconv.FormatUint(uint64(up.FCnt), 10)
	for k := range ms {
		if ms[k].Meta == nil {
			ms[k].Meta = map[string]string{}
		}
		ms[k].Meta[measurement.MetaFCnt] = fcnt
	}
	if dev.Site != "" {
		for k := range ms {
			if ms[k].Meta == nil {
				ms[k].Meta = map[string]string{}
			}
			ms[k].Meta["site"] = dev.Site
		}
		if i.opts.Derive != nil {
			ms = i.opts.Derive.Derive(dev.Site, ms)
		}
	}
	i.log.Debug("uplink decoded", "dev_eui", eui, "f_cnt", up.FCnt, "measurements", len(ms))
	return ms, true
}

// macMeasurements turns the frame's DevStatusAns into battery_percent (not
// for external power or an unmeasured level) and demodulation_margin.
func macMeasurements(eui string, up uplink.Uplink) []measurement.Measurement {
	if up.MAC == nil {
		return nil
	}
	ms := []measurement.Measurement{{
		Device: eui, Quantity: measurement.DemodulationMargin, Value: float64(up.MAC.Margin),
		Unit: measurement.Units[measurement.DemodulationMargin], Time: up.Time,
	}}
	if pct, ok := up.MAC.BatteryPercent(); ok {
		ms = append(ms, measurement.Measurement{
			Device: eui, Quantity: measurement.BatteryPercent, Value: pct,
			Unit: measurement.Units[measurement.BatteryPercent], Time: up.Time,
		})
	}
	return ms
}

// withoutShadowed leaves out the device-status measurements that the
// payload itself carries at the same time: the device's own battery
// reading is finer than DevStatusAns's 254 steps, and two values of one
// series at one time would collide in the store.
func withoutShadowed(mac, app []measurement.Measurement) []measurement.Measurement {
	out := mac[:0:0]
	for _, m := range mac {
		shadowed := false
		for _, a := range app {
			if a.Quantity == m.Quantity && a.Channel == m.Channel && a.Time.Equal(m.Time) {
				shadowed = true
				break
			}
		}
		if !shadowed {
			out = append(out, m)
		}
	}
	return out
}

func firstReception(rx []uplink.RxInfo) time.Time {
	first := rx[0].ReceivedAt
	for _, r := range rx[1:] {
		if r.ReceivedAt.Before(first) {
			first = r.ReceivedAt
		}
	}
	return first
}
