package httpapi

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/loraedge/loraedge/internal/reportsched"
)

// ScheduledReports lists and opens the kept scheduled energy reports
// (reportsched.Scheduler does). Open's error for an unknown name wraps
// fs.ErrNotExist.
type ScheduledReports interface {
	List() ([]reportsched.Report, error)
	Open(name string) ([]byte, error)
}

// listScheduled serves GET /api/v1/reports/scheduled: the kept reports,
// newest period first.
func (s *Server) listScheduled(w http.ResponseWriter, _ *http.Request) error {
	if s.opts.Scheduled == nil {
		return errNotConfigured
	}
	rs, err := s.opts.Scheduled.List()
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []reportsched.Report{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"reports": rs})
	return nil
}

// scheduledReport serves GET /api/v1/reports/scheduled/{name}: one kept
// report as PDF.
func (s *Server) scheduledReport(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Scheduled == nil {
		return errNotConfigured
	}
	name := r.PathValue("name")
	body, err := s.opts.Scheduled.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("no kept report %q", name), Err: err}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(body) //nolint:gosec // a kept PDF by a checked name, an attachment the browser does not sniff
	return err
}
