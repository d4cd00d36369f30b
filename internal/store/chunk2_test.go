package store

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// Decimal series take format 2, others stay format 1; both formats decode,
// and every value comes back bit for bit.
func TestChunkFormats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	base := t0.UnixNano()
	dec := make([]point, 5000)
	raw := make([]point, 500)
	for i := range dec {
		dec[i] = point{base + int64(i)*int64(10*time.Minute), math.Round((3+rng.NormFloat64())*100) / 100}
	}
	for i := range raw {
		raw[i] = point{base + int64(i)*int64(time.Second), rng.Float64()}
	}
	// A few values that are no decimal at the scale stay exceptions.
	mixed := append([]point(nil), dec...)
	for i, v := range []float64{math.NaN(), math.Copysign(0, -1), math.Inf(-1), 1.0 / 3, 0.1 + 0.2, math.MaxFloat64} {
		mixed[i*97+3].V = v
	}
	mixed[0].V = math.NaN()
	for name, tc := range map[string]struct {
		pts     []point
		version byte
		enc     func([]point) []byte
	}{
		"decimal":    {dec, chunkVersion2, encodeChunk},
		"raw":        {raw, chunkVersion, encodeChunk},
		"decimal-v1": {dec, chunkVersion, encodeChunkV1},
		"exceptions": {mixed, chunkVersion2, encodeChunk},
	} {
		t.Run(name, func(t *testing.T) {
			b := tc.enc(tc.pts)
			require.Equal(t, tc.version, b[0])
			got, err := decodeChunk(nil, b)
			require.NoError(t, err)
			require.Len(t, got, len(tc.pts))
			for i := range got {
				require.Equal(t, tc.pts[i].T, got[i].T)
				require.Equal(t, math.Float64bits(tc.pts[i].V), math.Float64bits(got[i].V))
			}
			h, err := readChunkHeader(b)
			require.NoError(t, err)
			assert.Equal(t, chunkHeader{Count: len(tc.pts), MinT: tc.pts[0].T, MaxT: tc.pts[len(tc.pts)-1].T}, h)
		})
	}
	// Format 2 is smaller than format 1 on the same noisy decimals.
	assert.Less(t, len(encodeChunk(dec)), len(encodeChunkV1(dec)))
}

// Damaged format 2 chunks are errors, never panics or wrong lengths.
func TestChunk2Damage(t *testing.T) {
	pts := make([]point, 300)
	for i := range pts {
		pts[i] = point{int64(i) * 1e9, float64(i%17) / 10}
	}
	b := encodeChunk(pts)
	require.Equal(t, byte(chunkVersion2), b[0])
	for cut := 0; cut < len(b); cut++ {
		if got, err := decodeChunk(nil, b[:cut]); err == nil {
			require.Len(t, got, len(pts), "cut at %d", cut)
		}
	}
	rng := rand.New(rand.NewPCG(4, 4))
	for i := 0; i < 2000; i++ {
		c := append([]byte(nil), b...)
		c[rng.IntN(len(c))] ^= byte(1 + rng.IntN(255))
		_, _ = decodeChunk(nil, c)
	}
	for i, v := range map[int]byte{3: numPredictors, 4: 1} { // predictor, reserved
		bad := append([]byte(nil), b...)
		bad[i] = v
		_, err := decodeChunk(nil, bad)
		require.ErrorIs(t, err, errChunk)
	}
}

func FuzzDecodeChunk2(f *testing.F) {
	f.Add(encodeChunk([]point{{1e9, 1.5}, {2e9, 2.25}, {4e9, 3}}))
	f.Add(encodeChunk([]point{{1, 0.01}, {2, 0.02}, {3, -0.07}, {5, 100}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		pts, err := decodeChunk2(nil, b)
		if err != nil {
			return
		}
		h, err := readChunkHeader(b)
		require.NoError(t, err)
		require.Len(t, pts, h.Count)
	})
}

// A meter register with a daily load profile takes a daily predictor, and
// its chunk decodes to the same values.
func TestChunk2DailyPredictor(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	v := meterSeries(rng, 96*30)
	pts := make([]point, len(v))
	for i := range v {
		pts[i] = point{t0.Add(time.Duration(i) * 15 * time.Minute).UnixNano(), v[i]}
	}
	require.Equal(t, 96, dailyPeriod(pts))
	b := encodeChunk(pts)
	require.Equal(t, byte(chunkVersion2), b[0])
	require.GreaterOrEqual(t, int(b[3]), predDaily1, "predictor")
	got, err := decodeChunk(nil, b)
	require.NoError(t, err)
	for i := range pts {
		require.Equal(t, pts[i], got[i])
	}
	// Irregular times: no period, and still exact.
	pts[1].T += 7e9
	require.Zero(t, dailyPeriod(pts))
	got, err = decodeChunk(nil, encodeChunk(pts))
	require.NoError(t, err)
	require.Equal(t, pts, got)
}

// unpredict's unrolled loops invert every predictor exactly.
func TestUnpredict(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	ns := make([]int64, 2000)
	for i := range ns {
		ns[i] = rng.Int64N(1e6) - 5e5
	}
	for kind := 0; kind < numPredictors; kind++ {
		for _, period := range []int{1, 7, 96} {
			p := predictor{kind: kind}
			if kind >= predDaily1 {
				p.period = period
			}
			res := make([]int64, len(ns))
			res[0] = ns[0]
			for i := 1; i < len(ns); i++ {
				res[i] = ns[i] - p.predict(ns, i)
			}
			unpredict(res, p)
			require.Equal(t, ns, res, "predictor %+v", p)
		}
	}
}

// A closed chunk that does not decode keeps its neighbours from being
// merged, but sealing goes on.
func TestMergeColdSkipsDamage(t *testing.T) {
	s := openTest(t, Options{SealInterval: time.Hour, ChunkBytes: 64, ColdChunkBytes: 400})
	ctx := context.Background()
	add := func(day int) {
		var ms []measurement.Measurement
		for i := 0; i < 96; i++ {
			ms = append(ms, meas("m", measurement.EnergyActiveImport, 0, float64(day*96+i)/100, t0.Add(time.Duration(day*96+i)*15*time.Minute)))
		}
		require.NoError(t, s.Append(ctx, ms))
		require.NoError(t, s.Seal())
	}
	add(0)
	var bad []byte
	require.NoError(t, s.db.Update(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bucketHot).Cursor().First()
		bad = append([]byte(nil), k...)
		broken := append([]byte(nil), v...)
		broken[len(broken)-1] ^= 0xff
		if _, err := decodeChunk(nil, broken); err == nil {
			return errors.New("the damage went unnoticed")
		}
		return tx.Bucket(bucketHot).Put(bad, broken)
	}))
	for day := 1; day < 4; day++ {
		add(day)
	}
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		require.NotNil(t, tx.Bucket(bucketHot).Get(bad), "the damaged chunk stays for store check")
		return nil
	}))
}
