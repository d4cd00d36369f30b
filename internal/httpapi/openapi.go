package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDoc describes every route; a test checks that the two agree.
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPIDoc)
	return err
}
