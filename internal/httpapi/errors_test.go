package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
)

// goSpeak matches what an operator must never read: package prefixes of
// the decoders, Go type names and fmt's complaints.
var goSpeak = regexp.MustCompile(`json:|encoding/|strconv\.|time:|lorawan\.|network:|\*|struct|int64|int32|uint8|float64|Go struct field|%!|parsing time|unmarshal`)

// Every 400 of the API says in words which field is wrong and what it
// expects, without naming a Go type or package.
func TestBadRequestTexts(t *testing.T) {
	f := newFixture(t)
	dev := "/api/v1/devices/70b3d57ed0000002"
	dl := "/api/v1/devices/" + cfgEUI.String() + "/downlinks"
	key := cfgEUI.String() + "/road_surface_temperature"
	q := "/api/v1/series/query?key=" + key
	tests := []struct {
		name, method, path, body string
		want                     []string
	}{
		{"path eui short", "GET", "/api/v1/devices/70b3d57ed000000", "", []string{"dev_eui: expected 16 hex digits, got 15"}},
		{"path eui not hex", "GET", "/api/v1/devices/70b3d57ed00000zz", "", []string{`dev_eui: expected 16 hex digits, got "70b3d57ed00000zz"`}},
		{"body eui number", "POST", "/api/v1/devices", `{"dev_eui":12,"activation":"external"}`, []string{"dev_eui: expected 16 hex digits as a text, got 12"}},
		{"body eui short", "POST", "/api/v1/devices", `{"dev_eui":"70b3d57ed000000","activation":"external"}`, []string{"dev_eui: expected 16 hex digits, got 15"}},
		{"body eui bad char", "POST", "/api/v1/devices", `{"dev_eui":"70b3d57ed000000z","activation":"external"}`, []string{`dev_eui: expected 16 hex digits, got "70b3d57ed000000z"`}},
		{"app key odd", "POST", "/api/v1/devices", `{"dev_eui":"70b3d57ed0000003","activation":"otaa","app_key":"000102030405060708090a0b0c0d0e0"}`, []string{"app_key: expected 32 hex digits, got 31"}},
		{"dev addr", "POST", "/api/v1/devices", `{"dev_eui":"70b3d57ed0000003","activation":"abp","dev_addr":"2601"}`, []string{"dev_addr: expected 8 hex digits, got 4"}},
		{"name number", "POST", "/api/v1/devices", `{"dev_eui":"70b3d57ed0000003","activation":"external","name":5}`, []string{"name: expected a text, got 5"}},
		{"tags not list", "POST", "/api/v1/devices", `{"dev_eui":"70b3d57ed0000003","activation":"external","tags":"a"}`, []string{`tags: expected a list of texts, got "a"`}},
		{"two problems", "POST", "/api/v1/devices", `{"dev_eui":"70b3","colour":"red"}`, []string{"colour: no such field", "dev_eui: expected 16 hex digits, got 4"}},
		{"unknown field", "POST", "/api/v1/devices", `{"colour":"red"}`, []string{"colour: no such field"}},
		{"syntax", "POST", "/api/v1/devices", `{"dev_eui":}`, []string{"body: not valid JSON near byte"}},
		{"truncated", "POST", "/api/v1/devices", `{"dev_eui":`, []string{"body: the JSON ends too early"}},
		{"empty body", "POST", "/api/v1/devices", ``, []string{"body: a JSON object expected, the body is empty"}},
		{"not an object", "POST", "/api/v1/devices", `[1,2]`, []string{"body: expected a JSON object, got a list"}},
		{"two objects", "POST", "/api/v1/devices", `{} {}`, []string{"body: one JSON object expected"}},
		{"invalid device", "POST", "/api/v1/devices", `{"dev_eui":"70b3d57ed0000003","activation":"otaa","class":"B"}`, []string{"app_key: required for otaa", `class: "B" is not A or C`}},
		{"f_port range", "POST", dl, `{"f_port":0,"hex":"01"}`, []string{"f_port: 1..223, got 0"}},
		{"f_port too big", "POST", dl, `{"f_port":300,"hex":"01"}`, []string{"f_port: expected a whole number from 0 to 255, got 300"}},
		{"f_port negative", "POST", dl, `{"f_port":-1,"hex":"01"}`, []string{"f_port: expected a whole number from 0 to 255, got -1"}},
		{"f_port text", "POST", dl, `{"f_port":"20","hex":"01"}`, []string{`f_port: expected a whole number from 0 to 255, got "20"`}},
		{"confirmed text", "POST", dl, `{"f_port":20,"hex":"01","confirmed":"yes"}`, []string{`confirmed: expected true or false, got "yes"`}},
		{"args not numbers", "POST", dl, `{"command":"set","args":{"level":"high"}}`, []string{"args: expected an object of numbers, got a text inside"}},
		{"hex odd", "POST", dl, `{"f_port":20,"hex":"012"}`, []string{`hex: expected pairs of hex digits (0-9, a-f), got "012"`}},
		{"hex bad char", "POST", dl, `{"f_port":20,"hex":"zz"}`, []string{`hex: expected pairs of hex digits (0-9, a-f), got "zz"`}},
		{"payload too large", "POST", dl, `{"f_port":20,"hex":"` + strings.Repeat("00", 243) + `"}`, []string{"payload: 242 bytes at most at the fastest data rate, got 243"}},
		{"both", "POST", dl, `{"command":"close","hex":"01"}`, []string{"either command or hex"}},
		{"from word", "GET", q + "&from=yesterday", "", []string{`from: expected a duration like -24h or a date YYYY-MM-DD`, `got "yesterday"`}},
		{"from bad duration", "GET", q + "&from=-xyz", "", []string{`from: expected a duration like -24h or a date YYYY-MM-DD`, `got "-xyz"`}},
		{"to bad", "GET", q + "&to=2026-13-01", "", []string{`to: expected a duration like -24h or a date YYYY-MM-DD`}},
		{"reversed", "GET", q + "&from=2026-02-01&to=2026-01-01", "", []string{"from must be before to"}},
		{"every", "GET", q + "&every=xyz", "", []string{`every: a duration of at least 1m, e.g. 15m, 1h, 24h, got "xyz"`}},
		{"agg", "GET", q + "&every=1h&agg=median", "", []string{`agg: one of min, max`, `got "median"`}},
		{"no key", "GET", "/api/v1/series/query", "", []string{"give 1 to 200 key parameters"}},
		{"state", "GET", "/api/v1/alerts?state=sleepy", "", []string{`state: one of pending`, `got "sleepy"`}},
		{"ack who", "POST", "/api/v1/alerts/a1/ack", `{"by":" "}`, []string{"by: who acknowledges"}},
		{"ack by number", "POST", "/api/v1/alerts/a1/ack", `{"by":7}`, []string{"by: expected a text, got 7"}},
		{"silence not json", "POST", "/api/v1/silences", `{"matchers":`, []string{"body: the JSON ends too early"}},
		{"report from", "GET", "/api/v1/reports/energy?from=01.01.2026&to=2026-12-31", "", []string{`from: expected a date like 2026-01-01, got "01.01.2026"`}},
		{"report to", "GET", "/api/v1/reports/energy?from=2026-01-01&to=yesterday", "", []string{`to: expected the last day included`, `got "yesterday"`}},
		{"report format", "GET", "/api/v1/reports/energy?from=2026-01-01&to=2026-12-31&format=docx", "", []string{`format: pdf, html, csv or json, got "docx"`}},
		{"report lang", "GET", "/api/v1/reports/energy?from=2026-01-01&to=2026-12-31&lang=fr", "", []string{`lang: de or en, got "fr"`}},
		{"opendata from", "GET", "/api/v1/opendata/" + key + ".csv?from=last+week", "", []string{`from: expected a duration like -24h or a date YYYY-MM-DD`}},
		{"opendata span", "GET", "/api/v1/opendata/" + key + ".csv?from=2024-01-01&to=2026-01-01", "", []string{"at most a year apart"}},
		{"put eui", "PUT", dev[:len(dev)-1], `{}`, []string{"dev_eui: expected 16 hex digits, got 15"}},
		{"put mismatch", "PUT", dev, `{"dev_eui":"70b3d57ed0000009","activation":"external"}`, []string{"dev_eui in the body differs from the path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, tt.method, tt.path, adminTok, tt.body)
			require.Equal(t, http.StatusBadRequest, status, body)
			var e struct {
				Error struct{ Code, Message string }
			}
			require.NoError(t, json.Unmarshal([]byte(body), &e))
			for _, w := range tt.want {
				assert.Contains(t, e.Error.Message, w)
			}
			assert.False(t, goSpeak.MatchString(e.Error.Message), "Go in %q: %q", e.Error.Message, goSpeak.FindString(e.Error.Message))
		})
	}
}

// A known path asked with a method it does not serve answers 405 with
// the methods it does in Allow; the OpenAPI document lists every route.
func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	var doc struct {
		Paths map[string]map[string]any
	}
	require.NoError(t, json.Unmarshal(openAPIDoc, &doc))
	fill := strings.NewReplacer("{dev_eui}", cfgEUI.String(), "{id}", "a1", "{key}", "x/y.csv")
	n := 0
	for path, ops := range doc.Paths {
		var allowed []string
		for m := range ops {
			allowed = append(allowed, strings.ToUpper(m))
		}
		url := fill.Replace(path)
		if !strings.HasPrefix(url, "/api/") {
			url = strings.TrimSuffix(url, "/")
		}
		for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
			if slices.Contains(allowed, m) {
				continue
			}
			n++
			req, err := http.NewRequest(m, f.srv.URL+url, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			if !assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "%s %s", m, url) {
				continue
			}
			allow := strings.Split(resp.Header.Get("Allow"), ", ")
			for _, a := range allowed {
				assert.Contains(t, allow, a, "%s %s", m, url)
			}
			assert.NotContains(t, allow, m)
		}
	}
	assert.Greater(t, n, 40)

	// An unknown path stays 404, with or without a token.
	status, _ := f.do(t, "POST", "/api/v1/nothing", adminTok, "")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = f.do(t, "GET", "/api/v1/nothing", "", "")
	assert.Equal(t, http.StatusUnauthorized, status)
	// A wrong method says so in words too.
	status, body := f.do(t, "DELETE", "/api/v1/devices", adminTok, "")
	assert.Equal(t, http.StatusMethodNotAllowed, status)
	assert.Contains(t, body, "DELETE is not served on this path; allowed: GET, HEAD, POST")
}

// The decoder's own error, which users never see, is in the debug log
// for developers.
func TestBadRequestLogsCause(t *testing.T) {
	var logs bytes.Buffer
	s, err := New(Options{Config: Config{AdminToken: adminTok}, Devices: emptyDevices{},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/v1/devices", strings.NewReader(`{"dev_eui":"70b3d57ed00000zz","name":5}`))
	req.Header.Set("Authorization", "Bearer "+adminTok)
	s.Handler().ServeHTTP(rec, req)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), `dev_eui: expected 16 hex digits, got \"70b3d57ed00000zz\"; name: expected a text, got 5`)
	assert.NotContains(t, rec.Body.String(), "encoding/hex")
	assert.Contains(t, logs.String(), "request refused")
	assert.Contains(t, logs.String(), "encoding/hex: invalid byte")
	assert.Contains(t, logs.String(), "json: cannot unmarshal number")
}

type emptyDevices struct{}

func (emptyDevices) List() []device.Device                   { return nil }
func (emptyDevices) Get(lorawan.EUI64) (device.Device, bool) { return device.Device{}, false }
func (emptyDevices) Add(device.Device) error                 { return nil }
func (emptyDevices) Remove(lorawan.EUI64) error              { return device.ErrNotFound }
func (emptyDevices) Managed(lorawan.EUI64) bool              { return false }
