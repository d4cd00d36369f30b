package webtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

const (
	readToken  = "read-token-0123456789"
	adminToken = "admin-token-0123456789abc"
)

var (
	roadEUI1 = lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x10, 1}
	roadEUI2 = lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x10, 2}
	roadEUI3 = lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x10, 3}
	co2EUI   = lorawan.EUI64{0xa8, 0x40, 0x41, 0, 0, 0, 0x20, 1}
	meterEUI = lorawan.EUI64{0x00, 0x04, 0xa3, 0, 0, 0, 0x30, 1}
	gwEUI    = lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0x12, 0x34, 0x56}
)

type siteList []site.Site

func (s siteList) Sites() []site.Site { return s }

// alertBoard is a small AlertService: the real engine is wired in cmd.
type alertBoard struct {
	mu       sync.Mutex
	alerts   []map[string]any
	acked    map[string]string
	silences []map[string]any
}

func (a *alertBoard) ListAlerts(_ context.Context, state string) (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []map[string]any{}
	for _, al := range a.alerts {
		st := al["state"].(string)
		if state == "" || st == state || (state == "active" && st != "resolved") {
			out = append(out, al)
		}
	}
	return out, nil
}

func (a *alertBoard) Acknowledge(_ context.Context, id, who string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, al := range a.alerts {
		if al["id"] == id {
			al["state"], al["ack_by"], al["ack_at"] = "acknowledged", who, time.Now()
			a.acked[id] = who
			return nil
		}
	}
	return httpapi.ErrAlertNotFound
}

func (a *alertBoard) ListSilences(context.Context) (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.silences, nil
}

func (a *alertBoard) CreateSilence(_ context.Context, body json.RawMessage, who string) (any, error) {
	var s struct {
		Matchers []struct {
			Label string `json:"label"`
			Value string `json:"value"`
		} `json:"matchers"`
		StartsAt time.Time `json:"starts_at"`
		EndsAt   time.Time `json:"ends_at"`
		Comment  string    `json:"comment"`
	}
	if err := json.Unmarshal(body, &s); err != nil || len(s.Matchers) == 0 || !s.EndsAt.After(s.StartsAt) {
		return nil, fmt.Errorf("%w: silence %s", httpapi.ErrInvalid, body)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	v := map[string]any{"id": fmt.Sprintf("s%d", len(a.silences)+1), "matchers": s.Matchers, "starts_at": s.StartsAt,
		"ends_at": s.EndsAt, "comment": s.Comment, "created_by": who}
	a.silences = append(a.silences, v)
	return v, nil
}

func (a *alertBoard) ExpireSilence(_ context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.silences {
		if s["id"] == id {
			s["ends_at"] = time.Now()
			return nil
		}
	}
	return httpapi.ErrAlertNotFound
}

// reportDesk is a small ReportService that remembers what it was asked.
type reportDesk struct {
	mu  sync.Mutex
	got []httpapi.ReportRequest
}

func (r *reportDesk) EnergyReport(_ context.Context, req httpapi.ReportRequest) (string, string, []byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, req)
	return "text/csv; charset=utf-8", "energiebericht.csv", []byte("site;kwh\nrathaus;1234\n"), nil
}

func (r *reportDesk) requests() []httpapi.ReportRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]httpapi.ReportRequest(nil), r.got...)
}

type fixture struct {
	url     string
	alerts  *alertBoard
	reports *reportDesk
}

var testSites = siteList{
	{ID: "k23-bruecke", Name: "K 23 Brücke Mühlbach", Kind: site.Road, Road: "K 23", Km: 4.2, Route: "Nord"},
	{ID: "k23-wald", Name: "K 23 Waldstück", Kind: site.Road, Road: "K 23", Km: 1.7, Route: "Nord"},
	{ID: "b7-kuppe", Name: "B 7 Kuppe", Kind: site.Road, Road: "B 7", Km: 12.5, Route: "Süd"},
	{ID: "rathaus", Name: "Rathaus", Kind: site.Building},
	{ID: "gs-nord", Name: "Grundschule Nord", Kind: site.Building},
}

// newFixture starts the API with real components: store with a day of
// measurements, device registry, GWMP server that a gateway said hello to.
// alerts or reports may be switched off to see the 501 messages.
func newFixture(t *testing.T, withServices bool, mod ...func(*httpapi.Options)) *fixture {
	t.Helper()
	devs, err := device.NewRegistry([]device.Device{
		{DevEUI: roadEUI1, Name: "GMA Brücke Mühlbach", Activation: device.OTAA, AppKey: lorawan.AES128Key{1}, Profile: "generic/road-station", Site: "k23-bruecke"},
		{DevEUI: roadEUI2, Name: "GMA Waldstück", Activation: device.OTAA, AppKey: lorawan.AES128Key{2}, Profile: "generic/road-station", Site: "k23-wald"},
		{DevEUI: roadEUI3, Name: "GMA Kuppe", Activation: device.OTAA, AppKey: lorawan.AES128Key{5}, Profile: "generic/road-station", Site: "b7-kuppe"},
		{DevEUI: co2EUI, Name: "Klasse 3b", Activation: device.OTAA, AppKey: lorawan.AES128Key{3}, Profile: "milesight/am319", Site: "gs-nord"},
		{DevEUI: meterEUI, Name: "Stromzähler Rathaus", Activation: device.OTAA, AppKey: lorawan.AES128Key{4}, Profile: "elvaco/cmi4140", Site: "rathaus"},
	})
	require.NoError(t, err)
	st, err := store.Open(store.Options{Dir: t.TempDir(), Config: store.Config{CommitInterval: 5 * time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, devs.Persist(st.KV("devices")))
	require.NoError(t, st.Append(context.Background(), dayOfData(time.Now().Truncate(time.Minute))))

	udp, err := semtechudp.NewServer(semtechudp.Options{Config: semtechudp.Config{Listen: "127.0.0.1:0"}})
	require.NoError(t, err)
	require.NoError(t, udp.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = udp.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := net.Dial("udp", udp.LocalAddr().String())
	require.NoError(t, err)
	pd, err := (&semtechudp.PullDataPacket{ProtocolVersion: 2, RandomToken: 1, GatewayMAC: gwEUI}).MarshalBinary()
	require.NoError(t, err)
	_, err = conn.Write(pd)
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	require.Eventually(t, func() bool { return len(udp.Gateways()) == 1 }, 2*time.Second, 5*time.Millisecond)

	f := &fixture{alerts: &alertBoard{acked: map[string]string{}}, reports: &reportDesk{}}
	now := time.Now()
	f.alerts.alerts = []map[string]any{
		{"id": "ice/k23-bruecke", "rule": "glaette", "kind": "ice", "level": "alarm", "state": "firing",
			"labels":       map[string]string{"kind": "ice", "site": "k23-bruecke", "site_name": "K 23 Brücke Mühlbach", "route": "Nord"},
			"value":        -0.8,
			"values":       map[string]float64{"fbt": -0.8, "lt": 0.4, "dew_point": -0.2},
			"info":         map[string]string{"condition_de": "Eisglätte sofort möglich", "condition_en": "black ice immediately possible", "surface_de": "nass", "surface_en": "wet"},
			"active_since": now.Add(-40 * time.Minute), "firing_since": now.Add(-35 * time.Minute)},
		{"id": "co2/a840410000002001", "rule": "co2-klassenraum", "kind": "co2", "level": "warnung", "state": "firing",
			"labels": map[string]string{"kind": "co2", "site": "gs-nord", "site_name": "Grundschule Nord", "device": co2EUI.String(), "device_name": "Klasse 3b"},
			"value":  1480.0, "active_since": now.Add(-12 * time.Minute), "firing_since": now.Add(-7 * time.Minute),
			"actions": []map[string]any{{"device": "70b3d57ed0000b01", "command": "close", "peer": "b", "state": "acknowledged", "at": now}}},
		{"id": "ice/k23-wald", "rule": "glaette", "kind": "ice", "level": "vorwarnung", "state": "acknowledged",
			"labels":       map[string]string{"kind": "ice", "site": "k23-wald", "site_name": "K 23 Waldstück", "route": "Nord"},
			"info":         map[string]string{"condition_de": "Glättegefahr bei Wetteränderung", "condition_en": "slipperiness possible if the weather changes"},
			"active_since": now.Add(-3 * time.Hour), "ack_by": "Meisterei Nord", "ack_at": now.Add(-2 * time.Hour)},
	}
	opts := httpapi.Options{
		Config:   httpapi.Config{ReadToken: readToken, AdminToken: adminToken},
		Gateways: udp, Devices: devs, Sites: testSites, Series: st,
		MAC: macStates{roadEUI1: {DataRate: ptr(3), DataRateName: "SF9BW125", SpreadingFactor: ptr(9), TXPowerIndex: ptr(2),
			TXPowerDBm: ptr(12), NbTrans: ptr(1), ADR: ptr(true), MarginDB: ptr(17), BatteryPercent: ptr(78.5),
			PendingCommands: []string{"LinkADRReq", "DevStatusReq"}, FCntUp: 41, NFCntDown: 7}},
	}
	if withServices {
		opts.Alerts, opts.Reports, opts.Roads = f.alerts, f.reports, roadDesk{now: now}
	}
	for _, m := range mod {
		m(&opts)
	}
	s, err := httpapi.New(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// macStates is the network layer's MAC state of the devices that have a
// session, as cmd's adapter hands it to the API.
type macStates map[lorawan.EUI64]httpapi.MACView

func (m macStates) MACView(eui lorawan.EUI64) (httpapi.MACView, bool) {
	v, ok := m[eui]
	return v, ok
}

func ptr[T any](v T) *T { return &v }

// dayOfData makes 24 h of plausible readings ending at now: a road station
// freezing over night, a warmer one, a classroom's CO2 and a meter.
func dayOfData(now time.Time) []measurement.Measurement {
	var ms []measurement.Measurement
	add := func(eui lorawan.EUI64, q measurement.Quantity, unit string, at time.Time, v float64) {
		ms = append(ms, measurement.Measurement{Device: eui.String(), Quantity: q, Unit: unit, Time: at, Value: math.Round(v*100) / 100})
	}
	for i := 144; i >= 0; i-- {
		at := now.Add(-time.Duration(i) * 10 * time.Minute)
		x := float64(i) / 144 * 2 * math.Pi
		fbt := 1.5*math.Cos(x) - 0.6
		add(roadEUI1, measurement.RoadSurfaceTemperature, "degC", at, fbt)
		add(roadEUI1, measurement.AirTemperature, "degC", at, fbt+1.1)
		add(roadEUI1, measurement.DewPoint, "degC", at, fbt+0.5)
		add(roadEUI1, measurement.RoadSurfaceState, "", at, 32)
		add(roadEUI2, measurement.RoadSurfaceTemperature, "degC", at, fbt+2.8)
		add(roadEUI2, measurement.AirTemperature, "degC", at, fbt+3.1)
		add(roadEUI2, measurement.RoadSurfaceState, "", at, 0)
		add(roadEUI3, measurement.RoadSurfaceTemperature, "degC", at, fbt+5.2)
		add(roadEUI3, measurement.AirTemperature, "degC", at, fbt+4.6)
		add(roadEUI3, measurement.RoadSurfaceState, "", at, 1)
		hour := at.Hour()
		co2 := 450.0
		if hour >= 8 && hour < 14 {
			co2 = 700 + 700*math.Abs(math.Sin(float64(at.Minute())/60*math.Pi))
		}
		add(co2EUI, measurement.CO2, "ppm", at, co2)
		add(co2EUI, measurement.AirTemperature, "degC", at, 20.5+math.Sin(x))
		if i%6 == 0 {
			add(meterEUI, measurement.EnergyActiveImport, "kWh", at, 15230+float64(144-i)*2.1)
		}
	}
	add(roadEUI1, measurement.BatteryVoltage, "V", now, 3.61)
	add(co2EUI, measurement.BatteryPercent, "%", now, 87)
	return ms
}

// newBrowser starts a fresh headless Chromium and collects what the page
// writes to its console (errors there, such as CSP violations, fail tests).
func newBrowser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	exe := testserver.Need(t, "chromium", "chromium-browser")
	// Not t.TempDir: Chromium's helpers may still write for a moment after
	// the browser exits, and a failed removal would fail the test.
	profile, err := os.MkdirTemp("", "loraedge-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "de-DE"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// Generous: make test runs every package at once on two cores.
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	// Start the browser now so the console subscription has a target.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	var mu sync.Mutex
	var problems []string
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			// The page's own refused requests (the 400 of the report probe,
			// 401 and 501 answers, the 422 of an import with problems) are
			// expected network noise.
			expected := m.Source == "network" && (strings.Contains(m.Text, "status of 400") ||
				strings.Contains(m.Text, "status of 401") || strings.Contains(m.Text, "status of 501") ||
				strings.Contains(m.Text, "status of 422"))
			if (m.IsException() || m.Type == "error") && !expected {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); <-done })
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// artifacts is where screenshots go: LORAEDGE_ARTIFACTS or a temporary
// directory.
func artifacts(t *testing.T) []string {
	dirs := []string{os.Getenv("LORAEDGE_ARTIFACTS")}
	if dirs[0] == "" {
		dirs[0] = t.TempDir()
	}
	for _, d := range dirs {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	return dirs
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	// Let charts and late answers settle before the picture.
	require.NoError(t, chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond)))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	for _, d := range artifacts(t) {
		p := filepath.Join(d, name+".png")
		require.NoError(t, os.WriteFile(p, png, 0o644))
		t.Logf("screenshot %s", p)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	require.NoError(t, err, js)
	return v
}

func waitJS(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+js+")", chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second)))
	require.NoError(t, err, "waiting for %s", js)
}

func TestWebPage(t *testing.T) {
	f := newFixture(t, true)
	ctx, consoleProblems := newBrowser(t)

	// Sign in: the page asks for the token first.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.url+"/"),
		// German first: the page follows the browser, which is English here.
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('loraedge.lang', 'de')`),
		chromedp.Reload(),
		chromedp.WaitVisible("#token-input"),
		chromedp.SendKeys("#token-input", adminToken),
		chromedp.Click("#token-save"),
		chromedp.WaitNotVisible("#token-dlg"),
	))
	assert.Equal(t, adminToken, eval[string](t, ctx, `localStorage.getItem('loraedge.token')`))
	assert.Equal(t, "de", eval[string](t, ctx, `document.documentElement.lang`))

	// Overview: gateway and devices with battery from the latest values.
	waitJS(t, ctx, `document.querySelectorAll('tr[data-dev]').length === 5`)
	waitJS(t, ctx, `[...document.querySelectorAll('tr[data-dev] td:last-child')].every(td => td.textContent !== '…')`)
	main := eval[string](t, ctx, `document.querySelector('main').innerText`)
	assert.Contains(t, main, gwEUI.String())
	assert.Contains(t, main, "GMA Brücke Mühlbach")
	assert.Contains(t, main, "Stromzähler Rathaus")
	bat := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('tr[data-dev="%s"] td:last-child').textContent`, roadEUI1))
	assert.Equal(t, "3,61 V", bat)
	screenshot(t, ctx, "overview-desktop")

	// Device page: live values and a chart per series.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(fmt.Sprintf(`tr[data-dev="%s"] a`, roadEUI1))))
	waitJS(t, ctx, `document.querySelectorAll('#live .tile').length >= 4`)
	waitJS(t, ctx, `document.querySelectorAll('figure.chart-box svg path.line').length >= 3`)
	live := eval[string](t, ctx, `document.getElementById('live').innerText`)
	assert.Contains(t, live, "Fahrbahntemperatur")
	assert.Contains(t, live, "nass", "surface state shown as text")
	pathLen := eval[int](t, ctx, `document.querySelector('figure.chart-box svg path.line').getAttribute('d').split('L').length`)
	assert.Greater(t, pathLen, 50, "a day in 15 min buckets draws many segments")
	// The MAC view: data rate, power, NbTrans, margin and battery of
	// DevStatusAns, unanswered commands, in German.
	waitJS(t, ctx, `document.querySelector('#mac')`)
	mac := eval[string](t, ctx, `document.getElementById('mac').innerText`)
	for _, want := range []string{"Datenrate", "DR3 (SF9BW125)", "Sendeleistung", "12 dBm, Stufe 2", "NbTrans", "Empfangsreserve",
		"17 dB", "Batterie (DevStatus)", "78,5 %", "LinkADRReq, DevStatusReq", "ADR", "an", "Downlink-Zähler"} {
		assert.Contains(t, mac, want)
	}
	screenshot(t, ctx, "device-desktop")

	// Alert board: acknowledge asks for the name; the service records it.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.url+"/#/alerts"),
		chromedp.WaitVisible(`button[data-ack="ice/k23-bruecke"]`),
	))
	screenshot(t, ctx, "alerts-desktop")
	acts := eval[string](t, ctx, `document.querySelector('article[data-id="co2/a840410000002001"] .alert-actions').innerText`)
	assert.Contains(t, acts, "close → 70b3d57ed0000b01 (über b): ausgeführt (vom Gerät bestätigt)")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`button[data-ack="ice/k23-bruecke"]`),
		chromedp.WaitVisible("#ack-name"),
		chromedp.SendKeys("#ack-name", "Meisterei Nord, Schmidt"),
	))
	screenshot(t, ctx, "ack-dialog-desktop")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click("#ack-ok")))
	require.Eventually(t, func() bool {
		f.alerts.mu.Lock()
		defer f.alerts.mu.Unlock()
		return f.alerts.acked["ice/k23-bruecke"] == "Meisterei Nord, Schmidt"
	}, 10*time.Second, 20*time.Millisecond)
	waitJS(t, ctx, `!document.querySelector('button[data-ack="ice/k23-bruecke"]')`)

	// Silence a site for 4 hours.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue("#sil-site", "gs-nord"),
		chromedp.SetValue("#sil-dur", "4"),
		chromedp.SendKeys("#sil-comment", "Lüftungsanlage in Wartung"),
		chromedp.Click("#sil-create"),
	))
	waitJS(t, ctx, `document.querySelector('.silence') && document.querySelector('.silence').innerText.includes('site=gs-nord')`)
	f.alerts.mu.Lock()
	require.Len(t, f.alerts.silences, 1)
	assert.Equal(t, "Lüftungsanlage in Wartung", f.alerts.silences[0]["comment"])
	span := f.alerts.silences[0]["ends_at"].(time.Time).Sub(f.alerts.silences[0]["starts_at"].(time.Time))
	f.alerts.mu.Unlock()
	assert.InDelta(t, 4*time.Hour, span, float64(time.Minute))

	// Road stations: by route and km, coloured by the ice alert.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(f.url+"/#/roads")))
	waitJS(t, ctx, `document.querySelectorAll('li.station').length === 3 && document.querySelector('li.station .vals')`)
	order := eval[[]string](t, ctx, `[...document.querySelectorAll('li.station')].map(e => e.dataset.site)`)
	assert.Equal(t, []string{"k23-wald", "k23-bruecke", "b7-kuppe"}, order)
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('li[data-site="k23-bruecke"]').className`), "lvl-alarm")
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('li[data-site="b7-kuppe"]').className`), "lvl-none")
	// The physics forecast: measured and forecast FBT, dew point and the
	// 0 degC line; the risk with its lead; stale and missing weather said.
	waitJS(t, ctx, `document.querySelectorAll('li.station div.forecast').length === 3`)
	bridge := `li[data-site="k23-bruecke"] div.forecast`
	assert.Regexp(t, `^Glättegefahr ab \d\d:\d\d, in (\d+ h )?\d+ min$`, eval[string](t, ctx, `document.querySelector('`+bridge+` .fc-head').textContent`))
	assert.Equal(t, 1, eval[int](t, ctx, `document.querySelectorAll('`+bridge+` svg path.line.forecast').length`))
	assert.Equal(t, 1, eval[int](t, ctx, `document.querySelectorAll('`+bridge+` svg path.line.dew').length`))
	assert.Equal(t, 1, eval[int](t, ctx, `document.querySelectorAll('`+bridge+` svg line.ref.zero').length`))
	assert.Greater(t, len(eval[string](t, ctx, `document.querySelector('`+bridge+` svg path.line.forecast').getAttribute('d')`)), 100)
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('li[data-site="k23-wald"] div.forecast').textContent`), "stale")
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('li[data-site="b7-kuppe"] div.forecast').textContent`), "Keine Physik-Vorhersage")
	screenshot(t, ctx, "roads-desktop")

	// Energy report: the download link carries the token.
	dl := t.TempDir()
	_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.url+"/#/report"),
		chromedp.WaitVisible("#rep-download"),
		chromedp.SetValue("#rep-from", "2025-01-01"),
		chromedp.SetValue("#rep-to", "2026-01-01"),
		chromedp.SetValue("#rep-format", "csv"),
		chromedp.Click(`input[name="site"][value="rathaus"]`),
	))
	screenshot(t, ctx, "report-desktop")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click("#rep-download")))
	// The page itself asks for the year's JSON report (its benchmark
	// ranking); the download is the one CSV request.
	csv := func() []httpapi.ReportRequest {
		var out []httpapi.ReportRequest
		for _, r := range f.reports.requests() {
			if r.Format == "csv" {
				out = append(out, r)
			}
		}
		return out
	}
	require.Eventually(t, func() bool { return len(csv()) >= 1 }, 10*time.Second, 20*time.Millisecond)
	require.Len(t, csv(), 1, "one download, one request")
	req := csv()[0]
	assert.Equal(t, "csv", req.Format)
	assert.Equal(t, []string{"rathaus"}, req.Sites)
	assert.Equal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), req.From)
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(filepath.Join(dl, "energiebericht.csv"))
		return err == nil && strings.Contains(string(b), "rathaus;1234")
	}, 10*time.Second, 50*time.Millisecond, "the report file arrives")

	// Language switch: every string exists in both languages.
	keys, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`import('/i18n.js').then(m => { const d = Object.keys(m.strings.de), e = Object.keys(m.strings.en);
		return d.filter(k => !e.includes(k)).concat(e.filter(k => !d.includes(k))); })`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	assert.Empty(t, keys, "keys missing in one language")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(f.url+"/#/"), chromedp.Click("#lang-btn")))
	waitJS(t, ctx, `document.documentElement.lang === 'en' && document.querySelector('nav a[data-view=alerts]').innerText === 'Alerts'`)
	waitJS(t, ctx, `document.querySelectorAll('tr[data-dev]').length === 5`)

	// Phone width: no horizontal scrolling, touch targets at least 44 px.
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))))
	for _, v := range []struct{ name, hash, ready string }{
		{"overview-phone", "#/", `document.querySelectorAll('tr[data-dev]').length === 5`},
		{"device-phone", "#/device/" + roadEUI1.String(), `document.querySelectorAll('figure.chart-box svg path.line').length >= 3`},
		{"alerts-phone", "#/alerts", `document.querySelectorAll('article.alert').length === 3`},
		{"roads-phone", "#/roads", `document.querySelectorAll('li.station .vals').length === 3`},
	} {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(f.url+"/"+v.hash)))
		waitJS(t, ctx, v.ready)
		assert.LessOrEqual(t, eval[int](t, ctx, `document.documentElement.scrollWidth`), 390, "%s scrolls sideways", v.name)
		small := eval[[]string](t, ctx, `[...document.querySelectorAll('button, nav a, select, input')].filter(e => e.offsetParent && (e.closest('label') || e).getBoundingClientRect().height < 44).map(e => e.outerHTML.slice(0, 80))`)
		assert.Empty(t, small, "%s: touch targets under 44 px", v.name)
		screenshot(t, ctx, v.name)
	}
	assert.Empty(t, consoleProblems(), "browser console errors")
}

// TestWebPageNotConfigured: services that are off answer 501 and the page
// says so instead of failing silently.
func TestWebPageNotConfigured(t *testing.T) {
	f := newFixture(t, false)
	ctx, consoleProblems := newBrowser(t)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(f.url+"/#/alerts"),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('loraedge.lang', 'de')`),
		chromedp.Reload(),
		chromedp.WaitVisible("#token-input"),
		chromedp.SendKeys("#token-input", readToken),
		chromedp.Click("#token-save"),
	))
	waitJS(t, ctx, `document.querySelectorAll('[data-code="not_configured"]').length === 2`)
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('main').innerText`), "nicht eingerichtet")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(f.url+"/#/report")))
	waitJS(t, ctx, `document.querySelectorAll('[data-code="not_configured"]').length === 1`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(f.url+"/#/roads")))
	waitJS(t, ctx, `document.querySelectorAll('li.station').length === 3`)
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('main').innerText`), "Glättewarnungen nicht verfügbar")
	assert.Contains(t, eval[string](t, ctx, `document.querySelector('li[data-site="k23-bruecke"]').className`), "lvl-unknown")
	screenshot(t, ctx, "roads-no-alerts-desktop")

	// A wrong token brings the prompt back with a message.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('loraedge.token', 'wrong-token-0123456789')`),
		chromedp.Reload(),
		chromedp.WaitVisible("#token-err"),
	))
	waitJS(t, ctx, `document.getElementById('token-err').textContent.length > 0`)
	assert.Empty(t, consoleProblems(), "browser console errors")
}
