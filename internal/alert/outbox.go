package alert

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/store"
)

type metrics struct {
	dropped   prometheus.Counter
	sent      *prometheus.CounterVec
	failed    *prometheus.CounterVec
	queued    prometheus.Gauge
	evaluated prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "loraedge_alert_observe_dropped_total",
			Help: "Measurement batches dropped because the alert evaluation queue was full."}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loraedge_alert_notifications_sent_total",
			Help: "Notifications delivered, by receiver."}, []string{"receiver"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loraedge_alert_notification_attempts_failed_total",
			Help: "Failed delivery attempts (retried from the durable queue), by receiver."}, []string{"receiver"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "loraedge_alert_notifications_queued",
			Help: "Notifications waiting in the durable queue."}),
		evaluated: prometheus.NewCounter(prometheus.CounterOpts{Name: "loraedge_alert_batches_evaluated_total",
			Help: "Measurement batches evaluated."}),
	}
	if reg != nil {
		reg.MustRegister(m.dropped, m.sent, m.failed, m.queued, m.evaluated)
	}
	return m
}

// outItem is one rendered notification in the durable queue. It is
// rendered when queued, so it states the values of that moment even when
// it is delivered hours later.
type outItem struct {
	Seq      uint64    `json:"seq"`
	Receiver string    `json:"receiver"`
	Type     string    `json:"type"`
	Topic    string    `json:"topic,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	Body     []byte    `json:"body"`
	Retained bool      `json:"retained,omitempty"`
	Created  time.Time `json:"created"`
}

// outbox is the durable notification queue: items are written (fsynced)
// to the store before anything is attempted and deleted after a receiver
// took them. Each receiver gets its items in order; a failing receiver
// backs off exponentially without holding up the others.
type outbox struct {
	e    *Engine
	kv   *store.KV
	kick chan struct{}

	mu      sync.Mutex
	items   []outItem
	next    uint64
	backoff map[string]time.Duration
	until   map[string]time.Time
}

func newOutbox(e *Engine) (*outbox, error) {
	o := &outbox{e: e, kv: e.opts.Store.KV("alert_outbox"), kick: make(chan struct{}, 1),
		backoff: map[string]time.Duration{}, until: map[string]time.Time{}}
	err := o.kv.ForEach(func(k, v []byte) error {
		var it outItem
		if err := json.Unmarshal(v, &it); err != nil {
			e.log.Warn("skip unreadable queued notification", "err", err)
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
	e.m.queued.Set(float64(len(o.items)))
	return o, nil
}

func seqKey(s uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], s)
	return k[:]
}

// enqueue renders the notes for receiver rc and stores the items.
func (o *outbox) enqueue(rc ReceiverConfig, group string, notes []note, now time.Time) error {
	items, err := o.e.render(rc, group, notes, now)
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
	o.e.m.queued.Set(float64(len(o.items)))
	select {
	case o.kick <- struct{}{}:
	default:
	}
	return nil
}

// run delivers until ctx is done. Back-off uses real time: it is about the
// receiver's availability, not about the (possibly virtual) data clock.
func (o *outbox) run(ctx context.Context) {
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
func (o *outbox) deliver(ctx context.Context) time.Duration {
	o.mu.Lock()
	items := append([]outItem(nil), o.items...)
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
		// Reload swaps e.recv and e.cfg under o.mu (and e.mu, which this
		// goroutine never takes: a slow receiver must not hold up evaluation).
		o.mu.Lock()
		until := o.until[it.Receiver]
		rc, ok := o.e.recv[it.Receiver]
		o.mu.Unlock()
		if d := time.Until(until); d > 0 {
			blocked[it.Receiver] = true
			wait = min(wait, d)
			continue
		}
		var err error
		if !ok {
			// The receiver was removed from the config: drop its items.
			o.e.log.Warn("dropping notification for unknown receiver", "receiver", it.Receiver)
		} else {
			err = o.e.send(ctx, rc, it)
		}
		o.mu.Lock()
		if err != nil {
			o.e.m.failed.WithLabelValues(it.Receiver).Inc()
			b := o.backoff[it.Receiver]
			b = min(max(2*b, o.e.cfg.RetryMin), o.e.cfg.RetryMax)
			o.backoff[it.Receiver] = b
			o.until[it.Receiver] = time.Now().Add(b)
			blocked[it.Receiver] = true
			wait = min(wait, b)
			o.mu.Unlock()
			o.e.log.Warn("notification failed, will retry", "receiver", it.Receiver, "seq", it.Seq, "retry_in", b, "err", err)
			continue
		}
		delete(o.backoff, it.Receiver)
		delete(o.until, it.Receiver)
		for i := range o.items {
			if o.items[i].Seq == it.Seq {
				o.items = append(o.items[:i], o.items[i+1:]...)
				break
			}
		}
		o.e.m.queued.Set(float64(len(o.items)))
		o.mu.Unlock()
		if ok {
			o.e.m.sent.WithLabelValues(it.Receiver).Inc()
		}
		if err := o.kv.Delete(seqKey(it.Seq)); err != nil {
			o.e.log.Error("remove sent notification", "seq", it.Seq, "err", err)
		}
	}
	return wait
}

// Pending returns the number of notifications waiting for delivery.
func (e *Engine) Pending() int {
	e.out.mu.Lock()
	defer e.out.mu.Unlock()
	return len(e.out.items)
}
