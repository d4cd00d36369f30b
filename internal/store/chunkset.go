package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Chunk layout (store format 3). Cold chunks are written in the order
// they are made, under an increasing sequence number in bucketCold, and
// found by series and start time through bucketColdIndex: appends fill
// bbolt's pages (FillPercent 1.0, two 2 KiB chunks per page) and a seal
// copies only the last page, instead of one page per series with keys
// ordered by series, which left about one free page per series in the
// file. Small chunks that seals still rewrite live in bucketHot, keyed by
// series and start: a few pages that every seal copies. bucketChunks holds
// the chunks of stores written before format 3 until they are converted.
var (
	bucketCold      = []byte("cold")
	bucketColdIndex = []byte("cold_index")
)

// chunkSet is one place chunks are kept, found by chunkKey: idx maps the
// key to the chunk itself, or, with data, to the chunk's key in data.
type chunkSet struct {
	idx, data *bolt.Bucket
	// legacy is bucketChunks, whose chunks conversion moves.
	legacy bool
}

// chunkSets returns the legacy, cold and hot chunk sets of tx, leaving out
// buckets a read-only older file does not have.
func chunkSets(tx *bolt.Tx) []chunkSet {
	var out []chunkSet
	if b := tx.Bucket(bucketChunks); b != nil {
		out = append(out, chunkSet{idx: b, legacy: true})
	}
	if ci, cd := tx.Bucket(bucketColdIndex), tx.Bucket(bucketCold); ci != nil && cd != nil {
		out = append(out, coldSet(tx))
	}
	if b := tx.Bucket(bucketHot); b != nil {
		out = append(out, hotSet(tx))
	}
	return out
}

func coldSet(tx *bolt.Tx) chunkSet {
	return chunkSet{idx: tx.Bucket(bucketColdIndex), data: tx.Bucket(bucketCold)}
}

func hotSet(tx *bolt.Tx) chunkSet { return chunkSet{idx: tx.Bucket(bucketHot)} }

func (cs chunkSet) value(iv []byte) []byte {
	if cs.data == nil || iv == nil {
		return iv
	}
	return cs.data.Get(iv)
}

func (cs chunkSet) get(k []byte) []byte { return cs.value(cs.idx.Get(k)) }

// put stores chunk v under key k, replacing a chunk with the same key.
func (cs chunkSet) put(k, v []byte) error {
	if cs.data == nil {
		cs.idx.FillPercent = 1.0
		return cs.idx.Put(k, v)
	}
	if err := cs.delete(k); err != nil {
		return err
	}
	seq, err := cs.data.NextSequence()
	if err != nil {
		return err
	}
	dk := binary.BigEndian.AppendUint64(nil, seq)
	// Appended in key order: full pages.
	cs.data.FillPercent = 1.0
	if err := cs.data.Put(dk, v); err != nil {
		return err
	}
	return cs.idx.Put(k, dk)
}

// delete removes the chunk under key k, if any.
func (cs chunkSet) delete(k []byte) error {
	if cs.data != nil {
		if dk := cs.idx.Get(k); dk != nil {
			if err := cs.data.Delete(dk); err != nil {
				return fmt.Errorf("delete chunk %x: %w", k, err)
			}
		}
	}
	return cs.idx.Delete(k)
}

func (cs chunkSet) cursor() chunkCursor { return chunkCursor{cs.idx.Cursor(), cs} }

// chunkCursor walks a chunk set in key order, returning chunk keys and
// chunks.
type chunkCursor struct {
	c  *bolt.Cursor
	cs chunkSet
}

func (c chunkCursor) First() ([]byte, []byte) { k, v := c.c.First(); return k, c.cs.value(v) }
func (c chunkCursor) Last() ([]byte, []byte)  { k, v := c.c.Last(); return k, c.cs.value(v) }
func (c chunkCursor) Next() ([]byte, []byte)  { k, v := c.c.Next(); return k, c.cs.value(v) }
func (c chunkCursor) Prev() ([]byte, []byte)  { k, v := c.c.Prev(); return k, c.cs.value(v) }
func (c chunkCursor) Seek(s []byte) ([]byte, []byte) {
	k, v := c.c.Seek(s)
	return k, c.cs.value(v)
}
