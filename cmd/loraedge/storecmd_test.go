package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
)

// store check finds damage before the log's tail; store repair cuts the
// log there and the store opens again.
func TestStoreCheckAndRepair(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "store"), Config: store.Config{CommitInterval: time.Millisecond}, SealInterval: time.Hour})
	require.NoError(t, err)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 50; i++ {
		require.NoError(t, st.Append(context.Background(), []measurement.Measurement{
			{Device: "70b3d57ed0000001", Quantity: measurement.AirTemperature, Value: float64(i), Unit: "degC", Time: t0.Add(time.Duration(i) * time.Minute)},
		}))
	}
	// A crashed daemon's data directory: a copy taken while the store is
	// open, so the log still holds its records.
	crashed := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(crashed, "store"), os.DirFS(filepath.Join(dir, "store"))))
	require.NoError(t, st.Close())
	dir = crashed
	segs, err := filepath.Glob(filepath.Join(dir, "store", "wal", "*"))
	require.NoError(t, err)
	var seg string
	for _, s := range segs {
		if fi, err := os.Stat(s); err == nil && fi.Mode().IsRegular() && fi.Size() > 1000 {
			seg = s
		}
	}
	require.NotEmpty(t, seg, "a log segment with records: %v", segs)
	out, _, err := runCmd(t, context.Background(), "store", "check", "--data-dir", dir)
	require.NoError(t, err, out)

	b, err := os.ReadFile(seg)
	require.NoError(t, err)
	b[len(b)/3] ^= 0xff
	require.NoError(t, os.WriteFile(seg, b, 0o644))
	out, _, err = runCmd(t, context.Background(), "store", "check", "--data-dir", dir)
	require.Error(t, err)
	assert.Contains(t, out, "CORRUPT")
	assert.Contains(t, err.Error(), "store repair")

	out, _, err = runCmd(t, context.Background(), "store", "repair", "--data-dir", dir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "repaired:")
	out, _, err = runCmd(t, context.Background(), "store", "check", "--data-dir", dir)
	require.NoError(t, err, out)
}

// store compact converts the format 1 store of internal/store's testdata,
// which then passes store check and answers as before.
func TestStoreCompact(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "store"), os.DirFS(filepath.Join("..", "..", "internal", "store", "testdata", "store-v1"))))
	last := func() []store.Series {
		st, err := store.Open(store.Options{Dir: filepath.Join(dir, "store"), NoBackgroundConvert: true})
		require.NoError(t, err)
		defer st.Close()
		var keys []string
		for _, si := range st.Series() {
			keys = append(keys, si.Key)
		}
		got, err := st.Last(context.Background(), keys)
		require.NoError(t, err)
		return got
	}
	before := last()
	require.Len(t, before, 3)
	out, _, err := runCmd(t, context.Background(), "store", "compact", "--data-dir", dir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "3 series, 3 rewritten")
	out, _, err = runCmd(t, context.Background(), "store", "check", "--data-dir", dir)
	require.NoError(t, err, out)
	assert.Equal(t, before, last())
}
