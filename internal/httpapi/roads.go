package httpapi

import (
	"context"
	"net/http"
)

// RoadForecaster serves a road station's physics forecast with the
// measurements it was coupled to. The value is JSON-ready; a forecast that
// cannot be made (weather missing or stale) is still a value that says so,
// not an error.
type RoadForecaster interface {
	RoadForecast(ctx context.Context, site string) (any, error)
}

// ErrRoadNotFound is what a RoadForecaster returns for a site that is not a
// road station.
var ErrRoadNotFound = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such road station"}

func (s *Server) roadForecast(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Roads == nil {
		return errNotConfigured
	}
	v, err := s.opts.Roads.RoadForecast(r.Context(), r.PathValue("station"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
