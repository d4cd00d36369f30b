package webtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/framelog"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/uplink"
)

func frame(dev string, fcnt uint32, result, reason string) uplink.FrameEvent {
	f := uplink.FrameEvent{Time: time.Now(), Direction: uplink.Up, DevEUI: dev, MType: "UnconfirmedDataUp", FCnt: &fcnt,
		Size: 24, Result: result, Reason: reason, DataRate: "SF9BW125", Frequency: 868300000,
		Gateways: []uplink.FrameGateway{{ID: gwEUI.String(), RSSI: -97, SNR: 3.5}}}
	if dev == "" {
		f.DevAddr = "26011bda"
	}
	return f
}

// The gateway page shows the forwarder's counters and its last frames with
// their results and reasons; new frames and changed results arrive live
// (server-sent events); the device page shows only the device's frames;
// the import form lists a file's problems with their lines.
func TestGatewayPageAndFrameLog(t *testing.T) {
	log, err := framelog.New(framelog.DefaultConfig(), nil)
	require.NoError(t, err)
	dev := roadEUI1.String()
	log.ObserveFrame(frame(dev, 41, uplink.ResultStored, ""))
	log.ObserveFrame(frame("", 7, uplink.ResultMICInvalid, "the MIC matches no session of DevAddr 26011bda"))
	log.ObserveFrame(uplink.FrameEvent{Time: time.Now(), Direction: uplink.Down, DevEUI: dev, MType: "UnconfirmedDataDown",
		Size: 17, Result: uplink.ResultSent, DownlinkID: 3, DataRate: "SF9BW125", Frequency: 868300000,
		Gateways: []uplink.FrameGateway{{ID: gwEUI.String()}}})
	log.ObserveTxAck(gwEUI.String(), 3, nil)
	log.ObserveFrame(frame(roadEUI2.String(), 9, uplink.ResultStored, ""))
	f := newFixture(t, true, func(o *httpapi.Options) { o.Frames = log })
	ctx, consoleProblems := newBrowser(t)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.url+"/"),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('loraedge.lang', 'de'); localStorage.setItem('loraedge.token', '`+adminToken+`')`),
		chromedp.Reload(),
		chromedp.WaitVisible(fmt.Sprintf(`a[href="#/gateway/%s"]`, gwEUI)),
		chromedp.Click(fmt.Sprintf(`a[href="#/gateway/%s"]`, gwEUI)),
	))
	waitJS(t, ctx, `document.querySelector('#gw-stats')`)
	stats := eval[string](t, ctx, `document.getElementById('gw-stats').innerText`)
	assert.Contains(t, stats, gwEUI.String())
	assert.Contains(t, stats, "GWMP v2")
	assert.Contains(t, stats, "Empfangen (OK/gesamt)")
	waitJS(t, ctx, `document.querySelectorAll('#frames tr').length === 4`)
	waitJS(t, ctx, `document.getElementById('frames-state').textContent.includes('live')`)
	rows := eval[[]string](t, ctx, `[...document.querySelectorAll('#frames tr')].map(r => r.innerText.replace(/\s+/g, ' '))`)
	assert.Contains(t, rows[0], "gespeichert", "newest first: the other station's frame")
	assert.Contains(t, rows[1], "gesendet")
	assert.Contains(t, rows[1], "TX_ACK: ok")
	assert.Contains(t, rows[2], "MIC falsch")
	assert.Contains(t, rows[2], "the MIC matches no session of DevAddr 26011bda")
	assert.Contains(t, rows[2], "? 26011bda")
	assert.Contains(t, rows[3], "-97 dBm / 3,5 dB")
	assert.Contains(t, rows[3], "SF9BW125 · 868,3 MHz")
	assert.Contains(t, rows[3], "UnconfirmedDataUp · FCnt 41")

	// Live: a replay arrives, then an accepted frame becomes stored.
	log.ObserveFrame(frame(dev, 40, uplink.ResultReplay, "FCnt 40 is not above the last one received"))
	waitJS(t, ctx, `document.querySelectorAll('#frames tr').length === 5`)
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#frames tr').innerText`), "Replay")
	log.ObserveFrame(frame(dev, 42, uplink.ResultAccepted, ""))
	waitJS(t, ctx, `document.querySelector('#frames tr').dataset.result === 'accepted'`)
	log.ObserveResult(dev, 42, uplink.ResultDecodeError, "payload truncated: 1 bytes, layout needs 12")
	waitJS(t, ctx, `document.querySelector('#frames tr').dataset.result === 'decode_error'`)
	assert.Equal(t, 6, eval[int](t, ctx, `document.querySelectorAll('#frames tr').length`), "the update replaced its row")
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('#frames tr').innerText`), "payload truncated: 1 bytes, layout needs 12")
	screenshot(t, ctx, "gateway-desktop")

	// The device page: only this device's frames, live too.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(f.url+"/#/device/"+dev)))
	waitJS(t, ctx, `document.querySelectorAll('#frames tr').length === 4`)
	devRows := eval[string](t, ctx, `document.getElementById('frames').innerText`)
	assert.NotContains(t, devRows, roadEUI2.String())
	assert.NotContains(t, devRows, "MIC falsch")
	waitJS(t, ctx, `document.getElementById('frames-state').textContent.includes('live')`)
	log.ObserveFrame(frame(dev, 43, uplink.ResultStored, ""))
	log.ObserveFrame(frame(roadEUI2.String(), 10, uplink.ResultStored, ""))
	waitJS(t, ctx, `document.querySelectorAll('#frames tr').length === 5`)
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, 5, eval[int](t, ctx, `document.querySelectorAll('#frames tr').length`), "the other device's frame is not streamed here")
	screenshot(t, ctx, "device-frames-desktop")

	// The import form: a file with a bad line is refused with its line.
	csv := filepath.Join(t.TempDir(), "geraete.csv")
	require.NoError(t, os.WriteFile(csv, []byte("dev_eui,activation,profile,site,join_eui,app_key\n"+
		"70b3d57ed0009001,otaa,generic/road-station,k23-wald,70b3d57ed0000000,000102030405060708090a0b0c0d0e0f\n"+
		"70b3d57ed0009002,otaa,generic/road-station,k23-wlad,70b3d57ed0000000,000102030405060708090a0b0c0d0e0f\n"), 0o600))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.url+"/#/"),
		chromedp.WaitVisible("#import-file"),
		chromedp.SetUploadFiles("#import-file", []string{csv}),
		chromedp.Click("#import-check"),
	))
	waitJS(t, ctx, `document.querySelector('#import-result .problems')`)
	res := eval[string](t, ctx, `document.getElementById('import-result').innerText`)
	assert.Contains(t, res, "1 Probleme, nichts importiert")
	assert.Contains(t, res, `Zeile 3: site: unknown site "k23-wlad" (closest: k23-wald`)
	screenshot(t, ctx, "import-problems-desktop")
	assert.Empty(t, consoleProblems(), "browser console errors")
}
