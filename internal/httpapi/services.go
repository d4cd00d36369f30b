package httpapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/store"
)

// AlertService is the alert engine as the API uses it. Lists are returned
// as JSON-ready values so that this package does not depend on the
// engine's types.
type AlertService interface {
	ListAlerts(ctx context.Context, state string) (any, error)
	Acknowledge(ctx context.Context, id, who string) error
	ListSilences(ctx context.Context) (any, error)
	CreateSilence(ctx context.Context, body json.RawMessage, who string) (any, error)
	ExpireSilence(ctx context.Context, id string) error
}

// ErrAlertNotFound is what AlertService returns for an unknown id; other
// errors of an AlertService method that are about the caller's input wrap
// ErrInvalid.
var (
	ErrAlertNotFound = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such alert or silence"}
	ErrInvalid       = &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "invalid input"}
)

// ReportRequest asks for an energy report.
type ReportRequest struct {
	From, To time.Time
	Sites    []string
	Format   string // pdf, html, csv, json
	Lang     string // de, en
}

// ReportService renders energy reports.
type ReportService interface {
	EnergyReport(ctx context.Context, req ReportRequest) (contentType, filename string, body []byte, err error)
}

// OpenDataCatalog lists the series published as open data, with their
// licence.
type OpenDataCatalog interface {
	PublicSeries() []OpenSeries
}

// OpenSeries is one public series with the metadata an open-data portal
// needs.
type OpenSeries struct {
	store.SeriesInfo
	Title       string `json:"title"`
	Licence     string `json:"licence"`
	Attribution string `json:"attribution,omitempty"`
	Site        string `json:"site,omitempty"`
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Alerts == nil {
		return errNotConfigured
	}
	state := r.URL.Query().Get("state")
	switch state {
	case "", "pending", "firing", "acknowledged", "resolved", "active":
	default:
		return badRequest("state: one of pending, firing, acknowledged, resolved, active, got "+inputerr.Quote(state), nil)
	}
	v, err := s.opts.Alerts.ListAlerts(r.Context(), state)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": v})
	return nil
}

func (s *Server) ackAlert(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Alerts == nil {
		return errNotConfigured
	}
	var in struct {
		By string `json:"by"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.By = strings.TrimSpace(in.By)
	if in.By == "" || len(in.By) > 100 {
		return badRequest("by: who acknowledges (1 to 100 characters)", nil)
	}
	if err := s.opts.Alerts.Acknowledge(r.Context(), r.PathValue("id"), in.By); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "acknowledged_by": in.By})
	return nil
}

func (s *Server) listSilences(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Alerts == nil {
		return errNotConfigured
	}
	v, err := s.opts.Alerts.ListSilences(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"silences": v})
	return nil
}

func (s *Server) createSilence(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Alerts == nil {
		return errNotConfigured
	}
	var body json.RawMessage
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	v, err := s.opts.Alerts.CreateSilence(r.Context(), body, "api")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) expireSilence(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Alerts == nil {
		return errNotConfigured
	}
	if err := s.opts.Alerts.ExpireSilence(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) energyReport(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Reports == nil {
		return errNotConfigured
	}
	q := r.URL.Query()
	from, err := time.Parse("2006-01-02", q.Get("from"))
	if err != nil {
		return badRequest("from: expected a date like 2026-01-01, got "+inputerr.Quote(q.Get("from")), err)
	}
	to, err := time.Parse("2006-01-02", q.Get("to"))
	if err != nil {
		return badRequest("to: expected the last day included, a date like 2026-12-31, got "+inputerr.Quote(q.Get("to")), err)
	}
	if to.Before(from) || to.Sub(from) > 3*366*24*time.Hour {
		return badRequest("to must not be before from, at most three years apart", nil)
	}
	req := ReportRequest{From: from, To: to, Sites: q["site"], Format: q.Get("format"), Lang: q.Get("lang")}
	if req.Format == "" {
		req.Format = "pdf"
	}
	if req.Lang == "" {
		req.Lang = "de"
	}
	if !slices.Contains([]string{"pdf", "html", "csv", "json"}, req.Format) {
		return badRequest("format: pdf, html, csv or json, got "+inputerr.Quote(req.Format), nil)
	}
	if req.Lang != "de" && req.Lang != "en" {
		return badRequest("lang: de or en, got "+inputerr.Quote(req.Lang), nil)
	}
	ctype, name, body, err := s.opts.Reports.EnergyReport(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, err = w.Write(body)
	return err
}

func (s *Server) openDataList(w http.ResponseWriter, _ *http.Request) error {
	if s.opts.OpenData == nil {
		return errNotConfigured
	}
	out := []OpenSeries{}
	out = append(out, s.opts.OpenData.PublicSeries()...)
	writeJSON(w, http.StatusOK, map[string]any{"series": out})
	return nil
}

// openDataSeries exports one public series as CSV or JSON
// (GET /api/v1/opendata/<series key>.csv?from=&to=).
func (s *Server) openDataSeries(w http.ResponseWriter, r *http.Request) error {
	if s.opts.OpenData == nil || s.opts.Series == nil {
		return errNotConfigured
	}
	key := r.PathValue("key")
	format := "json"
	if k, ok := strings.CutSuffix(key, ".csv"); ok {
		key, format = k, "csv"
	} else if k, ok := strings.CutSuffix(key, ".json"); ok {
		key = k
	}
	var meta *OpenSeries
	for _, os := range s.opts.OpenData.PublicSeries() {
		if os.Key == key {
			meta = &os
			break
		}
	}
	if meta == nil {
		return notFound("no public series " + strconv.Quote(key))
	}
	from, to, err := s.timeRange(r.URL.Query().Get("from"), r.URL.Query().Get("to"), 7*24*time.Hour)
	if err != nil {
		return err
	}
	if to.Sub(from) > 366*24*time.Hour {
		return badRequest("from and to at most a year apart", nil)
	}
	got, err := s.opts.Series.Range(r.Context(), []string{key}, from, to)
	if err != nil {
		return err
	}
	var pts []store.Point
	if len(got) == 1 {
		pts = got[0].Points
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", strings.ReplaceAll(key, "/", "_")+".csv"))
		cw := csv.NewWriter(w)
		// Licence and unit travel with the data, as comment lines.
		_ = cw.Write([]string{"# " + meta.Title})
		_ = cw.Write([]string{"# licence: " + meta.Licence})
		if meta.Attribution != "" {
			_ = cw.Write([]string{"# attribution: " + meta.Attribution})
		}
		_ = cw.Write([]string{"time", string(meta.Quantity) + " [" + meta.Unit + "]"})
		for _, p := range pts {
			_ = cw.Write([]string{p.Time.UTC().Format(time.RFC3339), strconv.FormatFloat(p.Value, 'f', -1, 64)})
		}
		cw.Flush()
		return cw.Error()
	}
	view := make([]pointView, len(pts))
	for i, p := range pts {
		view[i] = pointView{Time: p.Time, Value: p.Value}
	}
	writeJSON(w, http.StatusOK, map[string]any{"meta": meta, "from": from, "to": to, "points": view})
	return nil
}
