package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// keyFormat in the meta bucket is the store's format: 2 for format 2
// chunks (format 1 for raw floats) all in the chunks bucket, storeFormat
// since small chunks live in the hot bucket. A store without it was
// written by format 1 code. Older stores are converted in the background
// (or by `loraedge store compact`).
var keyFormat = []byte("chunk_format")

// storeFormat is the value of keyFormat this code writes.
const storeFormat = 3

// needsRewrite reports whether a chunk is in format 1 with decimal values
// (format 2 codes those in about 60 % of the bytes) or is a small chunk
// among the cold ones, as format 2 stores kept them.
func (s *Store) needsRewrite(v []byte, cold bool) bool {
	if len(v) < 2 {
		return false
	}
	if v[0] == chunkVersion && (v[1]>>2)&3 != modeXOR {
		return true
	}
	return cold && s.small(v)
}

// CompactReport says what Compact did.
type CompactReport struct {
	Series, Rewritten       int
	ChunksBefore, ChunksNow int
	BytesBefore, BytesNow   int64
}

// Compact rewrites the chunks of every series that has format 1 decimal
// chunks or small chunks among the cold ones, one series per bbolt
// transaction, so a crash leaves each series either old or new and the
// next Compact continues. Seals wait for the series being rewritten.
func (s *Store) Compact(ctx context.Context) (CompactReport, error) {
	var rep CompactReport
	s.mu.RLock()
	keys := make([]string, 0, len(s.series))
	for k, m := range s.series {
		if m.ID != 0 {
			keys = append(keys, k)
		}
	}
	s.mu.RUnlock()
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if err := s.compactSeries(k, &rep); err != nil {
			return rep, fmt.Errorf("compact %s: %w", k, err)
		}
		rep.Series++
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte{storeFormat})
	})
	if err != nil {
		return rep, fmt.Errorf("compact: %w", err)
	}
	s.m.compactions.Add(float64(rep.Rewritten))
	return rep, nil
}

func (s *Store) compactSeries(key string, rep *CompactReport) error {
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	if err := s.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	meta := *s.series[key]
	s.mu.RUnlock()
	return s.db.Update(func(tx *bolt.Tx) error {
		cold, hot := coldSet(tx), hotSet(tx)
		sets := chunkSets(tx)
		prefix := sidPrefix(meta.ID)
		var pts []point
		rewrite := false
		var before int64
		del := make([][][]byte, len(sets))
		for i, b := range sets {
			c := b.cursor()
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				// Chunks of the legacy bucket all move; small cold ones
				// belong to the hot set.
				rewrite = rewrite || b.legacy || s.needsRewrite(v, b.data != nil)
				var err error
				if pts, err = decodeChunk(pts, v); err != nil {
					return fmt.Errorf("%w: chunk %x: %w", ErrCorrupt, k, err)
				}
				del[i] = append(del[i], append([]byte(nil), k...))
				before += int64(len(k) + len(v))
			}
		}
		n := 0
		for _, d := range del {
			n += len(d)
		}
		rep.ChunksBefore += n
		rep.BytesBefore += before
		if !rewrite {
			rep.ChunksNow += n
			rep.BytesNow += before
			return nil
		}
		pts = sortPoints(pts)
		for i, b := range sets {
			for _, k := range del[i] {
				if err := b.delete(k); err != nil {
					return err
				}
			}
		}
		if err := s.putCold(cold, hot, &meta, pts); err != nil {
			return err
		}
		for _, b := range sets {
			c := b.cursor()
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				rep.ChunksNow++
				rep.BytesNow += int64(len(k) + len(v))
			}
		}
		v, err := json.Marshal(meta)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketSeries).Put([]byte(key), v); err != nil {
			return err
		}
		// A longer chunk span only makes range queries seek earlier, so
		// it is safe to publish before the commit.
		s.mu.Lock()
		if cur := s.series[key]; cur.MaxSpan < meta.MaxSpan {
			cur.MaxSpan = meta.MaxSpan
		}
		s.mu.Unlock()
		rep.Rewritten++
		return nil
	})
}

// compactInBackground converts a store written by older code; Open
// starts it when the store has chunks and an older keyFormat.
func (s *Store) compactInBackground() {
	defer s.wg.Done()
	start := time.Now()
	rep, err := s.Compact(s.ctx)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.log.Error("convert store to the current format", "err", err)
		}
		return
	}
	s.log.Info("converted store to the current format", "format", storeFormat, "series", rep.Series, "rewritten", rep.Rewritten,
		"bytes_before", rep.BytesBefore, "bytes_now", rep.BytesNow, "took", time.Since(start))
}

// needsConversion reports whether the store predates storeFormat; a new
// store is marked at once.
func (s *Store) needsConversion() (bool, error) {
	var need bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMeta)
		if v := mb.Get(keyFormat); len(v) == 1 && v[0] >= storeFormat {
			return nil
		}
		if k, _ := tx.Bucket(bucketChunks).Cursor().First(); k != nil {
			need = true
			return nil
		}
		return mb.Put(keyFormat, []byte{storeFormat})
	})
	return need, err
}

// CompactFile copies the bbolt file of the closed store in dir into a new
// file without free pages and replaces the old one (for `loraedge store
// compact`): bbolt reuses freed pages but never shrinks its file. It
// returns the file sizes before and after.
func CompactFile(dir string) (before, after int64, err error) {
	path := filepath.Join(dir, "store.db")
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("compact file: %w", err)
	}
	src, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		return 0, 0, fmt.Errorf("compact file (is the daemon running?): %w", err)
	}
	tmp := path + ".compact"
	_ = os.Remove(tmp) // a leftover of an interrupted run
	dst, err := bolt.Open(tmp, 0o644, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		src.Close()
		return 0, 0, fmt.Errorf("compact file: %w", err)
	}
	err = bolt.Compact(dst, src, 64<<20)
	src.Close()
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("compact file: %w", err)
	}
	nfi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("compact file: %w", err)
	}
	return fi.Size(), nfi.Size(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
