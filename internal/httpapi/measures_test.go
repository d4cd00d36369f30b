package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/store"
)

// bookService serves a real measure book on a real store; verification
// itself is tested in internal/energy.
type bookService struct {
	book  *energy.MeasureBook
	asked time.Time
}

func (b *bookService) EnergyMeasures(_ context.Context, to time.Time) ([]energy.MeasureResult, error) {
	b.asked = to
	var out []energy.MeasureResult
	for _, m := range b.book.List() {
		out = append(out, energy.MeasureResult{Measure: m, Error: "no data"})
	}
	return out, nil
}

func (b *bookService) AddEnergyMeasure(_ context.Context, m energy.Measure) (energy.Measure, error) {
	return b.book.Add(m, func(s string) bool { return s == "gs1" })
}

func TestMeasuresAPI(t *testing.T) {
	const readT, adminT = "read-token-0123456789", "admin-token-0123456789"
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	book, err := energy.OpenMeasureBook(st.KV("energy_measures"), nil)
	require.NoError(t, err)
	svc := &bookService{book: book}
	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: Config{ReadToken: readT, AdminToken: adminT}, Measures: svc, Gatherer: reg, Registerer: reg,
		Ready: func() error { return nil }, Now: func() time.Time { return time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	do := func(method, path, token, body string) (int, string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	good := `{"site":"gs1","medium":"heat","date":"2026-01-12","title":"Pumpe","kind":"heating","investment_eur":18000}`
	code, body := do("POST", "/api/v1/energy/measures", readT, good)
	require.Equal(t, http.StatusForbidden, code, "reading is not enough: %s", body)
	code, body = do("POST", "/api/v1/energy/measures", adminT, good)
	require.Equal(t, http.StatusCreated, code, body)
	require.Contains(t, body, `"id": "gs1/heat/2026-01-12"`)
	code, body = do("POST", "/api/v1/energy/measures", adminT, good)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "exists")
	code, body = do("POST", "/api/v1/energy/measures", adminT, `{"site":"gs1","medium":"heat","date":"morgen","title":"x","kind":"heating"}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, `measure.date: \"morgen\" is not a date`)
	code, body = do("POST", "/api/v1/energy/measures", adminT, `{"site":"gs1","colour":"red"}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, "colour")

	code, body = do("GET", "/api/v1/energy/measures?to=2026-06-30", readT, "")
	require.Equal(t, http.StatusOK, code, body)
	var out struct{ Measures []energy.MeasureResult }
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	require.Len(t, out.Measures, 1)
	require.Equal(t, "Pumpe", out.Measures[0].Measure.Title)
	require.Equal(t, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), svc.asked, "to includes its day")
	_, _ = do("GET", "/api/v1/energy/measures", readT, "")
	require.Equal(t, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), svc.asked, "default: up to yesterday")
	code, body = do("GET", "/api/v1/energy/measures?to=gestern", readT, "")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, `to: expected the last day included`)
}
