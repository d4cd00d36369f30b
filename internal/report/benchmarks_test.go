package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

// TestBenchmarkChapter renders the demo year: every demo building has a
// category, the JSON carries the ranking by potential, HTML and PDF the
// chapter in both languages.
func TestBenchmarkChapter(t *testing.T) {
	ctx := context.Background()
	src, opts := demoYear(t, 4, sim.YearOptions{Interval: 2 * time.Hour})
	req := EnergyRequest{From: "2026-01-01", To: "2026-12-31", Format: HTML, Lang: DE}

	var buf bytes.Buffer
	rep, err := Energy(ctx, src, opts, req, &buf)
	require.NoError(t, err)
	require.Len(t, rep.Benchmarks, 4)
	for i, b := range rep.Benchmarks {
		assert.Equal(t, i+1, b.Place)
		require.NotNil(t, b.Heating, b.Site)
		assert.Contains(t, []energy.Light{energy.Green, energy.Yellow, energy.Red}, b.Heating.Light)
		if i > 0 {
			assert.GreaterOrEqual(t, rep.Benchmarks[i-1].PotentialEUR, b.PotentialEUR)
		}
	}
	for _, b := range rep.Benchmarks {
		t.Logf("%d %s %s heat %.0f/%.0f %s potential %.0f kWh %.0f EUR", b.Place, b.Name, b.Category, b.Heating.KennwertKWhM2a, b.Heating.ComparisonKWhM2a, b.Heating.Light, b.PotentialKWh, b.PotentialEUR)
	}
	cats := map[string]string{}
	for _, b := range rep.Benchmarks {
		cats[b.Name] = b.CategoryName
	}
	assert.Equal(t, "Schulen", cats["Grundschule 1"])
	assert.Equal(t, "Verwaltungsgebäude (allgemein)", cats["Rathaus 1"])
	assert.Equal(t, 1.25, rep.BenchmarkYellowMax)
	h := buf.String()
	assert.Contains(t, h, "Vergleichswerte und Einsparpotenzial")
	assert.Contains(t, h, "Summe Landkreis")
	assert.Contains(t, h, energy.BenchmarkSource)

	for _, l := range []Lang{DE, EN} {
		req.Format, req.Lang = PDF, l
		text := pdfText(t, src, opts, req)
		assert.Contains(t, text, map[Lang]string{DE: "Vergleichswerte und Einsparpotenzial", EN: "Comparison values and saving potential"}[l])
		assert.Contains(t, text, map[Lang]string{DE: "Summe Landkreis", EN: "County total"}[l])
	}
}

// demoYear generates the demo year 2026 of n buildings into a store and
// returns its source and the report options (now: 10 January 2027).
func demoYear(t *testing.T, n int, yo sim.YearOptions) (energy.RangeSource, energy.Options) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := sim.DemoSites(n)
	cfg, err := sim.GenerateYear(context.Background(), st, 2026, sites, yo)
	require.NoError(t, err)
	return energy.RangeSource{Ranger: st}, energy.Options{Config: cfg, Sites: sites, Now: func() time.Time { return time.Date(2027, 1, 10, 8, 0, 0, 0, time.UTC) }}
}

// pdfText renders req as PDF and reads its text back with poppler.
func pdfText(t *testing.T, src energy.RangeSource, opts energy.Options, req EnergyRequest) string {
	t.Helper()
	bin := testserver.Need(t, "pdftotext", "/usr/bin/pdftotext")
	pdf := filepath.Join(t.TempDir(), "report.pdf")
	var b bytes.Buffer
	_, err := Energy(context.Background(), src, opts, req, &b)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(pdf, b.Bytes(), 0o600))
	out, err := exec.Command(bin, "-layout", pdf, "-").CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}
