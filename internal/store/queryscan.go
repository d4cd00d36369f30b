package store

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"
)

// chunkRef is a chunk a query reads: v stays valid while the snapshot's
// read transaction is open, so goroutines other than the one walking
// bbolt's cursors can decode it.
type chunkRef struct {
	key, v []byte
	// inside: every point lies in the query's [from, to).
	inside bool
}

// refs appends the chunks of key that may hold points in [from, to) to
// dst, reading their headers only.
func (sn *snapshot) refs(dst []chunkRef, key string, from, to int64) ([]chunkRef, error) {
	m, ok := sn.metas[key]
	if !ok || m.ID == 0 {
		return dst, nil
	}
	prefix := sidPrefix(m.ID)
	seekFrom := from - m.MaxSpan
	if seekFrom > from { // overflow
		seekFrom = math.MinInt64
	}
	for _, cs := range chunkSets(sn.tx) {
		c := cs.cursor()
		for k, v := c.Seek(chunkKey(m.ID, seekFrom)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			h, err := readChunkHeader(v)
			if err != nil {
				return nil, fmt.Errorf("%w: series %s chunk %x: %w", ErrCorrupt, key, k, err)
			}
			if h.MinT >= to {
				break
			}
			if h.MaxT < from {
				continue
			}
			dst = append(dst, chunkRef{key: k, v: v, inside: h.MinT >= from && h.MaxT < to})
		}
	}
	return dst, nil
}

// decodeRefs appends the points in [from, to) of refs and mem to pts,
// sorted and deduplicated; buf is scratch space, returned for reuse.
func decodeRefs(pts, buf []point, key string, refs []chunkRef, mem []point, from, to int64) ([]point, []point, error) {
	for _, r := range refs {
		var err error
		if r.inside {
			// Wholly inside: decode straight into the result.
			if pts, err = decodeChunk(pts, r.v); err != nil {
				return nil, buf, fmt.Errorf("%w: series %s chunk %x: %w", ErrCorrupt, key, r.key, err)
			}
			continue
		}
		if buf, err = decodeChunk(buf[:0], r.v); err != nil {
			return nil, buf, fmt.Errorf("%w: series %s chunk %x: %w", ErrCorrupt, key, r.key, err)
		}
		for _, p := range buf {
			if p.T >= from && p.T < to {
				pts = append(pts, p)
			}
		}
	}
	pts = append(pts, mem...)
	for i := 1; i < len(pts); i++ {
		if pts[i].T <= pts[i-1].T {
			return sortPoints(pts), buf, nil
		}
	}
	return pts, buf, nil
}

// aggregateAll aggregates keys over the buckets edges (ns in Unix
// nanoseconds), reading points in [from, to). This goroutine walks bbolt
// (a transaction is not safe for concurrent use) while up to GOMAXPROCS
// workers decode and aggregate series: decoding is most of a query's
// time, and a gateway has several cores.
func (sn *snapshot) aggregateAll(ctx context.Context, keys []string, edges []time.Time, ns []int64, from, to int64) ([]AggregateSeries, error) {
	type job struct {
		i    int
		key  string
		refs []chunkRef
	}
	res := make([]*AggregateSeries, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan job)
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(keys)); w++ {
		g.Go(func() error {
			var pts, buf []point
			for j := range jobs {
				var err error
				if pts, buf, err = decodeRefs(pts[:0], buf, j.key, j.refs, sn.mem[j.key], from, to); err != nil {
					return err
				}
				res[j.i] = &AggregateSeries{SeriesInfo: sn.metas[j.key].SeriesInfo, Buckets: aggregate(pts, edges, ns)}
			}
			return nil
		})
	}
	err := func() error {
		defer close(jobs)
		for i, k := range keys {
			if _, ok := sn.metas[k]; !ok {
				continue
			}
			refs, err := sn.refs(nil, k, from, to)
			if err != nil {
				return err
			}
			select {
			case jobs <- job{i, k, refs}:
			case <-gctx.Done():
				return nil // the worker's error or ctx's, from Wait below
			}
		}
		return nil
	}()
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	var out []AggregateSeries
	for _, a := range res {
		if a != nil {
			out = append(out, *a)
		}
	}
	return out, nil
}
