package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// Datex2Publisher writes a DATEX II v3 publication of the road stations:
// kind "measured" (MeasuredDataPublication) or "sites" (the
// MeasurementSiteTablePublication it refers to).
type Datex2Publisher interface {
	Datex2(ctx context.Context, w io.Writer, kind string) error
}

// ErrDatex2NoData is what a Datex2Publisher returns when no road station
// has a current value: a MeasuredDataPublication needs at least one.
var ErrDatex2NoData = &Error{Status: http.StatusServiceUnavailable, Code: "no_data",
	Message: "no road station has a current measurement"}

func (s *Server) datex2(kind string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.opts.Datex2 == nil {
			return errNotConfigured
		}
		// Rendered whole first, so a failure is an error answer and not a
		// truncated document.
		var buf bytes.Buffer
		if err := s.opts.Datex2.Datex2(r.Context(), &buf, kind); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(buf.Bytes())
		return err
	}
}
