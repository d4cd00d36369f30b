package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/inputerr"
)

// MeasureService lists energy measures with their verified savings and
// adds measures. AddEnergyMeasure's errors about the measure itself wrap
// energy.ErrInvalidMeasure.
type MeasureService interface {
	EnergyMeasures(ctx context.Context, to time.Time) ([]energy.MeasureResult, error)
	AddEnergyMeasure(ctx context.Context, m energy.Measure) (energy.Measure, error)
}

// listMeasures serves GET /api/v1/energy/measures[?to=2026-12-31]: every
// measure with its baseline, daily savings and significance, computed
// with data up to the end of the day to (default: yesterday).
func (s *Server) listMeasures(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Measures == nil {
		return errNotConfigured
	}
	now := s.opts.Now()
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if q := r.URL.Query().Get("to"); q != "" {
		t, err := time.Parse(time.DateOnly, q)
		if err != nil {
			return badRequest("to: expected the last day included, a date like 2026-12-31, got "+inputerr.Quote(q), err)
		}
		to = t.AddDate(0, 0, 1)
	}
	res, err := s.opts.Measures.EnergyMeasures(r.Context(), to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"measures": res})
	return nil
}

// addMeasure serves POST /api/v1/energy/measures with a measure as JSON.
func (s *Server) addMeasure(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Measures == nil {
		return errNotConfigured
	}
	var m energy.Measure
	if err := decodeJSON(r, &m); err != nil {
		return err
	}
	m, err := s.opts.Measures.AddEnergyMeasure(r.Context(), m)
	if errors.Is(err, energy.ErrInvalidMeasure) {
		return badRequest(err.Error(), err)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}
