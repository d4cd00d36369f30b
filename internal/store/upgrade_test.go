package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// v1StoreDir is a store written by the chunk format 1 code (commit 4bd9bd0)
// with v1StoreData, kept to prove that old stores open and convert. Its
// generator (appending each batch, committing a cursor, sealing once a
// day, one KV key) ran once under format 1, in commit a0baa9e; it is not
// kept as a test, since today's code would write format 2.
const v1StoreDir = "testdata/store-v1"

// v2StoreDir is a store written by the chunk format 2 code (commit
// e645954) with upgradeStoreData(45), the same way as testdata/store-v1:
// its meter and road series have cold chunks and small ones, all in the
// chunks bucket, and the raw series format 1 XOR chunks.
const v2StoreDir = "testdata/store-v2"

// v1StoreData is the data of testdata/store-v1, one batch per day: a
// meter (0.01 kWh), a road temperature (0.01 degC, with a few doubled
// uplinks kept at 1 ms) and raw floats that fit no decimal scale.
func v1StoreData() [][]measurement.Measurement { return upgradeStoreData(6) }

// upgradeStoreData is the data of the upgrade test stores, days long.
func upgradeStoreData(days int) [][]measurement.Measurement {
	rng := rand.New(rand.NewPCG(20, 20))
	meter := meterSeries(rng, days*96)
	road := roadSeries(rng, days*144, 3)
	var out [][]measurement.Measurement
	for d := 0; d < days; d++ {
		var ms []measurement.Measurement
		for i := d * 96; i < (d+1)*96; i++ {
			ms = append(ms, meas("meter000", measurement.EnergyActiveImport, 0, meter[i], t0.Add(time.Duration(i)*15*time.Minute)))
		}
		for i := d * 144; i < (d+1)*144; i++ {
			at := t0.Add(time.Duration(i)*10*time.Minute + time.Duration(rng.IntN(20000))*time.Microsecond)
			ms = append(ms, meas("road00", measurement.RoadSurfaceTemperature, 0, road[i], at))
			if i%50 == 7 {
				ms = append(ms, meas("road00", measurement.RoadSurfaceTemperature, 0, road[i]+0.5, at.Add(300*time.Millisecond)))
			}
		}
		for i := 0; i < 40; i++ {
			ms = append(ms, meas("raw", measurement.BatteryVoltage, 1, rng.Float64()*math.Pi, t0.Add(time.Duration(d*40+i)*37*time.Minute)))
		}
		out = append(out, ms)
	}
	return out
}

// copyDir copies the store in src to a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	require.NoError(t, filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	}))
	return dst
}

// chunkFormats counts the stored chunks by format and value mode.
func chunkFormats(t *testing.T, s *Store) (v1Decimal, v1XOR, v2 int) {
	t.Helper()
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		return forEachChunk(tx, func(_, v []byte) error {
			switch {
			case v[0] == chunkVersion2:
				v2++
			case (v[1]>>2)&3 == modeXOR:
				v1XOR++
			default:
				v1Decimal++
			}
			return nil
		})
	}))
	return
}

type storeAnswers struct {
	Series []SeriesInfo
	Range  []Series
	Last   []Series
	Agg    []AggregateSeries
}

// sameAnswers compares answers as text, so that the NaN of empty buckets
// equals itself, and shows where they first differ.
func sameAnswers(t *testing.T, want, got storeAnswers, msg string) {
	t.Helper()
	w, g := fmt.Sprintf("%+v", want), fmt.Sprintf("%+v", got)
	if w == g {
		return
	}
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	lo := max(0, i-200)
	t.Fatalf("%s: answers differ at byte %d:\nwant ...%s\ngot  ...%s", msg, i, w[lo:min(len(w), i+200)], g[lo:min(len(g), i+200)])
}

func answers(t *testing.T, s *Store) storeAnswers {
	t.Helper()
	return answersOver(t, s, 10, 7)
}

// answersOver queries rangeDays of Range and aggDays of 6-hour Aggregate.
func answersOver(t *testing.T, s *Store, rangeDays, aggDays int) storeAnswers {
	t.Helper()
	ctx := context.Background()
	var a storeAnswers
	a.Series = s.Series()
	var keys []string
	for _, si := range a.Series {
		keys = append(keys, si.Key)
	}
	var err error
	a.Range, err = s.Range(ctx, keys, t0.Add(-time.Hour), t0.AddDate(0, 0, rangeDays))
	require.NoError(t, err)
	a.Last, err = s.Last(ctx, keys)
	require.NoError(t, err)
	a.Agg, err = s.Aggregate(ctx, AggregateQuery{Keys: keys, From: t0, To: t0.AddDate(0, 0, aggDays), Every: 6 * time.Hour})
	require.NoError(t, err)
	return a
}

// A store written with format 1 opens, answers as a store written today
// with the same data does, is converted by Compact (and in the background
// by default), keeps its cursor, log and KV, and shrinks its file with
// CompactFile.
func TestUpgradeV1Store(t *testing.T) {
	ctx := context.Background()
	fresh := openTest(t, Options{SealInterval: 1000 * time.Hour})
	total := 0
	for _, ms := range v1StoreData() {
		require.NoError(t, fresh.Append(ctx, ms))
		require.NoError(t, fresh.Seal())
		total += len(ms)
	}
	want := answers(t, fresh)
	n := 0
	for _, se := range want.Range {
		n += len(se.Points)
	}
	require.Equal(t, total, n)

	dir := copyDir(t, v1StoreDir)
	s := openTest(t, Options{Dir: dir, NoBackgroundConvert: true, SealInterval: 1000 * time.Hour})
	v1d, v1x, v2 := chunkFormats(t, s)
	require.Positive(t, v1d)
	require.Zero(t, v2)
	sameAnswers(t, want, answers(t, s), "format 1 store answers")

	rep, err := s.Compact(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Series)
	require.Less(t, rep.BytesNow, rep.BytesBefore)
	t.Logf("compact: %+v", rep)
	d2, x2, v2 := chunkFormats(t, s)
	require.Zero(t, d2)
	require.Equal(t, v1x > 0, x2 > 0, "raw floats stay XOR coded")
	require.Positive(t, v2)
	sameAnswers(t, want, answers(t, s), "after Compact")

	// The cursor kept its place: the last day's record is still to read.
	c, err := s.OpenCursor("sink-a")
	require.NoError(t, err)
	recs, err := c.Next(ctx, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Len(t, recs[0].Measurements, len(v1StoreData()[5]))
	v, err := s.KV("alerts").Get([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, []byte("v"), v)
	require.NoError(t, s.Close())

	before, after, err := CompactFile(dir)
	require.NoError(t, err)
	require.LessOrEqual(t, after, before)
	s = openTest(t, Options{Dir: dir})
	sameAnswers(t, want, answers(t, s), "after CompactFile")
	require.NoError(t, s.Close())

	// By default Open converts in the background.
	dir = copyDir(t, v1StoreDir)
	s = openTest(t, Options{Dir: dir, SealInterval: 1000 * time.Hour})
	require.Eventually(t, func() bool {
		d, _, _ := chunkFormats(t, s)
		return d == 0
	}, 10*time.Second, 10*time.Millisecond)
	sameAnswers(t, want, answers(t, s), "after background conversion")
	require.NoError(t, s.Close())
}

// A store written with format 2 opens and answers as a store written today
// with the same data does, keeps its cursor, log and KV, and is converted.
func TestUpgradeV2Store(t *testing.T) {
	ctx := context.Background()
	data := upgradeStoreData(45)
	fresh := openTest(t, Options{SealInterval: 1000 * time.Hour})
	for _, ms := range data {
		require.NoError(t, fresh.Append(ctx, ms))
		require.NoError(t, fresh.Seal())
	}
	want := answersOver(t, fresh, 50, 45)

	dir := copyDir(t, v2StoreDir)
	s := openTest(t, Options{Dir: dir, NoBackgroundConvert: true, SealInterval: 1000 * time.Hour})
	legacy, cold, hot := layout(t, s)
	require.Equal(t, 21, legacy, "testdata/store-v2 keeps all chunks in the chunks bucket")
	require.Zero(t, cold+hot)
	sameAnswers(t, want, answersOver(t, s, 50, 45), "format 2 store answers")
	rep, err := s.Compact(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Rewritten)
	t.Logf("compact: %+v", rep)
	legacy, cold, hot = layout(t, s)
	require.Zero(t, legacy)
	require.Positive(t, cold)
	require.Positive(t, hot)
	sameAnswers(t, want, answersOver(t, s, 50, 45), "after Compact")
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		require.Equal(t, []byte{storeFormat}, tx.Bucket(bucketMeta).Get(keyFormat))
		// Every cold chunk is full, every small one hot.
		c := coldSet(tx).cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			require.False(t, s.small(v), "small chunk %x in the cold set", k)
		}
		return nil
	}))
	// A second Compact has nothing left to do.
	rep, err = s.Compact(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Rewritten)

	c, err := s.OpenCursor("sink-a")
	require.NoError(t, err)
	recs, err := c.Next(ctx, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Len(t, recs[0].Measurements, len(data[len(data)-1]))
	v, err := s.KV("alerts").Get([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, []byte("v"), v)

	// Seals go on in the new layout and the answers stay those of a
	// store written today.
	more := upgradeStoreData(47)[45:]
	for _, ms := range more {
		require.NoError(t, fresh.Append(ctx, ms))
		require.NoError(t, fresh.Seal())
		require.NoError(t, s.Append(ctx, ms))
		require.NoError(t, s.Seal())
	}
	sameAnswers(t, answersOver(t, fresh, 50, 47), answersOver(t, s, 50, 47), "after more seals")
	require.NoError(t, s.Close())

	// By default Open converts in the background.
	s = openTest(t, Options{Dir: copyDir(t, v2StoreDir), SealInterval: 1000 * time.Hour})
	require.Eventually(t, func() bool {
		legacy, _, _ := layout(t, s)
		return legacy == 0
	}, 10*time.Second, 10*time.Millisecond)
	sameAnswers(t, want, answersOver(t, s, 50, 45), "after background conversion")
	require.NoError(t, s.Close())
}

// layout counts the chunks in the legacy, cold and hot sets.
func layout(t *testing.T, s *Store) (legacy, cold, hot int) {
	t.Helper()
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		for _, cs := range chunkSets(tx) {
			n := cs.idx.Stats().KeyN
			switch {
			case cs.legacy:
				legacy = n
			case cs.data != nil:
				cold = n
				require.Equal(t, n, cs.data.Stats().KeyN, "cold index and data")
			default:
				hot = n
			}
		}
		return nil
	}))
	return
}

// forEachChunk calls fn for every chunk (key and chunk) of tx.
func forEachChunk(tx *bolt.Tx, fn func(k, v []byte) error) error {
	for _, cs := range chunkSets(tx) {
		c := cs.cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := fn(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}
