package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Cursor is a sink's named position in the log. Records up to a committed
// position are acknowledged by the sink; the log keeps everything after
// the slowest cursor (within the disk budget). A Cursor is not safe for
// concurrent use.
type Cursor struct {
	s    *Store
	name string
	read uint64 // last record returned by Next

	segFirst uint64
	f        File
	off      int64
	hdr      []byte
}

// OpenCursor opens the named cursor. A new cursor starts at the oldest
// record still in the log and is persisted at once, so the log is kept for
// it from now on.
func (s *Store) OpenCursor(name string) (*Cursor, error) {
	if name == "" {
		return nil, errors.New("open cursor: empty name")
	}
	s.mu.Lock()
	pos, ok := s.cursors[name]
	if !ok {
		pos = s.committed
		if len(s.segs) > 0 {
			pos = s.segs[0].first - 1
		}
		s.cursors[name] = pos
	}
	s.mu.Unlock()
	if !ok {
		if err := s.putCursor(name, pos); err != nil {
			return nil, err
		}
	}
	return &Cursor{s: s, name: name, read: pos, hdr: make([]byte, frameHeader)}, nil
}

func (s *Store) putCursor(name string, pos uint64) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCursors).Put([]byte(name), binary.BigEndian.AppendUint64(nil, pos))
	})
	if err != nil {
		return fmt.Errorf("cursor %s: %w", name, err)
	}
	return nil
}

// RemoveCursor forgets a cursor (a sink that was disabled), so it no longer
// holds log segments.
func (s *Store) RemoveCursor(name string) error {
	s.mu.Lock()
	delete(s.cursors, name)
	s.mu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketCursors).Delete([]byte(name)) })
	if err != nil {
		return fmt.Errorf("remove cursor %s: %w", name, err)
	}
	return s.deleteSegments()
}

// Position is the last record committed by the cursor's sink.
func (c *Cursor) Position() uint64 {
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	return c.s.cursors[c.name]
}

// Commit persists pos (the Seq of the last record the sink has delivered).
func (c *Cursor) Commit(pos uint64) error {
	c.s.mu.Lock()
	if pos > c.s.committed {
		c.s.mu.Unlock()
		return fmt.Errorf("cursor %s: commit %d beyond log end %d", c.name, pos, c.s.committed)
	}
	if _, ok := c.s.cursors[c.name]; !ok {
		c.s.mu.Unlock()
		return fmt.Errorf("cursor %s: removed", c.name)
	}
	c.s.cursors[c.name] = pos
	c.s.mu.Unlock()
	return c.s.putCursor(c.name, pos)
}

// Close releases the cursor's file; its position stays.
func (c *Cursor) Close() error {
	if c.f != nil {
		err := c.f.Close()
		c.f = nil
		return err
	}
	return nil
}

// Next returns up to max records after the last one returned, blocking until
// there is at least one or ctx is done. Only durable records are returned.
func (c *Cursor) Next(ctx context.Context, max int) ([]Record, error) {
	if max <= 0 {
		max = 1
	}
	for {
		s := c.s
		s.mu.RLock()
		committed, notify := s.committed, s.notify
		var seg segment
		found := false
		if c.read < committed && len(s.segs) > 0 {
			if c.read+1 < s.segs[0].first {
				skipped := s.segs[0].first - 1 - c.read
				s.m.cursorSkipped.Add(float64(skipped))
				s.log.Warn("cursor skipped evicted records", "cursor", c.name, "records", skipped)
				c.read = s.segs[0].first - 1
			}
			for i := len(s.segs) - 1; i >= 0; i-- {
				if s.segs[i].first <= c.read+1 {
					seg, found = *s.segs[i], true
					break
				}
			}
		}
		s.mu.RUnlock()
		if found && c.read < seg.last {
			recs, err := c.readSegment(seg, max)
			if err != nil {
				return nil, err
			}
			if len(recs) > 0 {
				return recs, nil
			}
			continue
		}
		select {
		case <-notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.ctxDone():
			return nil, ErrClosed
		}
	}
}

func (c *Cursor) readSegment(seg segment, max int) ([]Record, error) {
	if c.f == nil || c.segFirst != seg.first {
		c.Close()
		f, err := c.s.fs.OpenFile(seg.path, os.O_RDONLY, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // evicted meanwhile; Next skips ahead
		}
		if err != nil {
			return nil, fmt.Errorf("cursor %s: %w", c.name, err)
		}
		c.f, c.segFirst, c.off = f, seg.first, 0
	}
	var recs []Record
	for len(recs) < max {
		p, n, err := readFrame(c.f, c.off, seg.size, c.hdr)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: cursor %s: %s at %d: %w", ErrCorrupt, c.name, seg.path, c.off, err)
		}
		c.off += n
		seq := frameSeq(p)
		if seq <= c.read {
			continue
		}
		rec, err := decodePayload(p)
		if err != nil {
			return nil, fmt.Errorf("%w: cursor %s: %w", ErrCorrupt, c.name, err)
		}
		recs = append(recs, rec)
		c.read = seq
	}
	return recs, nil
}

// LastSeq is the sequence number of the newest synced record, so sinks can
// report their lag (LastSeq minus their Position) in records.
func (s *Store) LastSeq() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.committed
}
