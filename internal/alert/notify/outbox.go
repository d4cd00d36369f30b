// Package notify delivers alert notifications: it renders them with the
// German and English templates, keeps them in a durable queue in the store
// and sends them by webhook (own JSON or Alertmanager v4), MQTT or e-mail,
// retrying a receiver that is down with exponential back-off. The alert
// engine hands it what to send; it shares no lock and no state with it.
package notify

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/store"
)

// KVStore gives the outbox its durable namespace; *store.Store has it.
type KVStore interface {
	KV(name string) *store.KV
}

// Publisher publishes one MQTT message (internal/mqtt provides it).
type Publisher interface {
	Publish(ctx context.Context, topic string, payload []byte, retained bool) error
}

// Options are the outbox's dependencies. Store is required; MQTT is
// required when an mqtt receiver is configured.
type Options struct {
	Store      KVStore
	MQTT       Publisher
	HTTPClient *http.Client
	// SMTPRoots overrides the system roots for e-mail TLS (a private CA).
	SMTPRoots  *x509.CertPool
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Settings are the parts of the alert configuration that notifications
// follow; Configure swaps them at run time.
type Settings struct {
	Receivers []Receiver
	// Language is the default language of texts ("de" or "en").
	Language string
	// Location is the timezone of times in texts.
	Location *time.Location
	// RetryMin and RetryMax bound the back-off of a failing receiver.
	RetryMin, RetryMax time.Duration
}

type metrics struct {
	sent   *prometheus.CounterVec
	failed *prometheus.CounterVec
	queued prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loraedge_alert_notifications_sent_total",
			Help: "Notifications delivered, by receiver."}, []string{"receiver"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loraedge_alert_notification_attempts_failed_total",
			Help: "Failed delivery attempts (retried from the durable queue), by receiver."}, []string{"receiver"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "loraedge_alert_notifications_queued",
			Help: "Notifications waiting in the durable queue."}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.failed, m.queued)
	}
	return m
}

// item is one rendered notification in the durable queue. It is rendered
// when queued, so it states the values of that moment even when it is
// delivered hours later.
type item struct {
	Seq      uint64    `json:"seq"`
	Receiver string    `json:"receiver"`
	Type     string    `json:"type"`
	Topic    string    `json:"topic,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	Body     []byte    `json:"body"`
	Retained bool      `json:"retained,omitempty"`
	Created  time.Time `json:"created"`
}

// Outbox is the durable notification queue: items are written (fsynced)
// to the store before anything is attempted and deleted after a receiver
// took them. Each receiver gets its items in order; a failing receiver
// backs off exponentially without holding up the others. Its methods are
// safe to call from any goroutine.
type Outbox struct {
	opts Options
	log  *slog.Logger
	m    metrics
	kv   *store.KV
	kick chan struct{}

	mu      sync.Mutex
	set     Settings
	recv    map[string]Receiver
	items   []item
	next    uint64
	backoff map[string]time.Duration
	until   map[string]time.Time
}

// New loads the queued notifications of store KV "alert_outbox".
func New(opts Options, s Settings) (*Outbox, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	o := &Outbox{opts: opts, log: opts.Logger, m: newMetrics(opts.Registerer), kv: opts.Store.KV("alert_outbox"),
		kick: make(chan struct{}, 1), set: s, recv: receiverMap(s.Receivers),
		backoff: map[string]time.Duration{}, until: map[string]time.Time{}}
	err := o.kv.ForEach(func(k, v []byte) error {
		var it item
		if err := json.Unmarshal(v, &it); err != nil {
			o.log.Warn("skip unreadable queued notification", "err", err)
			return nil
		}
		it.Seq = binary.BigEndian.Uint64(k)
		o.items = append(o.items, it)
		o.next = max(o.next, it.Seq+1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load notification queue: %w", err)
	}
	o.m.queued.Set(float64(len(o.items)))
	return o, nil
}

func receiverMap(rs []Receiver) map[string]Receiver {
	m := make(map[string]Receiver, len(rs))
	for _, r := range rs {
		m[r.Name] = r
	}
	return m
}

// Configure swaps receivers, language, timezone and retry bounds. Queued
// items stay; those of a receiver that no longer exists are dropped when
// their turn comes. A receiver whose settings changed is tried again at
// once, not after its back-off.
func (o *Outbox) Configure(s Settings) {
	recv := receiverMap(s.Receivers)
	o.mu.Lock()
	for name, rc := range o.recv {
		if nrc, ok := recv[name]; !ok || !reflect.DeepEqual(rc, nrc) {
			delete(o.backoff, name)
			delete(o.until, name)
		}
	}
	o.set, o.recv = s, recv
	o.mu.Unlock()
	o.wake()
}

func (o *Outbox) wake() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

func seqKey(s uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], s)
	return k[:]
}

// Enqueue renders the notes of one group for the named receiver and stores
// the items before it returns.
func (o *Outbox) Enqueue(receiver, group string, notes []Note, now time.Time) error {
	o.mu.Lock()
	rc, ok := o.recv[receiver]
	x := texts{lang: o.set.Language, loc: o.set.Location}
	o.mu.Unlock()
	if !ok {
		o.mu.Lock()
		names := slices.Sorted(maps.Keys(o.recv))
		o.mu.Unlock()
		return fmt.Errorf("unknown receiver %q%s", receiver, inputerr.Suggest(receiver, names, ""))
	}
	items, err := x.render(rc, group, notes, now)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, it := range items {
		it.Seq = o.next
		it.Receiver, it.Type, it.Created = rc.Name, rc.Type, now
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		if err := o.kv.Put(seqKey(it.Seq), b); err != nil {
			return err
		}
		o.next++
		o.items = append(o.items, it)
	}
	o.m.queued.Set(float64(len(o.items)))
	o.wake()
	return nil
}

// Run delivers until ctx is done. Back-off uses real time: it is about the
// receiver's availability, not about the (possibly virtual) data clock.
func (o *Outbox) Run(ctx context.Context) {
	for {
		wait := o.deliver(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-o.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliver makes one pass and returns how long to sleep.
func (o *Outbox) deliver(ctx context.Context) time.Duration {
	o.mu.Lock()
	items := append([]item(nil), o.items...)
	o.mu.Unlock()
	blocked := map[string]bool{}
	wait := time.Hour
	for _, it := range items {
		if ctx.Err() != nil {
			return 0
		}
		if blocked[it.Receiver] {
			continue
		}
		o.mu.Lock()
		until := o.until[it.Receiver]
		rc, ok := o.recv[it.Receiver]
		o.mu.Unlock()
		if d := time.Until(until); d > 0 {
			blocked[it.Receiver] = true
			wait = min(wait, d)
			continue
		}
		var err error
		if !ok {
			// The receiver was removed from the config: drop its items.
			o.log.Warn("dropping notification for unknown receiver", "receiver", it.Receiver)
		} else {
			err = o.send(ctx, rc, it)
		}
		if err != nil {
			b := o.failed(it, err)
			blocked[it.Receiver] = true
			wait = min(wait, b)
			continue
		}
		o.done(it, ok)
	}
	return wait
}

// failed counts a failed attempt and returns the receiver's new back-off.
func (o *Outbox) failed(it item, err error) time.Duration {
	o.mu.Lock()
	o.m.failed.WithLabelValues(it.Receiver).Inc()
	b := o.backoff[it.Receiver]
	b = min(max(2*b, o.set.RetryMin), o.set.RetryMax)
	o.backoff[it.Receiver] = b
	o.until[it.Receiver] = time.Now().Add(b)
	o.mu.Unlock()
	o.log.Warn("notification failed, will retry", "receiver", it.Receiver, "seq", it.Seq, "retry_in", b, "err", err)
	return b
}

// done removes a delivered (or dropped, when !sent) item.
func (o *Outbox) done(it item, sent bool) {
	o.mu.Lock()
	delete(o.backoff, it.Receiver)
	delete(o.until, it.Receiver)
	for i := range o.items {
		if o.items[i].Seq == it.Seq {
			o.items = append(o.items[:i], o.items[i+1:]...)
			break
		}
	}
	o.m.queued.Set(float64(len(o.items)))
	o.mu.Unlock()
	if sent {
		o.m.sent.WithLabelValues(it.Receiver).Inc()
	}
	if err := o.kv.Delete(seqKey(it.Seq)); err != nil {
		o.log.Error("remove sent notification", "seq", it.Seq, "err", err)
	}
}

// Pending returns the number of notifications waiting for delivery.
func (o *Outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.items)
}
