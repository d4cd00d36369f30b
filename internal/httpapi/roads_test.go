package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roads answers for one road station, as cmd's forecaster does, with the
// weather state it has.
type roads struct{ state string }

func (r roads) RoadForecast(_ context.Context, id string) (any, error) {
	if id != "k23-bruecke" {
		return nil, ErrRoadNotFound
	}
	return map[string]any{"site": id, "weather": map[string]string{"state": r.state}}, nil
}

func TestRoadForecastRoute(t *testing.T) {
	get := func(opts Options, path string) (int, string) {
		opts.Config = Config{ReadToken: readTok}
		s, err := New(opts)
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+readTok)
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	code, body := get(Options{Roads: roads{"stale"}}, "/api/v1/roads/k23-bruecke/forecast")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"state": "stale"`)
	code, body = get(Options{Roads: roads{"fresh"}}, "/api/v1/roads/gs-nord/forecast")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, body, "no such road station")
	code, _ = get(Options{}, "/api/v1/roads/k23-bruecke/forecast")
	assert.Equal(t, http.StatusNotImplemented, code)
}
