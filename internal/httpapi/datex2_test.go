package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// datexFake writes a marker document per kind, or fails as told.
type datexFake struct{ err error }

func (d datexFake) Datex2(_ context.Context, w io.Writer, kind string) error {
	if d.err != nil {
		return d.err
	}
	_, err := fmt.Fprintf(w, "<payload kind=%q/>", kind)
	return err
}

func TestDatex2Routes(t *testing.T) {
	get := func(opts Options, path, token string) (int, http.Header, string) {
		opts.Config = Config{ReadToken: readTok}
		s, err := New(opts)
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, req)
		return rec.Code, rec.Header(), rec.Body.String()
	}
	for _, kind := range []string{"measured", "sites"} {
		code, h, body := get(Options{Datex2: datexFake{}}, "/api/v1/datex2/"+kind, readTok)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "application/xml; charset=utf-8", h.Get("Content-Type"))
		assert.Equal(t, fmt.Sprintf("<payload kind=%q/>", kind), body)
	}
	code, _, _ := get(Options{Datex2: datexFake{}}, "/api/v1/datex2/measured", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _, body := get(Options{Datex2: datexFake{err: ErrDatex2NoData}}, "/api/v1/datex2/measured", readTok)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "no road station has a current measurement")
	code, _, _ = get(Options{}, "/api/v1/datex2/measured", readTok)
	assert.Equal(t, http.StatusNotImplemented, code)
}
