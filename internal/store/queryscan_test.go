package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// Aggregate decodes series in parallel: its answers are those of each
// series' points aggregated one after the other, in the order of the keys
// asked for (unknown ones left out, repeated ones repeated), with sealed,
// late and unsealed points; a damaged chunk is ErrCorrupt and a cancelled
// context stops it.
func TestAggregateParallel(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{SealInterval: 1000 * time.Hour, ChunkBytes: 120, ColdChunkBytes: 600})
	rng := rand.New(rand.NewPCG(7, 7))
	const nser = 37
	var keys []string
	for k := 0; k < nser; k++ {
		keys = append(keys, fmt.Sprintf("m%02d/energy_active_import", k))
	}
	for day := 0; day < 40; day++ {
		var ms []measurement.Measurement
		for k := 0; k < nser; k++ {
			for i := 0; i < 96; i++ {
				at := t0.Add(time.Duration(day*96+i) * 15 * time.Minute)
				ms = append(ms, meas(fmt.Sprintf("m%02d", k), measurement.EnergyActiveImport, 0, float64(day*96+i+rng.IntN(5))/100, at))
			}
			if day%9 == 8 { // late history, before the chunks already sealed
				ms = append(ms, meas(fmt.Sprintf("m%02d", k), measurement.EnergyActiveImport, 0, rng.Float64(), t0.Add(time.Duration(rng.IntN(day*96))*15*time.Minute+time.Minute)))
			}
		}
		require.NoError(t, s.Append(ctx, ms))
		if day < 38 { // the last two days stay in the head
			require.NoError(t, s.Seal())
		}
	}
	ask := append([]string{"nope/x"}, keys...)
	ask = append(ask, keys[3])
	q := AggregateQuery{Keys: ask, From: t0.Add(time.Hour), To: t0.AddDate(0, 0, 41), Every: 24 * time.Hour}
	got, err := s.Aggregate(ctx, q)
	require.NoError(t, err)

	// One series after the other, as before the workers.
	from, to := q.From.Add(-7*24*time.Hour).UnixNano(), q.To.UnixNano()
	var edges []time.Time
	for at := q.From; at.Before(q.To); at = at.Add(q.Every) {
		edges = append(edges, at)
	}
	edges = append(edges, q.To)
	ns := make([]int64, len(edges))
	for i, e := range edges {
		ns[i] = e.UnixNano()
	}
	sn, err := s.snapshot(ask, from, to)
	require.NoError(t, err)
	var want []AggregateSeries
	for _, k := range ask {
		m, ok := sn.metas[k]
		if !ok {
			continue
		}
		pts, err := sn.points(nil, k, from, to)
		require.NoError(t, err)
		want = append(want, AggregateSeries{SeriesInfo: m.SeriesInfo, Buckets: aggregate(pts, edges, ns)})
	}
	require.NoError(t, sn.tx.Rollback())
	require.Len(t, got, nser+1)
	require.Equal(t, keys[3], got[nser].Key)
	require.Equal(t, fmt.Sprintf("%+v", want), fmt.Sprintf("%+v", got))

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Aggregate(cctx, q)
	require.ErrorIs(t, err, context.Canceled)

	// Damage one cold chunk of a series in the middle of the list.
	require.NoError(t, s.db.Update(func(tx *bolt.Tx) error {
		c := coldSet(tx).cursor()
		k, v := c.Seek(sidPrefix(s.series["m20/energy_active_import"].ID))
		if k == nil {
			return errors.New("no cold chunk")
		}
		broken := append([]byte(nil), v...)
		broken[len(broken)-1] ^= 0xff
		return coldSet(tx).put(append([]byte(nil), k...), broken)
	}))
	_, err = s.Aggregate(ctx, q)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "m20/energy_active_import")
}
