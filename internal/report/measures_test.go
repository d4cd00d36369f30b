package report

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/sim"
)

// TestMeasuresChapter renders the demo year with its measure: the JSON
// carries the verified saving, HTML and PDF the chapter with its table
// and charts (the PDF read back with poppler).
func TestMeasuresChapter(t *testing.T) {
	ctx := context.Background()
	src, opts := demoYear(t, 2, sim.YearOptions{Interval: time.Hour, Measure: true})
	sites := opts.Sites
	req := EnergyRequest{From: "2026-01-01", To: "2026-12-31", Format: HTML, Lang: DE}

	var buf bytes.Buffer
	rep, err := Energy(ctx, src, opts, req, &buf)
	require.NoError(t, err)
	require.Len(t, rep.Measures, 1)
	m := rep.Measures[0]
	require.Empty(t, m.Error)
	require.NotNil(t, m.Savings.SignificantFrom)
	assert.InDelta(t, sim.MeasureCut, m.Savings.Fraction, 0.03)
	h := buf.String()
	assert.Contains(t, h, "Maßnahmen und Einsparungen")
	assert.Contains(t, h, "Hocheffizienzpumpe und Einzelraumregelung – Gymnasium 1")
	assert.Contains(t, h, "Erfüllt die Grenzwerte der ASHRAE Guideline 14.")
	plain := opts
	plain.Config.Measures = nil
	var without bytes.Buffer
	_, err = Energy(ctx, src, plain, req, &without)
	require.NoError(t, err)
	assert.Equal(t, strings.Count(without.String(), "<svg")+2, strings.Count(h, "<svg"), "the measure adds two charts")
	assert.NotContains(t, without.String(), "Maßnahmen und Einsparungen")

	// A report that ends before the measure leaves it out.
	short, err := Energy(ctx, src, opts, EnergyRequest{From: "2026-01-01", To: "2026-09-30", Format: JSON}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Empty(t, short.Measures)
	// One without the measure's site too.
	other, err := Energy(ctx, src, opts, EnergyRequest{From: "2026-01-01", To: "2026-12-31", Sites: []string{sites[0].ID}, Format: JSON}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Empty(t, other.Measures)

	for _, l := range []Lang{DE, EN} {
		req.Format, req.Lang = PDF, l
		text := pdfText(t, src, opts, req)
		assert.Contains(t, text, map[Lang]string{DE: "Maßnahmen und Einsparungen", EN: "Measures and savings"}[l])
		assert.Contains(t, text, map[Lang]string{DE: "Kumulierte Einsparung", EN: "Cumulative saving"}[l])
		assert.Contains(t, text, "2026-10-01")
	}
}
