package report

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// emptyStore is a store without readings, and a building with one water
// meter that never sent any.
func emptyStore(t *testing.T) (energy.Source, []site.Site, energy.Config) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := []site.Site{{ID: "leer", Name: "Leeres Gebäude", Kind: site.Building}}
	meters := energy.Config{Meters: []energy.MeterConfig{{Site: "leer", Medium: energy.Water, Device: "00000000000000aa"}}}
	return energy.RangeSource{Ranger: st}, sites, meters
}

// A report with no building with meters says so, in both languages,
// rather than printing empty tables; one with meters does not.
func TestEmptyReportExplains(t *testing.T) {
	ctx := context.Background()
	src, sites, meters := emptyStore(t)
	want := map[Lang][]string{
		DE: {"Dieser Bericht ist leer", "keine Liegenschaft mit Zählern"},
		EN: {"This report is empty", "no building with meters"},
	}
	for _, l := range []Lang{DE, EN} {
		var buf bytes.Buffer
		rep, err := Energy(ctx, src, energy.Options{}, EnergyRequest{From: "2026-03-01", To: "2026-03-31", Format: HTML, Lang: l}, &buf)
		require.NoError(t, err)
		assert.True(t, Empty(rep))
		for _, w := range want[l] {
			assert.Contains(t, buf.String(), w)
		}
		assert.NotContains(t, buf.String(), texts[l]["summary"])

		var pdf bytes.Buffer
		_, err = Energy(ctx, src, energy.Options{}, EnergyRequest{From: "2026-03-01", To: "2026-03-31", Format: PDF, Lang: l}, &pdf)
		require.NoError(t, err)
		var texts []string
		for _, b := range document(rep, tr{lang: l}) {
			if h, ok := b.(heading); ok {
				texts = append(texts, h.text)
			}
		}
		assert.Contains(t, texts, want[l][0], "the PDF's page says it is empty")
		assert.Equal(t, "%PDF", pdf.String()[:4])

		buf.Reset()
		rep, err = Energy(ctx, src, energy.Options{Sites: sites, Config: meters}, EnergyRequest{From: "2026-03-01", To: "2026-03-31", Format: HTML, Lang: l}, &buf)
		require.NoError(t, err)
		assert.False(t, Empty(rep))
		assert.NotContains(t, buf.String(), want[l][0])
	}
}
