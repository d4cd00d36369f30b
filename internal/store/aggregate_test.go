package store

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// plainAggregate folds point by point into the buckets: the reference
// that aggregate must match bit for bit.
func plainAggregate(pts []point, edges []time.Time, ns []int64) []Bucket {
	bs := newBuckets(edges)
	bi := 0
	for i, p := range pts {
		if p.T < ns[0] {
			continue
		}
		for bi < len(bs) && p.T >= ns[bi+1] {
			bi++
		}
		if bi == len(bs) {
			break
		}
		b := &bs[bi]
		if b.Count == 0 {
			b.Min, b.Max, b.First = p.V, p.V, p.V
		}
		b.Count++
		b.Sum += p.V
		b.Last = p.V
		if p.V < b.Min {
			b.Min = p.V
		}
		if p.V > b.Max {
			b.Max = p.V
		}
		if i > 0 {
			if d := p.V - pts[i-1].V; d >= 0 {
				b.Increase += d
			} else {
				b.Increase += p.V
			}
		}
	}
	for i := range bs {
		if bs[i].Count > 0 {
			bs[i].Mean = bs[i].Sum / float64(bs[i].Count)
		}
	}
	return bs
}

// aggregate gives the point-by-point fold's buckets bit for bit: random
// series with resets, repeated values and gaps, points before the first
// and after the last edge, empty buckets.
func TestAggregateMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	for trial := 0; trial < 300; trial++ {
		pts := randomSeries(rng)
		lo, hi := pts[0].T, pts[len(pts)-1].T
		span := hi - lo + 1
		nb := 1 + rng.IntN(20)
		ns := make([]int64, nb+1)
		edges := make([]time.Time, nb+1)
		at := lo - rng.Int64N(span/4+1) + rng.Int64N(span/4+1)
		for i := range ns {
			ns[i] = at
			edges[i] = time.Unix(0, at).UTC()
			at += 1 + rng.Int64N(2*span/int64(nb)+1)
		}
		got, want := aggregate(pts, edges, ns), plainAggregate(pts, edges, ns)
		require.Len(t, got, len(want))
		for i := range want {
			g, w := got[i], want[i]
			require.Equal(t, w.Count, g.Count, "trial %d bucket %d", trial, i)
			require.Equal(t, w.Start, g.Start)
			require.Equal(t, w.End, g.End)
			for _, f := range [][2]float64{{w.Min, g.Min}, {w.Max, g.Max}, {w.Sum, g.Sum}, {w.Mean, g.Mean},
				{w.First, g.First}, {w.Last, g.Last}, {w.Increase, g.Increase}} {
				require.Equal(t, math.Float64bits(f[0]), math.Float64bits(f[1]), "trial %d bucket %d: %+v != %+v", trial, i, g, w)
			}
		}
	}
}
