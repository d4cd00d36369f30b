package roadcast

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Tolerances of issue 18's acceptance.
const (
	maxRMSE         = 1.0
	maxFreezeOffset = 45 * time.Minute
)

// comparison holds the figures of one case.
type comparison struct {
	rmse                    float64
	model, peer             time.Time
	modelFrozen, peerFrozen bool
}

func compare(t *testing.T, c Case) comparison {
	t.Helper()
	res, err := Forecast(c.Input())
	require.NoError(t, err, c.Name)
	at := make(map[time.Time]float64, len(res.Points))
	for _, p := range res.Points {
		at[p.Time] = p.SurfaceTemperature
	}
	var cmp comparison
	var sum float64
	n := 0
	for _, r := range c.Reference {
		if r.Time.Before(c.Issued) || r.Time.After(c.Issued.Add(12*time.Hour)) {
			continue
		}
		m, ok := at[r.Time]
		require.True(t, ok, "%s: no model output at %s (reference times must be on the 10-min grid)", c.Name, r.Time)
		sum += (m - r.SurfaceTemperature) * (m - r.SurfaceTemperature)
		n++
		if !cmp.peerFrozen && r.SurfaceTemperature < 0 {
			cmp.peer, cmp.peerFrozen = r.Time, true
		}
	}
	require.Positive(t, n, "%s: no reference point in the 12 h", c.Name)
	cmp.rmse = math.Sqrt(sum / float64(n))
	cmp.model, cmp.modelFrozen = res.FirstBelow(0)
	return cmp
}

// TestAgainstMETRo runs every case in testdata/metro and holds the model to
// the tolerances against the peer's output. An empty directory
// fails: the comparison must never pass by having nothing to compare.
func TestAgainstMETRo(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "metro", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "testdata/metro holds no comparison case")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			c, err := ParseCase(data)
			require.NoError(t, err)
			cmp := compare(t, c)
			t.Logf("%s: RMSE %.2f K, first below 0 degC model %v (%v) peer %v (%v)",
				c.Name, cmp.rmse, cmp.model.Format("15:04"), cmp.modelFrozen, cmp.peer.Format("15:04"), cmp.peerFrozen)
			require.LessOrEqual(t, cmp.rmse, maxRMSE, "FBT RMSE over 12 h")
			require.Equal(t, cmp.peerFrozen, cmp.modelFrozen, "whether FBT falls below 0 degC")
			if cmp.peerFrozen {
				off := cmp.model.Sub(cmp.peer).Abs()
				require.LessOrEqual(t, off, maxFreezeOffset, "first time below 0 degC: model %s, peer %s", cmp.model, cmp.peer)
			}
		})
	}
}
