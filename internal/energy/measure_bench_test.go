package energy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
)

// BenchmarkMeasures200 verifies one heating measure (1 October) in each
// of 200 generated buildings over a year of hourly readings in the store:
// daily values from the readings, daily mean temperatures, the baseline
// fit (21 balance temperatures) and the savings, per building.
//
//	go test -run '^$' -bench Measures200 -benchtime 3x ./internal/energy
func BenchmarkMeasures200(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: b.TempDir()})
	require.NoError(b, err)
	b.Cleanup(func() { st.Close() })
	sites := sim.DemoSites(200)
	t0 := time.Now()
	cfg, err := sim.GenerateYear(ctx, st, 2026, sites, sim.YearOptions{Interval: time.Hour, Measure: true})
	require.NoError(b, err)
	require.NoError(b, st.Seal())
	b.Logf("setup: %d meters written in %s", len(cfg.Meters), time.Since(t0).Round(time.Millisecond))
	cfg.Measures = nil
	for i, s := range sites {
		medium := energy.Heat
		if i%2 == 1 {
			medium = energy.Gas
		}
		cfg.Measures = append(cfg.Measures, energy.Measure{Site: s.ID, Medium: medium, Date: "2026-10-01", Title: fmt.Sprint("Maßnahme ", i), Kind: "heating"})
	}
	eng, err := energy.New(energy.Options{Config: cfg, Sites: sites})
	require.NoError(b, err)
	cal, err := calendar.New(calendar.DefaultConfig())
	require.NoError(b, err)
	to := time.Date(2027, 1, 1, 0, 0, 0, 0, eng.Location())
	for b.Loop() {
		res := eng.Measures(ctx, energy.RangeSource{Ranger: st}, cal, to)
		require.Len(b, res, 200)
		for _, r := range res {
			require.Empty(b, r.Error)
		}
	}
}
