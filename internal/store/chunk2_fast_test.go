package store

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// plainDecodeChunk2 decodes a format 2 chunk point by point with the
// general predictor and binary.Varint: the reference that decodeChunk2's
// unrolled loops must match.
func plainDecodeChunk2(t *testing.T, b []byte) []point {
	t.Helper()
	h, p, err := parseChunk2Header(b)
	require.NoError(t, err)
	_, dec, err := zstdCoders()
	require.NoError(t, err)
	raw, err := dec.DecodeAll(p, nil)
	require.NoError(t, err)
	next := func() int64 {
		v, n := binary.Varint(raw)
		require.Positive(t, n)
		raw = raw[n:]
		return v
	}
	unit := timeUnits[h.unitIdx]
	pts := make([]point, h.count)
	tm, dt := h.firstT, int64(0)
	pts[0].T = tm * unit
	for i := 1; i < h.count; i++ {
		dt += next()
		tm += dt
		pts[i].T = tm * unit
	}
	ns := make([]int64, h.count)
	ns[0] = h.firstN
	res := make([]int64, h.count)
	for i := 1; i < h.count; i++ {
		res[i] = next()
	}
	for i := 1; i < h.count; i++ {
		ns[i] = res[i] + h.pred.predict(ns, i)
	}
	for i, n := range ns {
		if h.mul {
			pts[i].V = float64(n) * negPow10[h.k]
		} else {
			pts[i].V = float64(n) / pow10[h.k]
		}
	}
	ne, n := binary.Uvarint(raw)
	require.Positive(t, n)
	raw = raw[n:]
	at := 0
	for e := uint64(0); e < ne; e++ {
		di, n := binary.Uvarint(raw)
		require.Positive(t, n)
		at += int(di)
		pts[at].V = math.Float64frombits(binary.LittleEndian.Uint64(raw[n:]))
		raw = raw[n+8:]
	}
	require.Empty(t, raw)
	return pts
}

// randomSeries returns a NaN-free series for the decoding property test:
// a regular or jittered time axis with gaps, at one of several
// resolutions, of counters with resets, repeated values or noise.
func randomSeries(rng *rand.Rand) []point {
	steps := []time.Duration{time.Second, 10 * time.Minute, 15 * time.Minute, time.Hour, 1500 * time.Millisecond}
	step := int64(steps[rng.IntN(len(steps))])
	k := rng.IntN(5)
	scale := math.Pow(10, float64(k))
	n := 1 + rng.IntN(6000)
	jitter := rng.IntN(3) == 0
	pts := make([]point, n)
	tm := t0.UnixNano() + rng.Int64N(int64(time.Hour))
	v := float64(rng.IntN(100000))
	kind := max(0, rng.IntN(6)-2) // meters half the time
	for i := range pts {
		pts[i] = point{T: tm, V: math.Round(v*scale) / scale}
		tm += step
		if jitter {
			tm += rng.Int64N(step/10+1) - step/20
		}
		if rng.IntN(500) == 0 {
			tm += step * int64(1+rng.IntN(200)) // a gap
		}
		switch kind {
		case 0: // a meter register with a daily load and resets
			day := float64(tm%int64(24*time.Hour)) / float64(24*time.Hour)
			v += math.Max(0, math.Sin(day*2*math.Pi)+rng.NormFloat64()*0.3)
			if rng.IntN(2000) == 0 {
				v = 0
			}
		case 1: // noisy temperatures
			v = 5 + rng.NormFloat64()*3
		case 2: // a value that repeats, then jumps
			if rng.IntN(50) == 0 {
				v = float64(rng.IntN(1000)) - 500
			}
		default: // large steps
			v += rng.NormFloat64() * 1e6
		}
	}
	// A few values that are no decimal at the scale.
	if rng.IntN(3) == 0 {
		for e := 0; e < n/40; e++ {
			pts[rng.IntN(n)].V = rng.Float64()
		}
	}
	return pts
}

// The unrolled decoder gives the plain decoder's points bit for bit, over
// every predictor, with and without exceptions.
func TestDecodeChunk2MatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 20))
	seen := map[int]int{}
	var buf []point
	for trial := 0; trial < 400; trial++ {
		pts := randomSeries(rng)
		b := encodeChunk(pts)
		if b[0] != chunkVersion2 {
			continue
		}
		h, _, err := parseChunk2Header(b)
		require.NoError(t, err)
		seen[h.pred.kind]++
		want := plainDecodeChunk2(t, b)
		// Appended after other points, as queries do.
		buf, err = decodeChunk(append(buf[:0], point{T: 1, V: 2}), b)
		require.NoError(t, err)
		require.Equal(t, point{T: 1, V: 2}, buf[0])
		got := buf[1:]
		require.Len(t, got, len(want))
		for i := range want {
			require.Equal(t, want[i].T, got[i].T, "trial %d point %d", trial, i)
			require.Equal(t, math.Float64bits(want[i].V), math.Float64bits(got[i].V), "trial %d point %d", trial, i)
			require.Equal(t, math.Float64bits(pts[i].V), math.Float64bits(got[i].V), "trial %d point %d", trial, i)
		}
	}
	for kind := 0; kind < numPredictors; kind++ {
		require.Positive(t, seen[kind], "predictor %d not covered: %v", kind, seen)
		t.Logf("predictor %d: %d chunks", kind, seen[kind])
	}
}
