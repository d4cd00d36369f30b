package httpapi

import (
	"net/http"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
)

// CivilService is what the civil-protection views take from the alert
// rules: a gauge's stages, stage in force, rate and forecast, and an
// area's occupancy, JSON-ready; false when no rule covers the site.
type CivilService interface {
	Gauge(site string) (any, bool)
	Area(site string) (any, bool)
}

// ErrSiteNotFound is the answer for a gauge or area that is not configured.
var ErrSiteNotFound = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such gauge or area"}

// civilView is one gauge or area: the site and what the rules know of it
// (null when no rule covers it).
type civilView struct {
	Site  site.Site `json:"site"`
	State any       `json:"state"`
}

func (s *Server) civilSites(kind site.Kind) []site.Site {
	var out []site.Site
	if s.opts.Sites == nil {
		return out
	}
	for _, st := range s.opts.Sites.Sites() {
		if st.Kind == kind {
			out = append(out, st)
		}
	}
	return out
}

func (s *Server) civilState(kind site.Kind, id string) any {
	if s.opts.Civil == nil {
		return nil
	}
	get := s.opts.Civil.Gauge
	if kind == site.Area {
		get = s.opts.Civil.Area
	}
	if v, ok := get(id); ok {
		return v
	}
	return nil
}

func (s *Server) civilList(kind site.Kind, key string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, _ *http.Request) error {
		out := []civilView{}
		for _, st := range s.civilSites(kind) {
			out = append(out, civilView{Site: st, State: s.civilState(kind, st.ID)})
		}
		writeJSON(w, http.StatusOK, map[string]any{key: out})
		return nil
	}
}

func (s *Server) civilSite(kind site.Kind, id string) (site.Site, error) {
	for _, st := range s.civilSites(kind) {
		if st.ID == id {
			return st, nil
		}
	}
	return site.Site{}, ErrSiteNotFound
}

// gauge serves one gauge with its level series (water_level of the
// site's devices; marked readings are not in the level series, see the
// raw distance): by default the 24 h up to its latest reading, so that a
// gauge that fell silent still shows its last day.
func (s *Server) gauge(w http.ResponseWriter, r *http.Request) error {
	st, err := s.civilSite(site.Gauge, r.PathValue("site"))
	if err != nil {
		return err
	}
	out := map[string]any{"site": st, "state": s.civilState(site.Gauge, st.ID), "series": []seriesView{}}
	if s.opts.Series == nil || s.opts.Devices == nil {
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	at := map[string]bool{}
	for _, d := range s.opts.Devices.List() {
		if d.Site == st.ID {
			at[d.DevEUI.String()] = true
		}
	}
	var keys []string
	for _, si := range s.opts.Series.Series() {
		if at[si.Device] && (si.Quantity == measurement.WaterLevel || si.Quantity == measurement.WaterLevelRate) {
			keys = append(keys, si.Key)
		}
	}
	q := r.URL.Query()
	var from, to time.Time
	if q.Get("from") == "" && q.Get("to") == "" && len(keys) > 0 {
		last, err := s.opts.Series.Last(r.Context(), keys)
		if err != nil {
			return err
		}
		for _, sr := range last {
			for _, p := range sr.Points {
				if p.Time.After(to) {
					to = p.Time
				}
			}
		}
		to = to.Add(time.Second)
		from = to.Add(-24 * time.Hour)
	} else if from, to, err = s.timeRange(q.Get("from"), q.Get("to"), 24*time.Hour); err != nil {
		return err
	}
	out["from"], out["to"] = from, to
	if len(keys) > 0 {
		got, err := s.opts.Series.Range(r.Context(), keys, from, to)
		if err != nil {
			return err
		}
		views := []seriesView{}
		for _, sr := range got {
			views = append(views, toView(sr))
		}
		out["series"] = views
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// area serves one area with its occupancy.
func (s *Server) area(w http.ResponseWriter, r *http.Request) error {
	st, err := s.civilSite(site.Area, r.PathValue("site"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, civilView{Site: st, State: s.civilState(site.Area, st.ID)})
	return nil
}
