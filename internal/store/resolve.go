package store

import (
	"math"
	"time"
)

// Collapse reasons of loraedge_store_points_collapsed_total.
const (
	// CollapseDuplicate is a point equal in series, time and value to one
	// already stored: the same uplink replayed, overwritten idempotently.
	CollapseDuplicate = "duplicate"
	// CollapseConflict is a point with the nanosecond time of a stored
	// point of its series but another value; the later one wins.
	CollapseConflict = "conflict"
)

// resolver picks the stored time of each point on the commit goroutine,
// before the record is written, so the log, the head and every sink see the
// same time. A point is stored at Options.TimeResolution (1 s) unless its
// series already holds a point with another value there; then it keeps
// 1 ms, and failing that its full nanosecond time. So regular sensor data
// keeps the cheap whole-second chunks, and two uplinks in one second stay
// two points instead of the later one replacing the earlier silently.
type resolver struct {
	levels []int64
	// maxT is an upper bound of each series' latest stored time: a point
	// whose coarse time lies beyond it cannot collide (the fast path).
	// Loaded lazily from the store, so it is right after a restart too.
	maxT map[string]int64
	// batch is the commit in progress, whose points are not in the head
	// until their fsync; the careful path looks through it up to the point
	// being resolved (cur: request and measurement index).
	batch      []*appendReq
	curR, curM int
	// last is, per series, every point resolved into its latest coarse
	// slot (stored or in a commit): a device sending faster than the
	// resolution collides in that slot on every point, and the cache keeps
	// that from costing a store read and a batch scan per point.
	last map[string]*slotPoints
}

// slotPoints are the points of one coarse slot of a series.
type slotPoints struct {
	coarse int64
	pts    []point
}

func newResolver(res time.Duration) *resolver {
	r := &resolver{maxT: map[string]int64{}, last: map[string]*slotPoints{}}
	switch {
	case res > time.Millisecond:
		r.levels = []int64{int64(res), int64(time.Millisecond), 1}
	case res > 1:
		r.levels = []int64{int64(res), 1}
	default:
		r.levels = []int64{1}
	}
	return r
}

func truncNanos(ns, unit int64) int64 {
	if unit <= 1 {
		return ns
	}
	r := ns % unit
	if r < 0 {
		r += unit
	}
	return ns - r
}

// resolveBatch rewrites the times of the batch's measurements in place;
// commit goroutine only.
func (s *Store) resolveBatch(batch []*appendReq) {
	r := s.res
	r.batch = batch
	defer func() { r.batch = nil }()
	for ri, req := range batch {
		req.keys = make([]string, len(req.ms))
		for i := range req.ms {
			r.curR, r.curM = ri, i
			m := &req.ms[i]
			key := m.SeriesKey()
			req.keys[i] = key
			t := s.resolveTime(key, m.Time.UnixNano(), m.Value)
			// Set only now: slotPoints reads the times set so far.
			m.Time = time.Unix(0, t).UTC()
			if t > r.maxT[key] {
				r.maxT[key] = t
			}
		}
	}
}

// resolveTime returns the stored time of a point of series key at ns.
func (s *Store) resolveTime(key string, ns int64, v float64) int64 {
	r := s.res
	coarse := truncNanos(ns, r.levels[0])
	maxT, ok := r.maxT[key]
	if !ok {
		maxT = s.latest(key)
		r.maxT[key] = maxT
	}
	if coarse > maxT {
		r.remember(key, coarse, nil, coarse, v)
		return coarse
	}
	// Everything stored in the coarse slot (the finer slots lie inside it):
	// from the cache when it is the series' latest slot, else read.
	var existing []point
	if c := r.last[key]; c != nil && c.coarse == coarse {
		existing = c.pts
	} else {
		var err error
		if existing, err = s.slotPoints(key, coarse, coarse+r.levels[0]); err != nil {
			s.log.Warn("look up points for the time of a new one; keeping its full time", "series", key, "err", err)
			return ns
		}
	}
	t := s.pickTime(key, existing, ns, v)
	r.remember(key, coarse, existing, t, v)
	return t
}

// remember records the point (t, v) resolved into coarse slot of key, whose
// other points are existing; only the series' latest slot is kept.
func (r *resolver) remember(key string, coarse int64, existing []point, t int64, v float64) {
	c := r.last[key]
	switch {
	case c == nil:
		c = &slotPoints{}
		r.last[key] = c
	case coarse < c.coarse:
		return // late data: the latest slot stays as it is
	}
	if c.coarse != coarse {
		c.coarse, c.pts = coarse, append(c.pts[:0], existing...)
	}
	c.pts = append(c.pts, point{T: t, V: v})
}

// pickTime chooses the time of a point of key at ns among the points
// already in its coarse slot: the coarsest level where the slot is free or
// holds the same value.
func (s *Store) pickTime(key string, existing []point, ns int64, v float64) int64 {
	r := s.res
	for i, unit := range r.levels {
		t := truncNanos(ns, unit)
		found, same := false, false
		for _, p := range existing {
			if p.T == t {
				found = true
				same = same || math.Float64bits(p.V) == math.Float64bits(v)
			}
		}
		switch {
		case !found:
			if i > 0 {
				s.m.refined.Inc()
			}
			return t
		case same:
			s.m.collapsed.WithLabelValues(CollapseDuplicate).Inc()
			return t
		case i == len(r.levels)-1:
			s.m.collapsed.WithLabelValues(CollapseConflict).Inc()
			s.log.Warn("two values of one series at the same nanosecond; the later one is kept",
				"series", key, "time", time.Unix(0, t).UTC(), "value", v)
			return t
		}
	}
	return ns // not reached: the last level returns
}

// latest is the time of the series' last stored point, MinInt64 if none.
func (s *Store) latest(key string) int64 {
	sn, err := s.snapshot([]string{key}, math.MinInt64, math.MaxInt64)
	if err != nil {
		return math.MaxInt64 // unknown: every point takes the careful path
	}
	defer func() { _ = sn.tx.Rollback() }() // read-only: nothing to undo
	if _, ok := sn.metas[key]; !ok {
		return math.MinInt64
	}
	last, found, err := sn.last(key)
	if err != nil {
		return math.MaxInt64
	}
	if !found {
		return math.MinInt64
	}
	return last.T
}

// slotPoints returns the stored points of key in [from, to) and those of
// the commit in progress, whose times are resolved up to the current one.
// The careful path is rare, so it scans the batch instead of the fast path
// keeping an index of it.
func (s *Store) slotPoints(key string, from, to int64) ([]point, error) {
	var pts []point
	r := s.res
	for ri, req := range r.batch[:r.curR+1] {
		ms := req.ms
		if ri == r.curR {
			ms = ms[:r.curM]
		}
		for i, m := range ms {
			if t := m.Time.UnixNano(); t >= from && t < to && req.keys[i] == key {
				pts = append(pts, point{T: t, V: m.Value})
			}
		}
	}
	sn, err := s.snapshot([]string{key}, from, to)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sn.tx.Rollback() }() // read-only: nothing to undo
	stored, err := sn.points(nil, key, from, to)
	if err != nil {
		return nil, err
	}
	// Pending points are later than stored ones, so they come last.
	return append(stored, pts...), nil
}
