package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// batchFor is the deterministic batch for id, so a verifier knows exactly
// which points an acknowledged id stands for.
func batchFor(id int64) []measurement.Measurement {
	at := t0.Add(time.Duration(id) * time.Second)
	dev := fmt.Sprintf("dev%02d", id%17)
	return []measurement.Measurement{
		meas(dev, measurement.RoadSurfaceTemperature, 0, float64(id%5000)/100, at),
		meas(dev, measurement.PulseCount, 1, float64(id), at),
	}
}

// verifyAcked checks that every acked id's points are in the store.
func verifyAcked(t *testing.T, s *Store, acked map[int64]bool) {
	t.Helper()
	ctx := context.Background()
	var keys []string
	for _, si := range s.Series() {
		keys = append(keys, si.Key)
	}
	res, err := s.Range(ctx, keys, t0.Add(-time.Hour), t0.Add(1e6*time.Hour))
	require.NoError(t, err, "query after recovery")
	have := map[string]map[int64]float64{}
	for _, sr := range res {
		m := map[int64]float64{}
		for _, p := range sr.Points {
			m[p.Time.UnixNano()] = p.Value
		}
		have[sr.Key] = m
	}
	missing := 0
	for id := range acked {
		for _, m := range batchFor(id) {
			v, ok := have[m.SeriesKey()][m.Time.UnixNano()]
			if !ok || v != m.Value {
				missing++
				if missing < 5 {
					t.Errorf("acked id %d: %s at %s missing or wrong (%v, %v)", id, m.SeriesKey(), m.Time, ok, v)
				}
			}
		}
	}
	require.Zero(t, missing, "acknowledged points lost (of %d acked batches)", len(acked))
}

func TestPowerCut(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	dir := t.TempDir()
	mfs := newMemFS()
	acked := map[int64]bool{}
	var next int64
	torn := 0
	for cycle := 0; cycle < 12; cycle++ {
		s, err := Open(Options{Dir: dir, FS: mfs, Config: Config{CommitInterval: 10 * time.Millisecond}, SegmentSize: 16 << 10,
			MaintenanceInterval: 5 * time.Millisecond, SealInterval: 30 * time.Millisecond})
		require.NoError(t, err, "cycle %d", cycle)
		if s.Recovery.TornTail {
			torn++
			assert.Equal(t, 1.0, testutil.ToFloat64(s.m.tornTails))
		}
		verifyAcked(t, s, acked)
		var mu sync.Mutex
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					mu.Lock()
					id := next
					next++
					mu.Unlock()
					if s.Append(ctx, batchFor(id)) == nil {
						mu.Lock()
						acked[id] = true
						mu.Unlock()
					}
				}
			}()
		}
		if cycle%2 == 0 {
			// Power fails while an fsync is in flight.
			mfs.setDieAtSync(1 + rng.IntN(10))
			require.Eventually(t, mfs.isDead, 10*time.Second, time.Millisecond)
		} else {
			time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond)
		}
		mu.Lock()
		mfs = mfs.cut(rng) // the power goes; appends in flight fail
		mu.Unlock()
		cancel()
		wg.Wait()
		s.Close()
	}
	s, err := Open(Options{Dir: dir, FS: mfs})
	require.NoError(t, err)
	defer s.Close()
	verifyAcked(t, s, acked)
	t.Logf("acked %d batches, %d torn tails truncated", len(acked), torn)
	assert.Greater(t, torn, 0, "the cuts should have torn some tails")
}

func TestFaultInjection(t *testing.T) {
	type tc struct {
		op  string // "write" or "sync"
		err syscall.Errno
		n   int
	}
	var cases []tc
	for _, op := range []string{"write", "sync"} {
		for _, e := range []syscall.Errno{syscall.EIO, syscall.ENOSPC} {
			for n := 1; n <= 5; n++ {
				cases = append(cases, tc{op, e, n})
			}
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%s-%d", c.op, c.err, c.n), func(t *testing.T) {
			dir := t.TempDir()
			mfs := newMemFS()
			opts := Options{Dir: dir, FS: mfs, Config: Config{CommitInterval: time.Millisecond}, MaintenanceInterval: 5 * time.Millisecond}
			s, err := Open(opts)
			require.NoError(t, err)
			if c.op == "write" {
				mfs.arm(c.n, 0, c.err)
			} else {
				mfs.arm(0, c.n, c.err)
			}
			ctx := context.Background()
			acked := map[int64]bool{}
			var firstErr error
			failedAt := -1
			for id := int64(0); id < 8; id++ {
				err := s.Append(ctx, batchFor(id))
				if err == nil {
					acked[id] = true
					continue
				}
				if firstErr == nil {
					firstErr, failedAt = err, int(id)
				}
			}
			require.Error(t, firstErr)
			assert.Equal(t, c.n-1, failedAt, "the Nth operation is the Nth append's")
			noSpaceWrite := c.op == "write" && c.err == syscall.ENOSPC
			switch {
			case noSpaceWrite:
				assert.ErrorIs(t, firstErr, ErrReadOnly)
				assert.True(t, s.ReadOnly())
				assert.Equal(t, 1.0, testutil.ToFloat64(s.m.readOnly))
				assert.NoError(t, s.Err())
				assert.Len(t, acked, c.n-1, "no append succeeds while full")
				mfs.setFull(false)
				require.Eventually(t, func() bool { return !s.ReadOnly() }, 5*time.Second, 5*time.Millisecond, "probe lifts read-only")
				assert.Equal(t, 0.0, testutil.ToFloat64(s.m.readOnly))
				require.NoError(t, s.Append(ctx, batchFor(100)))
				acked[100] = true
			default:
				assert.ErrorIs(t, firstErr, ErrFatal)
				assert.ErrorIs(t, s.Err(), ErrFatal)
				assert.ErrorIs(t, s.Append(ctx, batchFor(200)), ErrFatal, "fatal is permanent")
			}
			require.NoError(t, s.Close())
			// Restart (after a power cut for good measure): acked data is there,
			// the log is clean.
			after := mfs.cut(rand.New(rand.NewPCG(uint64(c.n), 3)))
			s2, err := Open(Options{Dir: dir, FS: after})
			require.NoError(t, err)
			verifyAcked(t, s2, acked)
			if noSpaceWrite {
				assert.False(t, s2.Recovery.TornTail, "partial write was truncated at once")
			}
			require.NoError(t, s2.Close())
			rep, err := check(after, dir, false)
			require.NoError(t, err)
			assert.Empty(t, rep.Corrupt)
		})
	}
}

func TestCorruptionIsLoudAndRepairable(t *testing.T) {
	dir := t.TempDir()
	mfs := newMemFS()
	s, err := Open(Options{Dir: dir, FS: mfs, Config: Config{CommitInterval: time.Millisecond}, SegmentSize: 1024})
	require.NoError(t, err)
	c, err := s.OpenCursor("pin") // keep segments
	require.NoError(t, err)
	_ = c
	for id := int64(0); id < 100; id++ {
		require.NoError(t, s.Append(context.Background(), batchFor(id)))
		if id%20 == 19 {
			require.NoError(t, s.Seal())
		}
	}
	// Crash without Close so later records are only in the log.
	s.cancel()
	s.wg.Wait()
	s.db.Close()
	segs, err := listSegments(mfs, dir+"/wal")
	require.NoError(t, err)
	require.Greater(t, len(segs), 3)
	victim := mfs.files[segs[1].path]
	victim.data[20] ^= 0xff
	victim.durable = append(victim.durable[:0], victim.data...)

	_, err = Open(Options{Dir: dir, FS: mfs})
	require.ErrorIs(t, err, ErrCorrupt)
	rep, err := check(mfs, dir, false)
	require.ErrorIs(t, err, ErrCorrupt)
	require.Len(t, rep.Corrupt, 1)
	assert.Equal(t, segs[1].path, rep.Corrupt[0].Segment)

	rep, err = check(mfs, dir, true)
	require.NoError(t, err)
	assert.NotEmpty(t, rep.Actions)
	_, err = check(mfs, dir, false)
	require.NoError(t, err)
	s2, err := Open(Options{Dir: dir, FS: mfs})
	require.NoError(t, err)
	defer s2.Close()
	// Records sealed before the damage survive.
	acked := map[int64]bool{}
	for id := int64(0); id < 20; id++ {
		acked[id] = true
	}
	verifyAcked(t, s2, acked)
	require.True(t, errors.Is(err, nil))
}
