package store

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Point is one sample returned by queries.
type Point struct {
	Time  time.Time
	Value float64
}

// Series is a series with the points of a query.
type Series struct {
	SeriesInfo
	Points []Point
}

// Series lists the metadata of every series, sorted by key.
func (s *Store) Series() []SeriesInfo {
	s.mu.RLock()
	out := make([]SeriesInfo, 0, len(s.series))
	for _, m := range s.series {
		out = append(out, m.SeriesInfo)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// snapshot is what a query reads: a bbolt read transaction plus copies of
// the unsealed points, taken so that no point is missed while a seal moves
// points from memory to bbolt (a point may be seen twice; dedupe drops it).
type snapshot struct {
	tx    *bolt.Tx
	metas map[string]seriesMeta
	mem   map[string][]point
}

func (s *Store) snapshot(keys []string, from, to int64) (*snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	sn := &snapshot{tx: tx, metas: map[string]seriesMeta{}, mem: map[string][]point{}}
	for _, k := range keys {
		m, ok := s.series[k]
		if !ok {
			continue
		}
		sn.metas[k] = *m
		var pts []point
		add := func(src []point) {
			for _, p := range src {
				if p.T >= from && p.T < to {
					pts = append(pts, p)
				}
			}
		}
		add(s.sealing[k])
		if h := s.head[k]; h != nil {
			add(h.pts)
		}
		sn.mem[k] = pts
	}
	return sn, nil
}

// points returns the sorted, deduplicated points of key in [from, to),
// reusing dst's storage.
func (sn *snapshot) points(dst []point, key string, from, to int64) ([]point, error) {
	m, ok := sn.metas[key]
	if !ok {
		return nil, nil
	}
	pts := dst[:0]
	if m.ID != 0 {
		var buf []point
		for _, cs := range chunkSets(sn.tx) {
			var err error
			if pts, buf, err = chunkPoints(pts, buf, cs, m, from, to); err != nil {
				return nil, fmt.Errorf("%w: series %s %w", ErrCorrupt, key, err)
			}
		}
	}
	mem := sn.mem[key]
	if len(mem) > 0 {
		pts = append(pts, mem...)
	}
	sorted := true
	for i := 1; i < len(pts); i++ {
		if pts[i].T <= pts[i-1].T {
			sorted = false
			break
		}
	}
	if !sorted {
		pts = sortPoints(pts)
	}
	return pts, nil
}

func toPoints(pts []point) []Point {
	out := make([]Point, len(pts))
	for i, p := range pts {
		out[i] = Point{Time: time.Unix(0, p.T).UTC(), Value: p.V}
	}
	return out
}

// Range returns the raw points of each series in [from, to). Unknown keys
// are left out.
func (s *Store) Range(ctx context.Context, keys []string, from, to time.Time) ([]Series, error) {
	f, t := from.UnixNano(), to.UnixNano()
	sn, err := s.snapshot(keys, f, t)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sn.tx.Rollback() }() // read-only: nothing to undo
	var out []Series
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, ok := sn.metas[k]
		if !ok {
			continue
		}
		pts, err := sn.points(nil, k, f, t)
		if err != nil {
			return nil, err
		}
		out = append(out, Series{SeriesInfo: m.SeriesInfo, Points: toPoints(pts)})
	}
	return out, nil
}

// Last returns the latest point of each series (by time).
func (s *Store) Last(ctx context.Context, keys []string) ([]Series, error) {
	sn, err := s.snapshot(keys, math.MinInt64, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sn.tx.Rollback() }() // read-only: nothing to undo
	var out []Series
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, ok := sn.metas[k]
		if !ok {
			continue
		}
		best, found, err := sn.last(k)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, Series{SeriesInfo: m.SeriesInfo, Points: toPoints([]point{best})})
		}
	}
	return out, nil
}

// AggregateQuery asks for per-interval aggregates of many series.
type AggregateQuery struct {
	Keys []string
	// From and To bound the query, [From, To). With Every > 0 buckets are
	// From, From+Every, ... (the last one ends at To).
	From, To time.Time
	Every    time.Duration
	// Bounds, when set, gives the bucket edges instead (ascending, at least
	// two), e.g. calendar months from MonthBounds.
	Bounds []time.Time
	// Lookback is how far before the first bucket to look for the previous
	// reading, so the first bucket's Increase includes the rise since then.
	// Default 7 days; negative disables.
	Lookback time.Duration
}

// Bucket holds the aggregates of one interval. Min, Max, Mean, First and
// Last are NaN when Count is 0.
type Bucket struct {
	Start, End  time.Time
	Count       int
	Min, Max    float64
	Sum, Mean   float64
	First, Last float64
	// Increase sums the rises between consecutive points whose later point
	// falls in the bucket (the rise from the previous bucket's last point
	// included). A drop is a counter reset: the new value counts as the
	// rise from zero. Meaningful for cumulative quantities.
	Increase float64
}

// AggregateSeries is one series' buckets.
type AggregateSeries struct {
	SeriesInfo
	Buckets []Bucket
}

// MonthBounds returns the edges of the calendar months in loc covering
// [from, to).
func MonthBounds(from, to time.Time, loc *time.Location) []time.Time {
	f := from.In(loc)
	t := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, loc)
	var out []time.Time
	for ; t.Before(to); t = t.AddDate(0, 1, 0) {
		out = append(out, t)
	}
	return append(out, t)
}

// maxBuckets bounds the memory one query may ask for.
const maxBuckets = 1 << 20

// Aggregate computes per-interval aggregates of every series in q.Keys.
func (s *Store) Aggregate(ctx context.Context, q AggregateQuery) ([]AggregateSeries, error) {
	edges := q.Bounds
	if len(edges) == 0 {
		if q.Every <= 0 || !q.From.Before(q.To) {
			return nil, fmt.Errorf("aggregate: need Bounds or Every > 0 and From < To")
		}
		if n := q.To.Sub(q.From) / q.Every; n > maxBuckets {
			return nil, fmt.Errorf("aggregate: %d buckets, at most %d", n, maxBuckets)
		}
		for t := q.From; t.Before(q.To); t = t.Add(q.Every) {
			edges = append(edges, t)
		}
		edges = append(edges, q.To)
	}
	if len(edges) < 2 {
		return nil, fmt.Errorf("aggregate: need at least two bounds")
	}
	ns := make([]int64, len(edges))
	for i, e := range edges {
		ns[i] = e.UnixNano()
		if i > 0 && ns[i] <= ns[i-1] {
			return nil, fmt.Errorf("aggregate: bounds not ascending at %d", i)
		}
	}
	from, to := ns[0], ns[len(ns)-1]
	lookback := q.Lookback
	if lookback == 0 {
		lookback = 7 * 24 * time.Hour
	}
	if lookback > 0 {
		from -= int64(lookback)
	}
	sn, err := s.snapshot(q.Keys, from, to)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sn.tx.Rollback() }() // read-only: nothing to undo
	var out []AggregateSeries
	var buf []point
	for _, k := range q.Keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, ok := sn.metas[k]
		if !ok {
			continue
		}
		pts, err := sn.points(buf, k, from, to)
		if err != nil {
			return nil, err
		}
		buf = pts
		out = append(out, AggregateSeries{SeriesInfo: m.SeriesInfo, Buckets: aggregate(pts, edges, ns)})
	}
	return out, nil
}

// newBuckets returns the empty buckets between edges.
func newBuckets(edges []time.Time) []Bucket {
	bs := make([]Bucket, len(edges)-1)
	nan := math.NaN()
	for i := range bs {
		bs[i] = Bucket{Start: edges[i], End: edges[i+1], Min: nan, Max: nan, Mean: nan, First: nan, Last: nan}
	}
	return bs
}

func aggregate(pts []point, edges []time.Time, ns []int64) []Bucket {
	bs := newBuckets(edges)
	// Bucket by bucket, so that the sums stay in registers: the folds'
	// order, and so every result bit, is the point-by-point loop's.
	i := 0
	for i < len(pts) && pts[i].T < ns[0] {
		i++ // lookback: only the previous value for Increase
	}
	for bi := range bs {
		j := i
		for j < len(pts) && pts[j].T < ns[bi+1] {
			j++
		}
		if j > i {
			fold(&bs[bi], pts, i, j)
		}
		i = j
	}
	for i := range bs {
		if bs[i].Count > 0 {
			bs[i].Mean = bs[i].Sum / float64(bs[i].Count)
		}
	}
	return bs
}

// fold sets b's aggregates from pts[i:j] (not empty), with pts[i-1], if
// any, as the previous reading for Increase.
func fold(b *Bucket, pts []point, i, j int) {
	v := pts[i].V
	mn, mx, sum, inc := v, v, 0.0, 0.0
	prev := v
	if i > 0 {
		prev = pts[i-1].V
	}
	for x, p := range pts[i:j] {
		sum += p.V
		if p.V < mn {
			mn = p.V
		}
		if p.V > mx {
			mx = p.V
		}
		if x > 0 || i > 0 {
			if d := p.V - prev; d >= 0 {
				inc += d
			} else {
				inc += p.V
			}
		}
		prev = p.V
	}
	b.Count, b.Min, b.Max, b.Sum = j-i, mn, mx, sum
	b.First, b.Last, b.Increase = v, pts[j-1].V, inc
}

// chunkPoints appends the points in [from, to) of the chunks of series m
// in bucket b to pts; buf is scratch space, returned for reuse.
func chunkPoints(pts, buf []point, b chunkSet, m seriesMeta, from, to int64) ([]point, []point, error) {
	c := b.cursor()
	prefix := sidPrefix(m.ID)
	seekFrom := from - m.MaxSpan
	if seekFrom > from { // overflow
		seekFrom = math.MinInt64
	}
	for k, v := c.Seek(chunkKey(m.ID, seekFrom)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		h, err := readChunkHeader(v)
		if err != nil {
			return nil, buf, fmt.Errorf("chunk %x: %w", k, err)
		}
		if h.MinT >= to {
			break
		}
		if h.MaxT < from {
			continue
		}
		if h.MinT >= from && h.MaxT < to {
			// Wholly inside: decode straight into the result.
			if pts, err = decodeChunk(pts, v); err != nil {
				return nil, buf, fmt.Errorf("chunk %x: %w", k, err)
			}
			continue
		}
		if buf, err = decodeChunk(buf[:0], v); err != nil {
			return nil, buf, fmt.Errorf("chunk %x: %w", k, err)
		}
		for _, p := range buf {
			if p.T >= from && p.T < to {
				pts = append(pts, p)
			}
		}
	}
	return pts, buf, nil
}

// last returns the latest point of key (by time) in the snapshot.
func (sn *snapshot) last(key string) (point, bool, error) {
	m := sn.metas[key]
	best, found := point{}, false
	for _, p := range sn.mem[key] {
		if !found || p.T >= best.T {
			best, found = p, true
		}
	}
	if m.ID != 0 {
		// Hot first: it holds the newest chunks.
		sets := chunkSets(sn.tx)
		for i := len(sets) - 1; i >= 0; i-- {
			var err error
			if best, found, err = lastIn(sets[i], m, best, found); err != nil {
				return point{}, false, fmt.Errorf("%w: series %s: %w", ErrCorrupt, key, err)
			}
		}
	}
	return best, found, nil
}

// lastIn returns the later of best (if found) and the latest point of
// series m in bucket b.
func lastIn(b chunkSet, m seriesMeta, best point, found bool) (point, bool, error) {
	c := b.cursor()
	prefix := sidPrefix(m.ID)
	kk, v := lastChunk(c, m.ID)
	// Late data can make an earlier chunk end later; look back over
	// chunks that may still overlap.
	for ; kk != nil && bytes.HasPrefix(kk, prefix); kk, v = c.Prev() {
		h, err := readChunkHeader(v)
		if err != nil {
			return point{}, false, err
		}
		if found && h.MaxT < best.T {
			if _, st := parseChunkKey(kk); st+m.MaxSpan < best.T {
				break
			}
			continue
		}
		pts, err := decodeChunk(nil, v)
		if err != nil {
			return point{}, false, err
		}
		for _, p := range pts {
			if !found || p.T > best.T {
				best, found = p, true
			}
		}
	}
	return best, found, nil
}
