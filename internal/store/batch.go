package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// NextBatch blocks for the first record after the cursor, then collects
// more until the records hold maxPoints measurements or flush has passed
// since the first: a sink's trade of latency against requests. It returns
// ctx's error when ctx ends, even with records read (they are read again
// after the cursor's last commit).
func (c *Cursor) NextBatch(ctx context.Context, maxPoints int, flush time.Duration) ([]Record, error) {
	recs, err := c.Next(ctx, maxPoints)
	if err != nil {
		return nil, err
	}
	n := countPoints(recs)
	fctx, cancel := context.WithTimeout(ctx, flush)
	defer cancel()
	for n < maxPoints {
		more, err := c.Next(fctx, maxPoints-n)
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				break
			}
			return nil, err
		}
		recs = append(recs, more...)
		n += countPoints(more)
	}
	return recs, nil
}

func countPoints(recs []Record) int {
	n := 0
	for _, r := range recs {
		n += len(r.Measurements)
	}
	return n
}

// Deliver runs a sink over the log: it reads batches with NextBatch, hands
// each to deliver and commits the cursor after the last record of a batch
// that deliver returned nil for. It returns nil when ctx is done (records
// read but not committed are read again by the next Deliver), and
// otherwise the first error of the log, of deliver or of the commit.
func (c *Cursor) Deliver(ctx context.Context, maxPoints int, flush time.Duration, deliver func(context.Context, []Record) error) error {
	for {
		recs, err := c.NextBatch(ctx, maxPoints, flush)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read log: %w", err)
		}
		if len(recs) == 0 {
			continue
		}
		if err := deliver(ctx, recs); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := c.Commit(recs[len(recs)-1].Seq); err != nil {
			return err
		}
	}
}

// Behind returns how many records of the log the cursor's sink has not
// committed yet: its lag in appended batches.
func (c *Cursor) Behind() uint64 {
	last, pos := c.s.LastSeq(), c.Position()
	if last < pos {
		return 0
	}
	return last - pos
}

// Backlog tracks the age of what a sink has read and not yet delivered,
// for its lag gauge: the newest measurement time of the first record of
// its current batch. A record's newest measurement is close to when it was
// received, unlike its oldest, which may be meter history. The sink notes,
// the metrics read, concurrently.
type Backlog struct{ newest atomic.Int64 }

// Read notes a batch read from the log.
func (b *Backlog) Read(recs []Record) {
	if len(recs) == 0 {
		return
	}
	var newest int64
	for _, m := range recs[0].Measurements {
		newest = max(newest, m.Time.UnixNano())
	}
	b.newest.Store(newest)
}

// Delivered notes that the batch is delivered: the sink is caught up.
func (b *Backlog) Delivered() { b.newest.Store(0) }

// Age returns how long before now the oldest undelivered record was
// received; 0 when caught up.
func (b *Backlog) Age(now time.Time) time.Duration {
	t := b.newest.Load()
	if t == 0 {
		return 0
	}
	return max(0, now.Sub(time.Unix(0, t)))
}
