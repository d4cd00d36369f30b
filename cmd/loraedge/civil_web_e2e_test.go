package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// The "Pegel & Personen" view against the whole daemon playing the flood:
// once the upstream gauge is in IW2 and the shelter fills, the page shows
// both gauges with level, stage, rate and forecast, the level chart with
// its three stage lines, and the shelter's occupancy, in German and in
// English, without a script error. Screenshots go to $LORAEDGE_ARTIFACTS
// (or a temporary directory) as civil-de.png and civil-en.png.
func TestCivilViewAgainstDaemon(t *testing.T) {
	exe := testserver.Need(t, "chromium", "chromium-browser")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
	const token = "test-admin-token-0123456789"
	defer runDaemon(t, []string{"--simulate", "--scenario", "flood", "--speed", "1200",
		"--listen", "127.0.0.1:0", "--http", addr, "--data-dir", t.TempDir(), "--log-level", "warn"},
		[]string{"LORAEDGE_HTTP_ADMIN_TOKEN=" + token}, nil)()

	// Wait for IW2 upstream (+8 h 20 min) and people in the shelter.
	get := func(path string, v any) error {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(v)
	}
	require.Eventually(t, func() bool {
		var g struct {
			Site  map[string]any `json:"site"`
			State map[string]any `json:"state"`
		}
		var a struct {
			State map[string]any `json:"state"`
		}
		if get("/gauges/pegel-obermuehle", &g) != nil || get("/areas/notunterkunft-sporthalle", &a) != nil || g.State == nil || a.State == nil {
			return false
		}
		occ, _ := a.State["occupancy"].(float64)
		return g.State["stage"] == "IW2" && occ > 100
	}, 60*time.Second, 100*time.Millisecond, "IW2 upstream and evacuees in the shelter")

	profile, err := os.MkdirTemp("", "loraedge-chromium-")
	require.NoError(t, err)
	defer os.RemoveAll(profile)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "de-DE"), chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 1000))...)
	defer cancelAlloc()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	bctx, cancelT := context.WithTimeout(bctx, 2*time.Minute)
	defer cancelT()
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("about:blank")))
	var mu sync.Mutex
	var problems []string
	go func() {
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()

	shots := os.Getenv("LORAEDGE_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate("http://"+addr+"/"),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('loraedge.token', '`+token+`')`),
	))
	for _, tc := range []struct {
		lang  string
		until []string
	}{
		{"de", []string{"Pegel Obermühle", "Pegel Altstadt", "Gewässer Gersprenz", "m über Pegelnull", "IW2 · Warnung", "Anstieg", "Prognose",
			"voraussichtlich um", "Notunterkunft Sporthalle", "Belegung", "von 350"}},
		{"en", []string{"River gauges", "Water level", "m above gauge zero", "IW2 · Warning", "Rate of rise", "expected at", "Occupancy", "of 350"}},
	} {
		require.NoError(t, chromedp.Do(bctx,
			chromedp.Evaluate[chromedp.Void](`localStorage.setItem('loraedge.lang', '`+tc.lang+`')`),
			chromedp.Navigate("http://"+addr+"/?"+tc.lang+"#/civil")))
		js := `(() => { const m = document.querySelector('main'); if (!m) return false; const s = m.innerText; return ` +
			`document.querySelectorAll('.card.gauge svg.chart').length === 2 && ` + quoteAll(tc.until) + `.every((x) => s.includes(x)); })()`
		_, err := chromedp.Run(bctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
		text, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		time.Sleep(300 * time.Millisecond) // charts settle
		png, _ := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		_ = os.WriteFile(filepath.Join(shots, "civil-"+tc.lang+".png"), png, 0o644)
		require.NoError(t, err, "%s: the view never showed all of %v; it shows:\n%s", tc.lang, tc.until, text)
		lines, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('.card.gauge svg.chart line.ref.stage').length`))
		require.NoError(t, err)
		assert.Equal(t, 6, lines, "three stage lines per gauge chart")
	}
	t.Logf("screenshots in %s", shots)
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, problems, "no script errors")
}

// quoteAll writes ss as a JavaScript array literal.
func quoteAll(ss []string) string {
	b, _ := json.Marshal(ss)
	return strings.ReplaceAll(string(b), "'", `\'`)
}
