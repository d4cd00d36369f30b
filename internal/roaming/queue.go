package roaming

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// queue is the durable queue of PRStartReqs for unreachable homes: one
// bbolt bucket per home, keyed by a growing sequence, so a restart during
// an outage loses nothing and delivery keeps the order of reception (the
// home's frame counter rules need it).
type queue struct {
	db    *bolt.DB
	limit int

	mu     sync.Mutex
	counts map[string]int // per bucket, read from bbolt once
	// pushMu makes the bound check and the write of a push one step: the
	// requests in flight to a home queue their frames concurrently.
	pushMu sync.Mutex
}

func openQueue(path string, limit int) (*queue, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 0})
	if err != nil {
		return nil, fmt.Errorf("roaming queue: %w", err)
	}
	return &queue{db: db, limit: limit, counts: map[string]int{}}, nil
}

func (q *queue) close() error { return q.db.Close() }

// errQueueFull is returned by push at the bound.
var errQueueFull = errors.New("roaming queue full")

// push appends a message for the home named by bucket.
func (q *queue) push(bucket string, msg []byte) error {
	q.pushMu.Lock()
	defer q.pushMu.Unlock()
	if q.depth(bucket) >= q.limit {
		return errQueueFull
	}
	err := q.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(binary.BigEndian.AppendUint64(nil, seq), msg)
	})
	if err == nil {
		q.mu.Lock()
		q.counts[bucket]++
		q.mu.Unlock()
	}
	return err
}

// remove deletes a delivered message.
func (q *queue) remove(bucket string, key []byte) error {
	err := q.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.Delete(key)
	})
	if err == nil {
		q.mu.Lock()
		q.counts[bucket] = max(0, q.counts[bucket]-1)
		q.mu.Unlock()
	}
	return err
}

// depth is the number of messages waiting for the home.
func (q *queue) depth(bucket string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n, ok := q.counts[bucket]; ok {
		return n
	}
	n := 0
	_ = q.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	q.counts[bucket] = n
	return n
}

// queued is one message of the durable queue and its key.
type queued struct {
	key, msg []byte
}

// headN returns up to n of the oldest messages for the home.
func (q *queue) headN(bucket string, n int) ([]queued, error) {
	var out []queued
	err := q.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			out = append(out, queued{key: append([]byte(nil), k...), msg: append([]byte(nil), v...)})
		}
		return nil
	})
	return out, err
}
