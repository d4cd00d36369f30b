package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/reportsched"
)

// noRenderer is never asked: the test lists and serves kept files only.
type noRenderer struct{}

func (noRenderer) EnergyReport(context.Context, time.Time, time.Time, []string, string, string) (string, string, []byte, error) {
	return "", "", nil, errors.New("not rendered in this test")
}

// TestScheduledReportsAPI lists and serves the reports a real scheduler
// keeps in its directory; other names are 404, without a scheduler 501.
func TestScheduledReportsAPI(t *testing.T) {
	const readT = "read-token-0123456789"
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "energiebericht-2026-11.pdf"), []byte("%PDF-1.4 november"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "energiebericht-2026-11.pdf.sent"), []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "energiebericht-2025.pdf"), []byte("%PDF-1.4 2025"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a report"), 0o600))
	sched, err := reportsched.New(reportsched.Options{Config: reportsched.DefaultConfig(), Dir: dir, Renderer: noRenderer{}})
	require.NoError(t, err)
	serve := func(sc ScheduledReports) *httptest.Server {
		reg := prometheus.NewRegistry()
		o := Options{Config: Config{ReadToken: readT}, Gatherer: reg, Registerer: reg, Ready: func() error { return nil }}
		if sc != nil {
			o.Scheduled = sc
		}
		s, err := New(o)
		require.NoError(t, err)
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)
		return srv
	}
	get := func(srv *httptest.Server, path string) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+readT)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	srv := serve(sched)
	resp, body := get(srv, "/api/v1/reports/scheduled")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var got struct{ Reports []reportsched.Report }
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Len(t, got.Reports, 2, "notes.txt is no report")
	assert.Equal(t, []string{"energiebericht-2026-11.pdf", "monthly", "2026-11"}, []string{got.Reports[0].Name, got.Reports[0].Kind, got.Reports[0].Period})
	assert.True(t, got.Reports[0].Mailed)
	assert.Equal(t, []string{"energiebericht-2025.pdf", "annual", "2025"}, []string{got.Reports[1].Name, got.Reports[1].Kind, got.Reports[1].Period})
	assert.False(t, got.Reports[1].Mailed)

	resp, body = get(srv, "/api/v1/reports/scheduled/energiebericht-2025.pdf")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/pdf", resp.Header.Get("Content-Type"))
	assert.Equal(t, `attachment; filename="energiebericht-2025.pdf"`, resp.Header.Get("Content-Disposition"))
	assert.Equal(t, "%PDF-1.4 2025", body)
	for _, name := range []string{"notes.txt", "energiebericht-2024.pdf", "..%2Fetc%2Fpasswd"} {
		resp, body = get(srv, "/api/v1/reports/scheduled/"+name)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, name)
		assert.Contains(t, body, "not_found", name)
	}
	resp, _ = get(serve(nil), "/api/v1/reports/scheduled")
	assert.Equal(t, http.StatusNotImplemented, resp.StatusCode)
}
