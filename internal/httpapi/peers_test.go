package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type peerList []map[string]any

func (p peerList) PeerList() any { return p }

func TestPeersRoute(t *testing.T) {
	get := func(opts Options) (int, string) {
		opts.Config = Config{ReadToken: readTok}
		s, err := New(opts)
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodGet, "/api/v1/peers", nil)
		req.Header.Set("Authorization", "Bearer "+readTok)
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	code, body := get(Options{Peers: peerList{{"name": "rathaus", "queue_depth": 3}}})
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"name": "rathaus"`)
	code, body = get(Options{})
	assert.Equal(t, http.StatusNotImplemented, code, "roaming off")
	assert.Contains(t, body, "not_configured")
}
