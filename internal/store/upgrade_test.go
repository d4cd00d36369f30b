package store

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/stretchr/testify/require"
)

// v1StoreDir is a store written by the chunk format 1 code (commit 4bd9bd0)
// with v1StoreData, kept to prove that old stores open and convert.
const v1StoreDir = "testdata/store-v1"

// v1StoreData is the data of testdata/store-v1, one batch per day: a
// meter (0.01 kWh), a road temperature (0.01 degC, with a few doubled
// uplinks kept at 1 ms) and raw floats that fit no decimal scale.
func v1StoreData() [][]measurement.Measurement {
	rng := rand.New(rand.NewPCG(20, 20))
	const days = 6
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

// TestGenerateV1Store writes testdata/store-v1 when LORAEDGE_GEN_V1STORE=1;
// it was run once with the format 1 encoder and must not be rerun (the
// store would then hold the current format).
func TestGenerateV1Store(t *testing.T) {
	if os.Getenv("LORAEDGE_GEN_V1STORE") != "1" {
		t.Skip("generator: run once with LORAEDGE_GEN_V1STORE=1 under the format 1 encoder")
	}
	require.NoError(t, os.RemoveAll(v1StoreDir))
	s := openTest(t, Options{Dir: v1StoreDir, SealInterval: 1000 * time.Hour})
	ctx := context.Background()
	c, err := s.OpenCursor("sink-a")
	require.NoError(t, err)
	data := v1StoreData()
	for i, ms := range data {
		require.NoError(t, s.Append(ctx, ms))
		if i < len(data)-1 {
			recs, err := c.Next(ctx, 10)
			require.NoError(t, err)
			require.NoError(t, c.Commit(recs[len(recs)-1].Seq))
		}
		require.NoError(t, s.Seal())
	}
	require.NoError(t, s.KV("alerts").Put([]byte("k"), []byte("v")))
	require.NoError(t, s.Close())
	require.NoError(t, filepath.WalkDir(v1StoreDir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			fi, _ := e.Info()
			t.Logf("%s %d", p, fi.Size())
		}
		return err
	}))
}
