package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

const (
	readTok  = "read-token-0123456789"
	adminTok = "admin-token-0123456789"
)

var (
	cfgEUI = lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 1}
	t0     = time.Date(2026, 1, 12, 22, 0, 0, 0, time.UTC)
)

type sites []site.Site

func (s sites) Sites() []site.Site { return s }

// downlinks queues into a real network server and builds commands from the
// real profiles.
type downlinks struct {
	*network.Server
	*profile.Set
}

type alerts struct{ acked map[string]string }

func (a *alerts) ListAlerts(_ context.Context, state string) (any, error) {
	return []map[string]string{{"id": "a1", "state": "firing", "filter": state}}, nil
}
func (a *alerts) Acknowledge(_ context.Context, id, who string) error {
	if id != "a1" {
		return ErrAlertNotFound
	}
	a.acked[id] = who
	return nil
}
func (a *alerts) ListSilences(context.Context) (any, error) { return []string{}, nil }
func (a *alerts) CreateSilence(_ context.Context, body json.RawMessage, who string) (any, error) {
	return map[string]any{"id": "s1", "body": body, "by": who}, nil
}
func (a *alerts) ExpireSilence(_ context.Context, id string) error {
	if id != "s1" {
		return ErrAlertNotFound
	}
	return nil
}

type reports struct{ last ReportRequest }

func (r *reports) EnergyReport(_ context.Context, req ReportRequest) (string, string, []byte, error) {
	r.last = req
	return "text/csv", "energiebericht.csv", []byte("site;kwh\n"), nil
}

// macs is the network layer's MAC state as the adapter in cmd hands it over.
type macs map[lorawan.EUI64]MACView

func (m macs) MACView(eui lorawan.EUI64) (MACView, bool) {
	v, ok := m[eui]
	return v, ok
}

type catalog []OpenSeries

func (c catalog) PublicSeries() []OpenSeries { return c }

type fixture struct {
	srv     *httptest.Server
	st      *store.Store
	alerts  *alerts
	reports *reports
	net     *network.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	codecs, err := all.NewRegistry()
	require.NoError(t, err)
	profiles, err := profile.Load(codecs, profile.Embedded())
	require.NoError(t, err)
	devs, err := device.NewRegistry([]device.Device{
		{DevEUI: cfgEUI, Activation: device.OTAA, AppKey: lorawan.AES128Key{1}, Profile: "generic/road-station", Site: "k23"},
	})
	require.NoError(t, err)
	st, err := store.Open(store.Options{Dir: t.TempDir(), Config: store.Config{CommitInterval: 5 * time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, devs.Persist(st.KV("devices")))
	require.NoError(t, st.Append(context.Background(), []measurement.Measurement{
		{Device: cfgEUI.String(), Quantity: measurement.RoadSurfaceTemperature, Value: 0.5, Unit: "degC", Time: t0},
		{Device: cfgEUI.String(), Quantity: measurement.RoadSurfaceTemperature, Value: -0.5, Unit: "degC", Time: t0.Add(10 * time.Minute)},
		{Device: cfgEUI.String(), Quantity: measurement.AirTemperature, Value: 1.5, Unit: "degC", Time: t0.Add(10 * time.Minute)},
	}))

	udp, err := semtechudp.NewServer(semtechudp.Options{Config: semtechudp.Config{Listen: "127.0.0.1:0"}})
	require.NoError(t, err)
	require.NoError(t, udp.Listen())
	ns, err := network.NewServer(network.Options{Devices: devs, StatePath: t.TempDir() + "/n.db"})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = udp.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	// One gateway says hello.
	conn, err := net.Dial("udp", udp.LocalAddr().String())
	require.NoError(t, err)
	pd, _ := (&semtechudp.PullDataPacket{ProtocolVersion: 2, RandomToken: 7, GatewayMAC: lorawan.EUI64{0xaa, 1}}).MarshalBinary()
	_, err = conn.Write(pd)
	require.NoError(t, err)
	conn.Close()
	require.Eventually(t, func() bool { return len(udp.Gateways()) == 1 }, 2*time.Second, 5*time.Millisecond)

	f := &fixture{st: st, alerts: &alerts{acked: map[string]string{}}, reports: &reports{}, net: ns}
	key := measurement.Measurement{Device: cfgEUI.String(), Quantity: measurement.RoadSurfaceTemperature}.SeriesKey()
	var info store.SeriesInfo
	for _, si := range st.Series() {
		if si.Key == key {
			info = si
		}
	}
	reg := prometheus.NewRegistry()
	s, err := New(Options{
		Config:   Config{ReadToken: readTok, AdminToken: adminTok},
		Gateways: udp, Devices: devs, Sessions: ns, Sites: sites{{ID: "k23", Name: "K 23 Brücke", Kind: site.Road}},
		Series: st, Downlinks: downlinks{ns, profiles}, Alerts: f.alerts, Reports: f.reports,
		MAC: macs{cfgEUI: {DataRate: ptr(3), DataRateName: "SF9BW125", SpreadingFactor: ptr(9), TXPowerIndex: ptr(2), TXPowerDBm: ptr(12),
			NbTrans: ptr(1), ADR: ptr(true), MarginDB: ptr(17), BatteryPercent: ptr(78.5), PendingCommands: []string{"LinkADRReq"}, FCntUp: 41, NFCntDown: 7}},
		OpenData: catalog{{SeriesInfo: info, Title: "Fahrbahntemperatur K 23", Licence: "dl-de/by-2-0"}},
		Gatherer: reg, Registerer: reg, Ready: func() error { return nil }, MaxBodyBytes: 2048,
		Now: func() time.Time { return t0.Add(time.Hour) },
	})
	require.NoError(t, err)
	f.srv = httptest.NewServer(s.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRoutes(t *testing.T) {
	f := newFixture(t)
	newDev := `{"dev_eui":"70b3d57ed0000002","activation":"abp","profile":"generic/valve-actuator","dev_addr":"26011f02","nwk_s_key":"000102030405060708090a0b0c0d0e0f","app_s_key":"0f0e0d0c0b0a09080706050403020100"}`
	key := cfgEUI.String() + "/road_surface_temperature"
	tests := []struct {
		name, method, path, token, body string
		status                          int
		contains                        []string
		absent                          []string
	}{
		{"healthz needs no token", "GET", "/healthz", "", "", 200, []string{"ok"}, nil},
		{"readyz", "GET", "/readyz", "", "", 200, []string{"ready"}, nil},
		{"openapi", "GET", "/api/v1/openapi.json", "", "", 200, []string{`"openapi"`}, nil},
		{"no token", "GET", "/api/v1/devices", "", "", 401, []string{"unauthorized"}, nil},
		{"wrong token", "GET", "/api/v1/devices", "wrong-token-0123456789", "", 401, []string{"invalid token"}, nil},
		{"metrics need a token", "GET", "/metrics", "", "", 401, nil, nil},
		{"metrics", "GET", "/metrics", readTok, "", 200, []string{"loraedge_http_requests_total"}, nil},
		{"gateways", "GET", "/api/v1/gateways", readTok, "", 200, []string{"aa01000000000000", `"protocol_version": 2`, `"tx_ack_missing": 0`}, nil},
		{"sites", "GET", "/api/v1/sites", readTok, "", 200, []string{"K 23 Brücke"}, nil},
		{"devices hide keys", "GET", "/api/v1/devices", readTok, "", 200, []string{cfgEUI.String(), `"managed_by_config": true`}, []string{"app_key", "01000000000000000000000000000000"}},
		{"device", "GET", "/api/v1/devices/" + cfgEUI.String(), readTok, "", 200, []string{"generic/road-station", `"mac": {`, `"data_rate_name": "SF9BW125"`}, nil},
		{"mac", "GET", "/api/v1/devices/" + cfgEUI.String() + "/mac", readTok, "", 200, []string{`"adr": true`, `"data_rate": 3`, `"spreading_factor": 9`, `"tx_power_dbm": 12`, `"nb_trans": 1`, `"margin_db": 17`, `"battery_percent": 78.5`, `"LinkADRReq"`, `"f_cnt_up": 41`}, []string{"external_power", "dev_status_at"}},
		{"mac unknown device", "GET", "/api/v1/devices/0000000000000009/mac", readTok, "", 404, []string{"no device"}, nil},
		{"device bad eui", "GET", "/api/v1/devices/xyz", readTok, "", 400, []string{"16 hex digits"}, nil},
		{"device unknown", "GET", "/api/v1/devices/0000000000000009", readTok, "", 404, nil, nil},
		{"device typo names the closest", "GET", "/api/v1/devices/" + cfgEUI.String()[:15] + "9", readTok, "", 404, []string{"no device " + cfgEUI.String()[:15] + "9 (ids are 16 hex digits; closest: " + cfgEUI.String()}, nil},
		{"create typo profile names the closest", "POST", "/api/v1/devices", adminTok, `{"dev_eui":"70b3d57ed0000003","activation":"external","profile":"generic/road_station"}`, 400, []string{`unknown firmware profile \"generic/road_station\" (ids are vendor/model; closest: generic/road-station`}, nil},
		{"create needs admin", "POST", "/api/v1/devices", readTok, newDev, 403, []string{"only read"}, nil},
		{"create", "POST", "/api/v1/devices", adminTok, newDev, 201, []string{"generic/valve-actuator"}, []string{"nwk_s_key"}},
		{"mac without session", "GET", "/api/v1/devices/70b3d57ed0000002/mac", readTok, "", 404, []string{"no network session"}, nil},
		{"device without session has no mac", "GET", "/api/v1/devices/70b3d57ed0000002", readTok, "", 200, []string{"generic/valve-actuator"}, []string{`"mac"`}},
		{"create twice", "POST", "/api/v1/devices", adminTok, newDev, 409, []string{"exists"}, nil},
		{"create invalid", "POST", "/api/v1/devices", adminTok, `{"dev_eui":"70b3d57ed0000003","activation":"otaa"}`, 400, []string{"app_key"}, nil},
		{"create unknown profile", "POST", "/api/v1/devices", adminTok, `{"dev_eui":"70b3d57ed0000003","activation":"external","profile":"acme/x"}`, 400, []string{"unknown firmware profile"}, nil},
		{"create unknown field", "POST", "/api/v1/devices", adminTok, `{"dev_eui":"70b3d57ed0000003","activation":"external","colour":"red"}`, 400, []string{"colour"}, nil},
		{"create bad json", "POST", "/api/v1/devices", adminTok, `{"dev_eui":`, 400, nil, nil},
		{"body too large", "POST", "/api/v1/devices", adminTok, `{"name":"` + strings.Repeat("x", 4000) + `"}`, 413, []string{"too large"}, nil},
		{"change config device", "PUT", "/api/v1/devices/" + cfgEUI.String(), adminTok, `{"activation":"external"}`, 409, []string{"configuration file"}, nil},
		{"change keeps keys", "PUT", "/api/v1/devices/70b3d57ed0000002", adminTok, `{"activation":"abp","name":"Ventil Keller","profile":"generic/valve-actuator","dev_addr":"26011f02"}`, 200, []string{"Ventil Keller"}, nil},
		{"change eui mismatch", "PUT", "/api/v1/devices/70b3d57ed0000002", adminTok, `{"dev_eui":"70b3d57ed0000009","activation":"external"}`, 400, nil, nil},
		{"downlink command", "POST", "/api/v1/devices/70b3d57ed0000002/downlinks", adminTok, `{"command":"close"}`, 202, []string{`"hex": "00"`, `"f_port": 20`}, nil},
		{"downlink raw", "POST", "/api/v1/devices/70b3d57ed0000002/downlinks", adminTok, `{"f_port":20,"hex":"01"}`, 202, nil, nil},
		{"downlink unknown command", "POST", "/api/v1/devices/70b3d57ed0000002/downlinks", adminTok, `{"command":"explode"}`, 400, []string{"command"}, nil},
		{"downlink bad port", "POST", "/api/v1/devices/70b3d57ed0000002/downlinks", adminTok, `{"f_port":0,"hex":"01"}`, 400, []string{"f_port"}, nil},
		{"downlink bad hex", "POST", "/api/v1/devices/70b3d57ed0000002/downlinks", adminTok, `{"f_port":20,"hex":"zz"}`, 400, []string{"hex"}, nil},
		{"downlink nothing", "POST", "/api/v1/devices/70b3d57ed0000002/downlinks", adminTok, `{}`, 400, nil, nil},
		{"downlink expiry", "POST", "/api/v1/devices/70b3d57ed0000002/downlinks", adminTok, `{"command":"close","expiry":"30m"}`, 202, []string{`"expires_at": "20`}, nil},
		{"downlink bad expiry", "POST", "/api/v1/devices/70b3d57ed0000002/downlinks", adminTok, `{"command":"close","expiry":"soon"}`, 400, []string{"expiry: expected a duration"}, nil},
		{"downlink expired", "POST", "/api/v1/devices/70b3d57ed0000002/downlinks", adminTok, `{"f_port":20,"hex":"01","expires_at":"2000-01-01T00:00:00Z"}`, 400, []string{"already passed"}, nil},
		{"downlink needs admin", "POST", "/api/v1/devices/70b3d57ed0000002/downlinks", readTok, `{"command":"close"}`, 403, nil, nil},
		{"latest", "GET", "/api/v1/devices/" + cfgEUI.String() + "/latest", readTok, "", 200, []string{"-0.5", "air_temperature"}, nil},
		{"series", "GET", "/api/v1/series?device=" + cfgEUI.String(), readTok, "", 200, []string{key}, nil},
		{"query raw", "GET", "/api/v1/series/query?key=" + key + "&from=2026-01-12&to=2026-01-13", readTok, "", 200, []string{"0.5", "-0.5"}, nil},
		{"query agg", "GET", "/api/v1/series/query?key=" + key + "&from=2026-01-12&to=2026-01-13&every=24h&agg=min", readTok, "", 200, []string{`"value": -0.5`, `"count": 2`}, nil},
		{"query relative", "GET", "/api/v1/series/query?key=" + key + "&to=2026-01-12T23:00:00Z&from=-55m", readTok, "", 200, []string{`"from": "2026-01-12T22:05:00Z"`, "-0.5"}, []string{"0.5,"}},
		{"query no key", "GET", "/api/v1/series/query", readTok, "", 400, nil, nil},
		{"query bad agg", "GET", "/api/v1/series/query?key=" + key + "&every=1h&agg=median", readTok, "", 400, []string{"agg"}, nil},
		{"query bad every", "GET", "/api/v1/series/query?key=" + key + "&every=1s", readTok, "", 400, []string{"every"}, nil},
		{"query reversed", "GET", "/api/v1/series/query?key=" + key + "&from=2026-02-01&to=2026-01-01", readTok, "", 400, nil, nil},
		{"query too long raw", "GET", "/api/v1/series/query?key=" + key + "&from=2025-01-01&to=2026-01-01", readTok, "", 400, []string{"31 days"}, nil},
		{"alerts", "GET", "/api/v1/alerts?state=firing", readTok, "", 200, []string{"a1"}, nil},
		{"alerts bad state", "GET", "/api/v1/alerts?state=sleepy", readTok, "", 400, nil, nil},
		{"ack", "POST", "/api/v1/alerts/a1/ack", adminTok, `{"by":"Meisterei Nord"}`, 200, []string{"Meisterei Nord"}, nil},
		{"ack without who", "POST", "/api/v1/alerts/a1/ack", adminTok, `{"by":" "}`, 400, nil, nil},
		{"ack unknown", "POST", "/api/v1/alerts/zz/ack", adminTok, `{"by":"x"}`, 404, nil, nil},
		{"silences", "GET", "/api/v1/silences", readTok, "", 200, nil, nil},
		{"silence create", "POST", "/api/v1/silences", adminTok, `{"matchers":{"site":"k23"}}`, 201, []string{"s1"}, nil},
		{"silence expire", "DELETE", "/api/v1/silences/s1", adminTok, "", 204, nil, nil},
		{"silence expire unknown", "DELETE", "/api/v1/silences/s9", adminTok, "", 404, nil, nil},
		{"report", "GET", "/api/v1/reports/energy?from=2026-01-01&to=2026-12-31&format=csv&lang=en&site=a&site=b", readTok, "", 200, []string{"site;kwh"}, nil},
		{"report bad format", "GET", "/api/v1/reports/energy?from=2026-01-01&to=2026-12-31&format=docx", readTok, "", 400, nil, nil},
		{"report bad date", "GET", "/api/v1/reports/energy?from=01.01.2026&to=2026-12-31", readTok, "", 400, nil, nil},
		{"opendata", "GET", "/api/v1/opendata", readTok, "", 200, []string{"dl-de/by-2-0"}, nil},
		{"opendata csv", "GET", "/api/v1/opendata/" + key + ".csv?from=2026-01-12&to=2026-01-13", readTok, "", 200, []string{"# licence: dl-de/by-2-0", "road_surface_temperature [degC]", "-0.5"}, nil},
		{"opendata json", "GET", "/api/v1/opendata/" + key + ".json?from=2026-01-12&to=2026-01-13", readTok, "", 200, []string{`"licence": "dl-de/by-2-0"`}, nil},
		{"opendata not public", "GET", "/api/v1/opendata/" + cfgEUI.String() + "/air_temperature.csv", readTok, "", 404, nil, nil},
		{"unknown api route", "GET", "/api/v1/nothing", readTok, "", 404, []string{"not_found"}, nil},
		{"delete config device", "DELETE", "/api/v1/devices/" + cfgEUI.String(), adminTok, "", 409, nil, nil},
		{"delete", "DELETE", "/api/v1/devices/70b3d57ed0000002", adminTok, "", 204, nil, nil},
		{"delete again", "DELETE", "/api/v1/devices/70b3d57ed0000002", adminTok, "", 404, nil, nil},
		{"web page", "GET", "/", "", "", 200, []string{"loraedge"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, tt.method, tt.path, tt.token, tt.body)
			assert.Equal(t, tt.status, status, body)
			for _, c := range tt.contains {
				assert.Contains(t, body, c)
			}
			for _, c := range tt.absent {
				assert.NotContains(t, body, c)
			}
			if status >= 400 && strings.HasPrefix(tt.path, "/api/") {
				var e struct {
					Error struct{ Code, Message string }
				}
				require.NoError(t, json.Unmarshal([]byte(body), &e), "errors are JSON")
				assert.NotEmpty(t, e.Error.Message)
			}
		})
	}
	assert.Equal(t, "Meisterei Nord", f.alerts.acked["a1"])
	assert.Equal(t, []string{"a", "b"}, f.reports.last.Sites)
	assert.Equal(t, "en", f.reports.last.Lang)
}

func ptr[T any](v T) *T { return &v }

func TestReadyzFails(t *testing.T) {
	s, err := New(Options{Config: Config{AdminToken: adminTok}, Ready: func() error { return io.ErrUnexpectedEOF }})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
}

func TestTokensRequired(t *testing.T) {
	_, err := New(Options{})
	require.Error(t, err)
	_, err = New(Options{Config: Config{AdminToken: "short"}})
	require.ErrorContains(t, err, "16 characters")
}

// Every route the server registers is in the OpenAPI document.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any
	}
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	src, err := readSource("server.go")
	require.NoError(t, err)
	re := regexp.MustCompile(`s\.handle\("(GET|POST|PUT|DELETE) ([^"]+)"`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(src, -1) {
		path := strings.ReplaceAll(m[2], "{key...}", "{key}")
		ops, ok := doc.Paths[path]
		if assert.True(t, ok, "path %s missing from openapi.json", path) {
			_, ok = ops[strings.ToLower(m[1])]
			assert.True(t, ok, "%s %s missing from openapi.json", m[1], path)
		}
		n++
	}
	assert.Greater(t, n, 20)
}
