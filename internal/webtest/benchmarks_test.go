package webtest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/report"
	"github.com/loraedge/loraedge/internal/reportsched"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
)

// demoReports renders reports through the real report service, as cmd's
// reportService does.
type demoReports struct{ svc *report.Service }

func (d demoReports) EnergyReport(ctx context.Context, req httpapi.ReportRequest) (string, string, []byte, error) {
	return d.svc.EnergyReport(ctx, req.From, req.To, req.Sites, req.Format, req.Lang)
}

// TestWebPageBenchmarks shows the demo year's benchmark ranking on the
// report page: one row per building with its light, the county total,
// at desktop and phone width.
func TestWebPageBenchmarks(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := sim.DemoSites(4)
	cfg, err := sim.GenerateYear(ctx, st, 2026, sites, sim.YearOptions{Interval: 2 * time.Hour})
	require.NoError(t, err)
	now := func() time.Time { return time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC) }
	svc := &report.Service{Source: energy.RangeSource{Ranger: st}, Options: func() energy.Options {
		return energy.Options{Config: cfg, Sites: sites, Now: now}
	}}
	// The schedule writes December's and the year's report through the
	// same service.
	sc := reportsched.DefaultConfig()
	sc.Monthly, sc.Annual = true, true
	sched, err := reportsched.New(reportsched.Options{Config: sc, Dir: t.TempDir(), Renderer: svc, Location: time.UTC, Now: now})
	require.NoError(t, err)
	require.NoError(t, sched.RunDue(ctx))
	reg := prometheus.NewRegistry()
	s, err := httpapi.New(httpapi.Options{
		Config: httpapi.Config{ReadToken: readToken, AdminToken: adminToken}, Sites: siteList(sites),
		Reports: demoReports{svc}, Scheduled: sched, Gatherer: reg, Registerer: reg, Now: now, Ready: func() error { return nil },
	})
	require.NoError(t, err)
	bctx, consoleProblems := openReportPage(t, s)
	pickYear(t, bctx)
	text := eval[string](t, bctx, `document.querySelector('#benchmarks').closest('section').innerText`)
	assert.Contains(t, text, "Vergleichswerte und Einsparpotenzial")
	assert.Contains(t, text, "Jahr 2026")
	assert.Contains(t, text, "Rathaus 1")
	assert.Contains(t, text, "Verwaltungsgebäude (allgemein)")
	assert.Contains(t, text, "Summe Landkreis")
	assert.Contains(t, text, "Bekanntmachung der Regeln für Energieverbrauchswerte")
	first := eval[string](t, bctx, `document.querySelector('#benchmarks tbody tr').dataset.site`)
	assert.Equal(t, "geb-003", first, "the Rathaus has the largest potential in the demo year")
	assert.Equal(t, 1, eval[int](t, bctx, `document.querySelectorAll('#benchmarks tbody tr:first-child .light-red').length`))
	screenshot(t, bctx, "benchmarks-desktop")

	// The kept scheduled reports, with a download link that works.
	waitJS(t, bctx, `document.querySelectorAll('#scheduled tbody tr').length === 2`)
	list := eval[string](t, bctx, `document.querySelector('#scheduled').innerText`)
	assert.Contains(t, list, "energiebericht-2026-12.pdf")
	assert.Contains(t, list, "Jahresbericht")
	head, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(async () => {
		const a = document.querySelector('#scheduled a[download="energiebericht-2026.pdf"]');
		return (await (await fetch(a.href)).text()).slice(0, 5);
	})()`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	assert.Equal(t, "%PDF-", head, "the link downloads the kept PDF")

	require.NoError(t, chromedp.Do(bctx, chromedp.Click("#lang-btn")))
	pickYear(t, bctx)
	assert.Contains(t, eval[string](t, bctx, `document.querySelector('#benchmarks').closest('section').innerText`), "County total")
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)),
		chromedp.Reload()))
	pickYear(t, bctx)
	assert.LessOrEqual(t, eval[int](t, bctx, `document.documentElement.scrollWidth`), 390, "the ranking scrolls sideways")
	screenshot(t, bctx, "benchmarks-phone")
	assert.Empty(t, consoleProblems(), "browser console errors")
}

// pickYear shows the demo year 2026 (the page starts with the browser's
// last full year).
func pickYear(t *testing.T, bctx context.Context) {
	t.Helper()
	waitJS(t, bctx, `!!document.querySelector('#bm-year')`)
	require.NoError(t, chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](
		`(() => { const i = document.querySelector('#bm-year'); i.value = '2026'; i.dispatchEvent(new Event('change')); })()`)))
	waitJS(t, bctx, `document.querySelectorAll('#benchmarks tbody tr').length === 5 && document.querySelector('#benchmarks').closest('section').innerText.includes('2026')`)
}

// openReportPage serves s, signs in with the read token in German and
// opens the energy report page.
func openReportPage(t *testing.T, s *httpapi.Server) (context.Context, func() []string) {
	t.Helper()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	srv := ts.URL
	bctx, consoleProblems := newBrowser(t)
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(srv+"/"),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('loraedge.lang', 'de')`),
		chromedp.Reload(),
		chromedp.WaitVisible("#token-input"),
		chromedp.SendKeys("#token-input", readToken),
		chromedp.Click("#token-save"),
		chromedp.WaitNotVisible("#token-dlg"),
		chromedp.Navigate(srv+"/#/report"),
	))
	return bctx, consoleProblems
}
