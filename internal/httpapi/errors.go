package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/loraedge/loraedge/internal/inputerr"
)

// Error is an error with a message meant for API users; Err, the internal
// cause, is logged and never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func badRequest(msg string, err error) error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: msg, Err: err}
}

func notFound(msg string) error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: msg}
}

var errNotConfigured = &Error{Status: http.StatusNotImplemented, Code: "not_configured", Message: "this service is not enabled on this gateway"}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &tooBig):
		e = &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "request body too large"}
	default:
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error", Err: err}
	}
	if e.Status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", e.Status, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", e.Status, "err", err)
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="loraedge"`)
	}
	writeJSON(w, e.Status, map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	_ = enc.Encode(v)
}

// decodeJSON reads one JSON object strictly: unknown fields are errors,
// and every error names its field in words (see BadInput).
func decodeJSON(r *http.Request, v any) error {
	return BadInput(inputerr.JSON(r.Body, v))
}

// BadInput turns the errors of decoding a request (one or several joined
// *inputerr.FieldError) into a 400 whose message lists them in words; the
// decoders' own errors are kept as the cause for the debug log. Other
// errors (a body over the size limit) pass unchanged, nil stays nil.
func BadInput(err error) error {
	if err == nil {
		return nil
	}
	var msgs []string
	var causes []error
	var walk func(error) bool
	walk = func(err error) bool {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			all := true
			for _, e := range j.Unwrap() {
				all = walk(e) && all
			}
			return all
		}
		var fe *inputerr.FieldError
		if !errors.As(err, &fe) {
			return false
		}
		msgs = append(msgs, fe.Error())
		if fe.Err != nil {
			causes = append(causes, fe.Err)
		}
		return true
	}
	if !walk(err) {
		return err
	}
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: strings.Join(msgs, "; "), Err: errors.Join(causes...)}
}

// badField is a 400 for one rejected value.
func badField(fe *inputerr.FieldError) error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: fe.Error(), Err: fe.Err}
}
