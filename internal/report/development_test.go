package report

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
)

// TestDevelopmentChapter stores two demo years: the annual report of the
// second has the development chapter with both years (not the three
// before, which the store does not hold) in JSON, HTML and PDF; a report
// that is not a calendar year, or of the only stored year, has none.
func TestDevelopmentChapter(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := sim.DemoSites(2)
	_, err = sim.GenerateYear(ctx, st, 2025, sites, sim.YearOptions{Interval: 3 * time.Hour})
	require.NoError(t, err)
	cfg, err := sim.GenerateYear(ctx, st, 2026, sites, sim.YearOptions{Interval: 3 * time.Hour})
	require.NoError(t, err)
	src := energy.RangeSource{Ranger: st}
	opts := energy.Options{Config: cfg, Sites: sites, Now: func() time.Time { return time.Date(2027, 1, 10, 8, 0, 0, 0, time.UTC) }}
	req := EnergyRequest{From: "2026-01-01", To: "2026-12-31", Format: JSON, Lang: DE}

	var buf bytes.Buffer
	rep, err := Energy(ctx, src, opts, req, &buf)
	require.NoError(t, err)
	d := rep.Development
	require.NotNil(t, d)
	assert.Equal(t, []int{2025, 2026}, d.Years)
	require.Len(t, d.Rows, 2*3, "heating, electricity and water of two buildings")
	for _, r := range d.Rows {
		require.Len(t, r.Values, 2, r.Site+" "+r.Quantity)
		for _, v := range r.Values {
			require.NotNil(t, v, r.Site+" "+r.Quantity)
			assert.Positive(t, *v)
		}
	}
	// The report year's figures are the report's own.
	assert.InDelta(t, rep.Sites[0].Heating.NormalisedKWh, *d.Rows[0].Values[1], 1e-6)
	var back energy.Report
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	assert.Equal(t, d, back.Development)

	req.Format = HTML
	buf.Reset()
	_, err = Energy(ctx, src, opts, req, &buf)
	require.NoError(t, err)
	h := buf.String()
	assert.True(t, strings.Contains(h, `<h2 class="break">Entwicklung über die Jahre</h2>`), "chapter heading")
	assert.True(t, strings.Contains(h, `<th class="r">2025</th><th class="r">2026</th>`), "a column per year")
	assert.True(t, strings.Contains(h, "Wärme (Heizenergie) (kWh)</text>"), "the chart of heat")
	dev, site := strings.Index(h, "Entwicklung über die Jahre</h2>"), strings.Index(h, ">"+sites[0].Name+"</h2>")
	assert.True(t, dev < site && site > 0, "the development comes before the buildings, as municipal reports order it")

	req.Format, req.Lang = PDF, EN
	txt := pdfText(t, src, opts, req)
	assert.Contains(t, txt, "Development over the years")

	req.From, req.Format = "2026-02-01", JSON
	rep, err = Energy(ctx, src, opts, req, &buf)
	require.NoError(t, err)
	assert.Nil(t, rep.Development, "not a calendar year")

	oneSrc, oneOpts := demoYear(t, 2, sim.YearOptions{Interval: 3 * time.Hour})
	req.From = "2026-01-01"
	rep, err = Energy(ctx, oneSrc, oneOpts, req, &buf)
	require.NoError(t, err)
	assert.Nil(t, rep.Development, "a single stored year is no development")
}
