package webtest

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
)

// demoMeasures verifies the demo year's measures through the real engine,
// as cmd's measureService does over the daemon's store.
type demoMeasures struct {
	eng *energy.Engine
	st  *store.Store
	cal *calendar.Calendar
	ms  []energy.Measure
}

func (d demoMeasures) EnergyMeasures(ctx context.Context, to time.Time) ([]energy.MeasureResult, error) {
	local := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, d.eng.Location())
	return d.eng.Verify(ctx, energy.RangeSource{Ranger: d.st}, d.cal, d.ms, local), nil
}

func (d demoMeasures) AddEnergyMeasure(context.Context, energy.Measure) (energy.Measure, error) {
	return energy.Measure{}, energy.ErrInvalidMeasure
}

// TestWebPageMeasures shows the demo year's measure on the report page:
// the facts, the significance date and both charts, at desktop and phone
// width.
func TestWebPageMeasures(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := sim.DemoSites(2)
	cfg, err := sim.GenerateYear(ctx, st, 2026, sites, sim.YearOptions{Interval: time.Hour, Measure: true})
	require.NoError(t, err)
	eng, err := energy.New(energy.Options{Config: cfg, Sites: sites})
	require.NoError(t, err)
	cal, err := calendar.New(calendar.DefaultConfig())
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	s, err := httpapi.New(httpapi.Options{
		Config: httpapi.Config{ReadToken: readToken, AdminToken: adminToken}, Sites: siteList(sites),
		Measures: demoMeasures{eng: eng, st: st, cal: cal, ms: cfg.Measures}, Gatherer: reg, Registerer: reg,
		Now: func() time.Time { return time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC) }, Ready: func() error { return nil },
	})
	require.NoError(t, err)
	bctx, consoleProblems := openReportPage(t, s)
	waitJS(t, bctx, `document.querySelectorAll('article.measure figure.chart-box svg path.line').length === 7`)
	text := eval[string](t, bctx, `document.querySelector('article.measure').innerText`)
	assert.Contains(t, text, "Hocheffizienzpumpe und Einzelraumregelung")
	assert.Contains(t, text, "Gymnasium 1")
	assert.Contains(t, text, "erfüllt ASHRAE Guideline 14")
	assert.Contains(t, text, "signifikant seit")
	assert.Contains(t, text, "2026-10-01")
	assert.Contains(t, text, "Amortisation")
	screenshot(t, bctx, "measures-desktop")

	require.NoError(t, chromedp.Do(bctx, chromedp.Click("#lang-btn")))
	waitJS(t, bctx, `document.querySelector('article.measure')?.innerText.includes('significant since')`)
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)),
		chromedp.Reload()))
	waitJS(t, bctx, `document.querySelectorAll('article.measure svg path.line').length === 7`)
	assert.LessOrEqual(t, eval[int](t, bctx, `document.documentElement.scrollWidth`), 390, "the measure scrolls sideways")
	screenshot(t, bctx, "measures-phone")
	assert.Empty(t, consoleProblems(), "browser console errors")
}
