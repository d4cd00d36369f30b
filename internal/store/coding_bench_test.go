package store

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// codingSet is one of the side-by-side data sets as decimal points per
// series.
type codingSet struct {
	name   string
	series [][]point
}

func codingSets() []codingSet {
	rng := rand.New(rand.NewPCG(1, 1))
	meters := codingSet{name: "meter-15min-1y-20series"}
	for k := 0; k < 20; k++ {
		v := meterSeries(rng, 35040)
		pts := make([]point, len(v))
		for i := range v {
			pts[i] = point{T: t0.Add(time.Duration(i) * 15 * time.Minute).UnixNano(), V: v[i]}
		}
		meters.series = append(meters.series, pts)
	}
	rng = rand.New(rand.NewPCG(2, 2))
	roads := codingSet{name: "road-10min-1y-4stations"}
	for k := 0; k < 4; k++ {
		for _, base := range []float64{3, 4, 80} {
			v := roadSeries(rng, 365*144, base)
			pts := make([]point, len(v))
			for i := range v {
				pts[i] = point{T: t0.Add(time.Duration(i)*10*time.Minute + time.Duration(k)*7*time.Second).UnixNano(), V: v[i]}
			}
			roads.series = append(roads.series, pts)
		}
	}
	return []codingSet{meters, roads}
}

// order0 is the order-0 entropy of xs in bits per symbol.
func order0(xs []int64) float64 {
	h := map[int64]int{}
	for _, x := range xs {
		h[x]++
	}
	var e float64
	n := float64(len(xs))
	for _, c := range h {
		p := float64(c) / n
		e -= p * math.Log2(p)
	}
	return e
}

// split cuts pts into chunks of n points.
func split(pts []point, n int) [][]point {
	var out [][]point
	for len(pts) > 0 {
		m := min(n, len(pts))
		out = append(out, pts[:m])
		pts = pts[m:]
	}
	return out
}

// BenchmarkEntropyStage measures, per data set: the order-0 entropy of
// the values' second differences and of the best predictor's residuals in
// units of the resolution (the bound a per-point coder without context
// can reach); the chunk payload of format 1 (fixed-width bit fields),
// of format 2 (the residuals through zstd) and of the same residuals
// through the adaptive range coder of rangecoder_test.go, for chunks of
// 4,096 points; and the decoding time per point of each.
//
//	go test -run '^$' -bench EntropyStage -benchtime 1x ./internal/store/
func BenchmarkEntropyStage(b *testing.B) {
	for _, set := range codingSets() {
		b.Run(set.name, func(b *testing.B) {
			var d2, res []int64
			var v1, v2, rc [][]byte
			pts := 0
			for _, s := range set.series {
				pts += len(s)
				_, _, ns, _, ok := decimalScaleLoose(s, nil)
				if !ok {
					b.Fatal("not decimal")
				}
				for i := 2; i < len(ns); i++ {
					d2 = append(d2, ns[i]-2*ns[i-1]+ns[i-2])
				}
				for _, c := range split(s, 4096) {
					_, _, cn, _, _ := decimalScaleLoose(c, nil)
					p := bestPredictor(cn, dailyPeriod(c))
					for i := 1; i < len(cn); i++ {
						res = append(res, cn[i]-p.predict(cn, i))
					}
					v1 = append(v1, encodeChunkV1(c))
					v2 = append(v2, encodeChunk(c))
					rc = append(rc, encodeChunkRC(c))
				}
			}
			size := func(cs [][]byte) float64 {
				n := 0
				for _, c := range cs {
					n += len(c)
				}
				return float64(n) / float64(pts)
			}
			timeIt := func(cs [][]byte, dec func([]byte) error) float64 {
				start := time.Now()
				for r := 0; r < 3; r++ {
					for _, c := range cs {
						if err := dec(c); err != nil {
							b.Fatal(err)
						}
					}
				}
				return float64(time.Since(start).Nanoseconds()) / float64(3*pts)
			}
			buf := make([]point, 0, 4096)
			chunkDec := func(c []byte) error {
				var err error
				buf, err = decodeChunk(buf[:0], c)
				return err
			}
			b.ReportMetric(order0(d2)/8, "d2EntropyB/point")
			b.ReportMetric(order0(res)/8, "residualEntropyB/point")
			b.ReportMetric(size(v1), "v1B/point")
			b.ReportMetric(size(v2), "v2B/point")
			b.ReportMetric(size(rc), "rangeCoderB/point")
			b.ReportMetric(timeIt(v1, chunkDec), "v1DecodeNs/point")
			b.ReportMetric(timeIt(v2, chunkDec), "v2DecodeNs/point")
			b.ReportMetric(timeIt(rc, func(c []byte) error {
				var err error
				buf, err = decodeChunkRC(buf[:0], c)
				return err
			}), "rangeCoderDecodeNs/point")
		})
	}
}
