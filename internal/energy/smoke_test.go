package energy

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

func TestSmokeGenerate(t *testing.T) {
	if os.Getenv("SMOKE") == "" {
		t.Skip()
	}
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := []site.Site{{ID: "gs-nord", Name: "Grundschule Nord", Kind: site.Building, BGF: 2400, NRF: 2050}, {ID: "rathaus", Name: "Rathaus", Kind: site.Building, BGF: 3100, NRF: 2700}, {ID: "hallenbad", Name: "Sporthalle", Kind: site.Building, BGF: 1800}}
	t0 := time.Now()
	cfg, err := GenerateYear(ctx, st, 2026, sites, GenerateOptions{Anomalies: true})
	require.NoError(t, err)
	t.Log("generate", time.Since(t0))
	e, err := New(Options{Config: cfg, Sites: sites})
	require.NoError(t, err)
	f, to, _ := e.ParsePeriod("2026-01-01", "2026-12-31")
	t0 = time.Now()
	rep, err := e.Report(ctx, StoreSource{st}, Request{From: f, To: to})
	require.NoError(t, err)
	t.Log("report", time.Since(t0))
	b, _ := json.MarshalIndent(rep, "", " ")
	os.WriteFile("/tmp/smoke.json", b, 0o644)
}
