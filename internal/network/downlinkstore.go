package network

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/brocaar/lorawan"
	bolt "go.etcd.io/bbolt"
)

// The application downlink queue is kept in bbolt so that an item queued
// (a valve's close) survives a restart or a power cut. An item is written
// before EnqueueDownlink returns; popping it, or marking a confirmed one
// sent, is written in the same transaction as the session whose frame
// counter the transmission used, so a crash can neither send an item and
// keep it nor lose a confirmed one not yet acknowledged.
var (
	bucketDownlinks    = []byte("network_downlinks")
	bucketDownlinkMeta = []byte("network_downlink_meta")
	keyDownlinkSeq     = []byte("seq")
)

// resultExpired (label "result" of loraedge_network_downlinks_total) is a
// queued downlink dropped unsent, or not retried, after its expiry.
const resultExpired = "expired"

// ErrExpired is returned by EnqueueDownlinkExpiring for an expiry already
// past (negative).
var ErrExpired = errors.New("network: downlink expiry already passed")

// downlinkQueue is the queue's bookkeeping besides Server.queues.
type downlinkQueue struct {
	// enq serialises enqueues, so items are written and appended in the
	// order of their sequence numbers and the size bound holds.
	enq sync.Mutex
	seq uint64 // last sequence number given out; guarded by Server.mu
}

// queueOp is one change to a stored queue item: written (put) or deleted.
type queueOp struct {
	item queueItem
	put  bool
}

// queueRecord is the stored form of a queueItem.
type queueRecord struct {
	ID        string    `json:"id"`
	FPort     uint8     `json:"fport"`
	Payload   []byte    `json:"payload"`
	Confirmed bool      `json:"confirmed,omitempty"`
	Sent      bool      `json:"sent,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	Expires   time.Time `json:"expires,omitzero"`
}

func queueKey(eui lorawan.EUI64, seq uint64) []byte {
	k := make([]byte, 16)
	copy(k, eui[:])
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

func putQueued(tx *bolt.Tx, it queueItem) error {
	v, err := json.Marshal(queueRecord{ID: it.ID, FPort: it.FPort, Payload: it.Payload, Confirmed: it.Confirmed,
		Sent: it.sent, Attempts: it.attempts, Expires: it.expires})
	if err != nil {
		return fmt.Errorf("downlink %s: %w", it.ID, err)
	}
	return tx.Bucket(bucketDownlinks).Put(queueKey(it.dev, it.seq), v)
}

// applyQueueOps writes ops inside a state commit.
func applyQueueOps(tx *bolt.Tx, ops []queueOp) error {
	for _, op := range ops {
		if !op.put {
			if err := tx.Bucket(bucketDownlinks).Delete(queueKey(op.item.dev, op.item.seq)); err != nil {
				return err
			}
			continue
		}
		if err := putQueued(tx, op.item); err != nil {
			return err
		}
	}
	return nil
}

// enqueue stores a new item and the sequence number it used, fsync'd.
func (st *BoltState) enqueue(it queueItem) error {
	err := st.db.Update(func(tx *bolt.Tx) error {
		var seq [8]byte
		binary.BigEndian.PutUint64(seq[:], it.seq)
		if err := tx.Bucket(bucketDownlinkMeta).Put(keyDownlinkSeq, seq[:]); err != nil {
			return err
		}
		return putQueued(tx, it)
	})
	if err != nil {
		return fmt.Errorf("store downlink %s: %w", it.ID, err)
	}
	return nil
}

// putQueue writes items outside a session commit (a deferred item).
func (st *BoltState) putQueue(items ...queueItem) error {
	err := st.db.Update(func(tx *bolt.Tx) error {
		for _, it := range items {
			if err := putQueued(tx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store downlink queue: %w", err)
	}
	return nil
}

// loadQueues reads every stored item, in queue order per device, and the
// last sequence number given out. A database written before the queue was
// kept (sessions, but no sequence) starts the sequence at the clock's
// milliseconds, so no id given out before the upgrade is given out again;
// the sequence is stored at once, so this happens only at the upgrade.
func (st *BoltState) loadQueues(now time.Time) (map[lorawan.EUI64][]queueItem, uint64, error) {
	queues := make(map[lorawan.EUI64][]queueItem)
	var seq uint64
	err := st.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketDownlinkMeta)
		if v := meta.Get(keyDownlinkSeq); len(v) == 8 {
			seq = binary.BigEndian.Uint64(v)
		} else {
			if k, _ := tx.Bucket(bucketSessions).Cursor().First(); k != nil {
				seq = uint64(now.UnixMilli())
			}
			if err := meta.Put(keyDownlinkSeq, binary.BigEndian.AppendUint64(nil, seq)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketDownlinks).ForEach(func(k, v []byte) error {
			var r queueRecord
			if len(k) != 16 {
				return fmt.Errorf("downlink key %x: bad length", k)
			}
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("downlink %x: %w", k, err)
			}
			var eui lorawan.EUI64
			copy(eui[:], k[:8])
			it := queueItem{ID: r.ID, dev: eui, seq: binary.BigEndian.Uint64(k[8:]), FPort: r.FPort, Payload: r.Payload,
				Confirmed: r.Confirmed, sent: r.Sent, attempts: r.Attempts, expires: r.Expires}
			seq = max(seq, it.seq)
			queues[eui] = append(queues[eui], it)
			return nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("load downlink queue: %w", err)
	}
	return queues, seq, nil
}

// loadSessionsAndQueues loads the stored sessions and downlink queues.
func (s *Server) loadSessionsAndQueues() ([]*session, error) {
	sessions, err := s.state.loadSessions()
	if err != nil {
		return nil, err
	}
	queues, seq, err := s.state.loadQueues(s.now())
	if err != nil {
		return nil, err
	}
	n := 0
	for eui, q := range queues {
		n += len(q)
		if len(q) > s.opts.DownlinkQueueSize {
			// Kept: nothing accepted is dropped; new items wait for room.
			s.log.Warn("stored downlink queue above network.downlink_queue_size", "dev_eui", eui.String(), "items", len(q))
		}
	}
	s.queues, s.dlq.seq = queues, seq
	if n > 0 {
		s.log.Info("downlink queue loaded", "items", n, "devices", len(queues))
	}
	return sessions, nil
}

// EnqueueDownlinkExpiring queues an application payload as EnqueueDownlink
// does; a positive expiry is how long from now it may be sent: after that
// it is neither sent nor retried but dropped, counted and reported as
// OutcomeExpired (0: never expires). It is a duration, not an instant, so
// a caller on a simulation's clock means the same span. The item is stored
// (fsync'd) when this returns.
func (s *Server) EnqueueDownlinkExpiring(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool, expiry time.Duration) (string, error) {
	if err := s.checkDownlink(devEUI, fport, payload); err != nil {
		return "", err
	}
	if expiry < 0 {
		return "", fmt.Errorf("enqueue downlink %s: %w (%s ago)", devEUI, ErrExpired, -expiry)
	}
	var expires time.Time
	if expiry > 0 {
		expires = s.now().Add(expiry)
	}
	s.dlq.enq.Lock()
	defer s.dlq.enq.Unlock()
	s.mu.Lock()
	if len(s.queues[devEUI]) >= s.opts.DownlinkQueueSize {
		s.mu.Unlock()
		s.m.queueDropped.Inc()
		return "", fmt.Errorf("enqueue downlink %s: %w", devEUI, ErrQueueFull)
	}
	s.dlq.seq++
	it := queueItem{ID: fmt.Sprintf("%s-%d", devEUI, s.dlq.seq), dev: devEUI, seq: s.dlq.seq, FPort: fport,
		Payload: slices.Clone(payload), Confirmed: confirmed, expires: expires}
	s.mu.Unlock()
	if err := s.state.enqueue(it); err != nil {
		return "", fmt.Errorf("enqueue downlink %s: %w", devEUI, err)
	}
	s.mu.Lock()
	s.queues[devEUI] = append(s.queues[devEUI], it)
	s.mu.Unlock()
	s.kickClassC(devEUI)
	return it.ID, nil
}

// expired reports whether the item may no longer be sent at now.
func (it *queueItem) expired(now time.Time) bool {
	return !it.expires.IsZero() && now.After(it.expires)
}

// dropExpired removes the device's expired items from its queue (the
// deletes go into b), counts and reports them. The caller holds s.mu.
func (s *Server) dropExpired(eui lorawan.EUI64, now time.Time, b *batch) {
	q := s.queues[eui]
	if !slices.ContainsFunc(q, func(it queueItem) bool { return it.expired(now) }) {
		return
	}
	keep := q[:0:0]
	for _, it := range q {
		if !it.expired(now) {
			keep = append(keep, it)
			continue
		}
		s.m.downlinks.WithLabelValues("data", resultExpired).Inc()
		s.log.Warn("queued downlink expired, dropped", "dev_eui", eui.String(), "id", it.ID, "expires", it.expires, "sent", it.sent)
		reason := "not sent before " + it.expires.UTC().Format(time.RFC3339)
		if it.sent {
			reason = "not acknowledged before " + it.expires.UTC().Format(time.RFC3339)
		}
		s.reportOutcome(refOf(&it), OutcomeExpired, reason)
		b.queueOp(it, false)
	}
	s.queues[eui] = keep
}

// expireQueues drops the expired items of every queue, so the outcome of
// an action for a silent device is known at its expiry.
func (s *Server) expireQueues(now time.Time, b *batch) {
	for eui := range s.queues {
		s.dropExpired(eui, now, b)
	}
}

// queueOp records a change to a stored queue item for the batch's commit.
func (b *batch) queueOp(it queueItem, put bool) {
	b.mutations = true
	b.queue = append(b.queue, queueOp{item: it, put: put})
}

// storeDeferred writes a deferred item back: it was deleted (unconfirmed)
// or marked sent (confirmed) when planned.
func (s *Server) storeDeferred(it queueItem) {
	if err := s.state.putQueue(it); err != nil {
		s.log.Error("store deferred downlink", "dev_eui", it.dev.String(), "id", it.ID, "err", err)
	}
}

// requeueItem puts an item back into its device's queue at its place by
// sequence number. The caller holds s.mu.
func (s *Server) requeueItem(it queueItem) {
	q := s.queues[it.dev]
	i, _ := slices.BinarySearchFunc(q, it.seq, func(x queueItem, seq uint64) int {
		switch {
		case x.seq < seq:
			return -1
		case x.seq > seq:
			return 1
		}
		return 0
	})
	s.queues[it.dev] = slices.Insert(q, i, it)
}
