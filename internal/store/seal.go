package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

func chunkKey(sid uint64, start int64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, sid)
	binary.BigEndian.PutUint64(k[8:], uint64(start)^(1<<63))
	return k
}

func parseChunkKey(k []byte) (sid uint64, start int64) {
	return binary.BigEndian.Uint64(k), int64(binary.BigEndian.Uint64(k[8:]) ^ (1 << 63))
}

func sidPrefix(sid uint64) []byte { return binary.BigEndian.AppendUint64(nil, sid) }

// Seal moves the head (every durable record so far) into compressed chunks
// in bbolt and deletes log segments nobody needs any more. It runs on its
// own every SealInterval and when a segment is full.
func (s *Store) Seal() error {
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	if err := s.Err(); err != nil {
		return err
	}
	start := time.Now()
	// Roll first so the segment holding the sealed records is closed and
	// can be deleted once cursors pass it.
	rc := make(chan error, 1)
	select {
	case s.rollc <- rc:
		if err := <-rc; err != nil {
			s.log.Warn("roll wal", "err", err)
		}
	case <-s.ctx.Done():
	}
	s.mu.Lock()
	snap := s.head
	upTo := s.committed
	s.head = map[string]*headSeries{}
	s.headN = 0
	s.sealing = make(map[string][]point, len(snap))
	metas := make(map[string]seriesMeta, len(snap))
	for k, h := range snap {
		if !h.sorted {
			h.pts = sortPoints(h.pts)
		} else {
			h.pts = dedupe(h.pts)
		}
		s.sealing[k] = h.pts
		metas[k] = *s.series[k]
	}
	s.mu.Unlock()
	s.lastSeal.Store(s.opts.Now().UnixNano())
	if len(snap) == 0 && upTo == s.sealedSeq {
		s.mu.Lock()
		s.sealing = nil
		s.mu.Unlock()
		return s.deleteSegments()
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		sb, cold, hot := tx.Bucket(bucketSeries), coldSet(tx), hotSet(tx)
		for k, h := range snap {
			meta := metas[k]
			if meta.ID == 0 {
				id, err := sb.NextSequence()
				if err != nil {
					return err
				}
				meta.ID = id
			}
			if err := s.addPoints(cold, hot, &meta, h.pts); err != nil {
				return fmt.Errorf("series %s: %w", k, err)
			}
			// Unchanged metadata is not written again: every page a seal
			// touches is copied and its old version freed.
			v, err := json.Marshal(meta)
			if err != nil {
				return err
			}
			if !bytes.Equal(sb.Get([]byte(k)), v) {
				if err := sb.Put([]byte(k), v); err != nil {
					return err
				}
			}
			metas[k] = meta
		}
		return tx.Bucket(bucketMeta).Put(keySealedSeq, binary.BigEndian.AppendUint64(nil, upTo))
	})
	s.mu.Lock()
	if err != nil {
		// Give the points back to the head; the log still has them.
		for k, pts := range s.sealing {
			h := s.head[k]
			if h == nil {
				s.head[k] = &headSeries{pts: pts, sorted: true}
			} else {
				h.pts = append(append([]point(nil), pts...), h.pts...)
				h.sorted = false
			}
			s.headN += len(pts)
		}
		s.sealing = nil
		s.mu.Unlock()
		if isNoSpace(err) {
			s.setReadOnly(true)
		}
		return fmt.Errorf("seal: %w", err)
	}
	for k, m := range metas {
		cur := s.series[k]
		cur.ID, cur.MaxSpan = m.ID, m.MaxSpan
	}
	s.sealing = nil
	s.sealedSeq = upTo
	s.mu.Unlock()
	s.m.sealDuration.Observe(time.Since(start).Seconds())
	return s.deleteSegments()
}

// addPoints writes sorted points of one series into small chunks in the
// hot bucket. A small last chunk is merged with the new points so series
// that get few points per seal still end up in large, well-compressed
// chunks.
func (s *Store) addPoints(cold, hot chunkSet, meta *seriesMeta, pts []point) error {
	if len(pts) == 0 {
		return nil
	}
	if k, v := lastChunk(hot.cursor(), meta.ID); k != nil {
		if h, err := readChunkHeader(v); err == nil && h.Count < s.opts.ChunkPoints && len(v) < s.opts.ChunkBytes*7/8 {
			old, err := decodeChunk(nil, v)
			if err == nil {
				pts = sortPoints(append(old, pts...))
				if err := hot.delete(append([]byte(nil), k...)); err != nil {
					return err
				}
			}
		}
	}
	if err := putSmall(hot, meta, pts, s.opts.ChunkPoints, s.opts.ChunkBytes); err != nil {
		return err
	}
	return s.mergeCold(cold, hot, meta)
}

// lastChunk positions c on the last chunk of series sid and returns it, or
// nil if the bucket holds none.
func lastChunk(c chunkCursor, sid uint64) (k, v []byte) {
	if k, _ = c.Seek(sidPrefix(sid + 1)); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, sidPrefix(sid)) {
		return nil, nil
	}
	return k, v
}

// mergeCold moves the small closed chunks of a series in the hot bucket
// (all but the last, which takes the next seal's points) into full chunks
// of ColdChunkBytes in the cold set once they hold enough for one. So
// the hot bucket, which every seal rewrites, stays a few pages, and bbolt
// keeps about as many free pages as a seal copies. Each point is
// merged about once more, while a year of data lies in 2 KiB chunks that
// give zstd 2,000+ points to learn from and fill bbolt's pages.
func (s *Store) mergeCold(cold, hot chunkSet, meta *seriesMeta) error {
	c := hot.cursor()
	if k, _ := lastChunk(c, meta.ID); k == nil {
		return nil
	}
	prefix := sidPrefix(meta.ID)
	var keys, vals [][]byte
	total := 0
	for k, v := c.Prev(); k != nil && bytes.HasPrefix(k, prefix) && s.small(v); k, v = c.Prev() {
		keys = append(keys, append([]byte(nil), k...))
		vals = append(vals, v)
		total += len(v)
	}
	if total < s.opts.ColdChunkBytes*5/4 {
		return nil
	}
	var pts []point
	for i := len(vals) - 1; i >= 0; i-- {
		var err error
		if pts, err = decodeChunk(pts, vals[i]); err != nil {
			// Leave them as they are: a damaged chunk must not stop
			// sealing; queries and `loraedge store check` report it.
			s.log.Warn("not merging chunks: one does not decode", "chunk", fmt.Sprintf("%x", keys[i]), "err", err)
			return nil
		}
	}
	for _, k := range keys {
		if err := hot.delete(k); err != nil {
			return err
		}
	}
	return s.putCold(cold, hot, meta, sortPoints(pts))
}

// small reports whether a chunk is worth merging into a cold chunk.
func (s *Store) small(v []byte) bool {
	if len(v) >= s.opts.ColdChunkBytes/2 {
		return false
	}
	h, err := readChunkHeader(v)
	return err == nil && h.Count < maxChunk2Points
}

// putCold writes sorted points as full cold chunks into the cold set; a
// rest too small to fill one goes into small chunks in the hot
// bucket, to be merged later.
func (s *Store) putCold(cold, hot chunkSet, meta *seriesMeta, pts []point) error {
	for len(pts) > 0 {
		n, enc := cut(pts, maxChunk2Points, s.opts.ColdChunkBytes)
		if n == len(pts) && len(enc) < s.opts.ColdChunkBytes*7/8 && n < maxChunk2Points {
			return putSmall(hot, meta, pts, s.opts.ChunkPoints, s.opts.ChunkBytes)
		}
		if err := putChunk(cold, meta, pts[:n], enc); err != nil {
			return err
		}
		pts = pts[n:]
	}
	return nil
}

// putSmall writes sorted points as chunks of at most maxPoints and
// maxBytes.
func putSmall(b chunkSet, meta *seriesMeta, pts []point, maxPoints, maxBytes int) error {
	for len(pts) > 0 {
		n, enc := cut(pts, maxPoints, maxBytes)
		if err := putChunk(b, meta, pts[:n], enc); err != nil {
			return err
		}
		pts = pts[n:]
	}
	return nil
}

// cut returns how many leading points make one chunk of at most maxPoints
// and maxBytes, and its encoding.
func cut(pts []point, maxPoints, maxBytes int) (int, []byte) {
	n := min(len(pts), maxPoints)
	for {
		enc := encodeChunk(pts[:n])
		if len(enc) > maxBytes && n > 1 {
			// Shrink in proportion to the excess, a little more to converge.
			n = max(1, min(n-1, n*maxBytes/len(enc)*97/100))
			continue
		}
		// Grow once toward the limit: full chunks fill bbolt's pages.
		if grow := n * (maxBytes - len(enc)) / max(len(enc), 1) * 9 / 10; grow > 0 && n < min(len(pts), maxPoints) {
			m := min(n+grow, len(pts), maxPoints)
			if e2 := encodeChunk(pts[:m]); len(e2) <= maxBytes {
				return m, e2
			}
		}
		return n, enc
	}
}

// putChunk stores a chunk; if a chunk with the same start exists (late data)
// both are merged so nothing is overwritten.
func putChunk(cs chunkSet, meta *seriesMeta, pts []point, enc []byte) error {
	key := chunkKey(meta.ID, pts[0].T)
	if old := cs.get(key); old != nil {
		prev, err := decodeChunk(nil, old)
		if err != nil {
			return fmt.Errorf("%w: chunk %x: %w", ErrCorrupt, key, err)
		}
		pts = sortPoints(append(prev, pts...))
		enc = encodeChunk(pts)
	}
	if span := pts[len(pts)-1].T - pts[0].T; span > meta.MaxSpan {
		meta.MaxSpan = span
	}
	return cs.put(key, enc)
}

// deleteSegments removes closed segments that are sealed and that every
// cursor has passed.
func (s *Store) deleteSegments() error {
	s.mu.Lock()
	limit := s.sealedSeq
	for _, p := range s.cursors {
		if p < limit {
			limit = p
		}
	}
	var del []*segment
	keep := s.segs[:0:0]
	for i, sg := range s.segs {
		if i < len(s.segs)-1 && sg != s.curSeg && sg.last <= limit && len(keep) == 0 {
			del = append(del, sg)
			continue
		}
		keep = append(keep, sg)
	}
	s.segs = keep
	s.mu.Unlock()
	return s.removeSegments(del)
}

func (s *Store) removeSegments(del []*segment) error {
	if len(del) == 0 {
		return nil
	}
	var firstErr error
	for _, sg := range del {
		if err := s.fs.Remove(sg.path); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("remove segment: %w", err)
		}
	}
	if err := s.fs.SyncDir(s.walDir); err != nil && firstErr == nil {
		firstErr = err
	}
	s.updateWALBytes()
	return firstErr
}

// EnforceRetention deletes chunks older than their class's retention and,
// when Config.DiskBudget is exceeded, the oldest data. It runs every
// RetentionInterval on its own.
func (s *Store) EnforceRetention() error {
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	now := s.opts.Now().UnixNano()
	s.mu.RLock()
	type job struct {
		id     uint64
		cutoff int64
	}
	var jobs []job
	for _, m := range s.series {
		if d := s.opts.Retention[s.opts.ClassOf(m.Quantity)]; d > 0 && m.ID != 0 {
			jobs = append(jobs, job{m.ID, now - int64(d)})
		}
	}
	s.mu.RUnlock()
	if len(jobs) > 0 {
		var n int
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, cb := range chunkSets(tx) {
				for _, j := range jobs {
					d, err := deleteBefore(cb, j.id, j.cutoff)
					if err != nil {
						return err
					}
					n += d
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		s.m.retentionDeleted.Add(float64(n))
	}
	return s.enforceBudget()
}

// deleteBefore deletes the chunks of series sid in b that end before
// cutoff and returns how many.
func deleteBefore(b chunkSet, sid uint64, cutoff int64) (int, error) {
	c := b.cursor()
	prefix := sidPrefix(sid)
	// Collect first: deleting under a bbolt cursor can make Next skip the
	// following key.
	var del [][]byte
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		h, err := readChunkHeader(v)
		if err != nil || h.MinT >= cutoff {
			break
		}
		if h.MaxT < cutoff {
			del = append(del, append([]byte(nil), k...))
		}
	}
	for _, k := range del {
		if err := b.delete(k); err != nil {
			return 0, err
		}
	}
	return len(del), nil
}

// DiskUsage is the bytes the store occupies by its own accounting: log
// segments plus the bbolt pages in use (bbolt keeps freed pages in its file
// for reuse, so the file size alone would never go down).
func (s *Store) DiskUsage() int64 {
	var inUse int64
	_ = s.db.View(func(tx *bolt.Tx) error {
		inUse = tx.Size()
		return nil
	})
	st := s.db.Stats()
	inUse -= int64(st.FreePageN+st.PendingPageN) * int64(s.db.Info().PageSize)
	return inUse + s.walSize()
}

// enforceBudget evicts the oldest chunks (and, if that is not enough, the
// oldest sealed segments even if a cursor still needs them) until the
// store fits Config.DiskBudget. Writing continues meanwhile.
func (s *Store) enforceBudget() error {
	if s.opts.Config.DiskBudget <= 0 {
		return nil
	}
	for round := 0; round < 64; round++ {
		over := s.DiskUsage() - s.opts.Config.DiskBudget
		if over <= 0 {
			return nil
		}
		// Free a bit more than the excess so we do not run every round.
		target := over + s.opts.Config.DiskBudget/20
		evicted, err := s.evictOldest(target)
		if err != nil {
			return err
		}
		if evicted == 0 {
			if !s.evictSegment() {
				s.log.Warn("disk budget exceeded by unsealed data", "over_bytes", over)
				return nil
			}
		}
	}
	return nil
}

// evictOldest deletes chunks in order of their start time across all
// series until about target bytes are freed.
func (s *Store) evictOldest(target int64) (int, error) {
	type cand struct {
		set   int
		key   []byte
		start int64
		size  int
	}
	var cands []cand
	err := s.db.View(func(tx *bolt.Tx) error {
		for set, cs := range chunkSets(tx) {
			c := cs.cursor()
			// The first chunks of every series, a handful each, are the
			// candidates: enough to free target without scanning all data.
			for k, v := c.First(); k != nil; {
				sid, _ := parseChunkKey(k)
				prefix := sidPrefix(sid)
				for i := 0; k != nil && bytes.HasPrefix(k, prefix); i++ {
					if i < 16 {
						h, err := readChunkHeader(v)
						if err == nil {
							cands = append(cands, cand{set, append([]byte(nil), k...), h.MinT, len(k) + len(v) + 16})
						}
						k, v = c.Next()
						continue
					}
					k, v = c.Seek(sidPrefix(sid + 1))
					break
				}
			}
		}
		return nil
	})
	if err != nil || len(cands) == 0 {
		return 0, err
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].start < cands[j].start })
	var freed int64
	n := 0
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, c := range cands {
			if freed >= target {
				break
			}
			if err := chunkSets(tx)[c.set].delete(c.key); err != nil {
				return err
			}
			freed += int64(c.size)
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("evict: %w", err)
	}
	s.m.evictions.Add(float64(n))
	s.log.Warn("disk budget reached: evicted oldest chunks", "chunks", n, "bytes", freed)
	return n, nil
}

// evictSegment drops the oldest sealed segment even though a cursor has
// not read it; the cursor skips ahead and counts the loss.
func (s *Store) evictSegment() bool {
	s.mu.Lock()
	if len(s.segs) < 2 || s.segs[0] == s.curSeg || s.segs[0].last > s.sealedSeq {
		s.mu.Unlock()
		return false
	}
	sg := s.segs[0]
	s.segs = s.segs[1:]
	s.mu.Unlock()
	s.m.evictions.Inc()
	s.log.Warn("disk budget reached: dropped log segment before all sinks read it", "segment", sg.path)
	if err := s.removeSegments([]*segment{sg}); err != nil {
		s.log.Warn("disk budget: could not remove log segment", "segment", sg.path, "err", err)
	}
	return true
}
