package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// The web page against the whole daemon (real alert engine, real store,
// simulator): the alert board shows the winter night's ice alerts, the road
// stations page shows their level. internal/webtest covers the page's
// behaviour in depth; this checks the real services behind it.
func TestWebPageAgainstDaemon(t *testing.T) {
	exe := testserver.Need(t, "chromium", "chromium-browser")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
	const token = "test-admin-token-0123456789"
	defer runDaemon(t, []string{"--simulate", "--scenario", "winter-night", "--speed", "3000",
		"--listen", "127.0.0.1:0", "--http", addr, "--data-dir", t.TempDir(), "--log-level", "warn"},
		[]string{"LORAEDGE_HTTP_ADMIN_TOKEN=" + token}, nil)()
	require.Eventually(t, func() bool {
		var out strings.Builder
		err := run(context.Background(), []string{"alerts", "list", "--url", "http://" + addr, "--token", token}, nil, &out, io.Discard)
		return err == nil && strings.Contains(out.String(), "glaette/")
	}, 40*time.Second, 200*time.Millisecond)

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

	shots := os.Getenv("LORAEDGE_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate("http://"+addr+"/"),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('loraedge.token', '`+token+`'); localStorage.setItem('loraedge.lang', 'de')`),
	))
	page := func(view, until string) (text string, png []byte) {
		t.Helper()
		// A new query string makes the browser load the page again, so it
		// reads the token from local storage.
		require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("http://"+addr+"/?"+view+"#/"+view)))
		_, err := chromedp.Run(bctx, chromedp.Poll[bool](`!!(document.querySelector('main') && document.querySelector('main').innerText.includes('`+until+`'))`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
		text, _ = chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		png, _ = chromedp.Run(bctx, chromedp.FullScreenshot(100))
		_ = os.WriteFile(filepath.Join(shots, "daemon-"+view+".png"), png, 0o644)
		require.NoError(t, err, "%s page never showed %q; it shows:\n%s", view, until, text)
		return text, png
	}
	alerts, _ := page("alerts", "K 23")
	roads, _ := page("roads", "°C")
	t.Logf("screenshots in %s", shots)
	assert.Contains(t, alerts, "K 23", "the alert board names the road station")
	assert.Regexp(t, `Vorwarnung|Warnung|Alarm`, alerts)
	assert.Regexp(t, `Vorwarnung|Warnung|Alarm`, roads, "road stations show their ice level")
}
