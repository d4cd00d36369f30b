package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/mosmix"
	"github.com/loraedge/loraedge/internal/roadcast"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// couplingSpan is how much of a station's history the model is coupled to.
const couplingSpan = 3 * time.Hour

// roadForecasts makes a road site's physics forecast on request: the last
// 3 h of the site's readings from the store, the weather of its
// mosmix_station from the source.
type roadForecasts struct {
	sites   []site.Site
	devices *device.Registry
	series  *store.Store
	source  roadcast.Source // nil: roadcast is disabled
	now     func() time.Time
}

var (
	_ httpapi.RoadForecaster = roadForecasts{}
	_ alert.RoadForecasts    = roadForecasts{}
)

// roadForecastView is the API's answer. Without usable weather it has no
// points and Note says why: a stale or missing forecast is visible, never
// silently replaced.
type roadForecastView struct {
	Site         string            `json:"site"`
	Source       string            `json:"source"`
	Weather      *roadcast.Weather `json:"weather,omitempty"`
	Note         string            `json:"note,omitempty"`
	NoteDE       string            `json:"note_de,omitempty"`
	Forecast     *roadcast.Result  `json:"forecast,omitempty"`
	IceRiskInMin *float64          `json:"ice_risk_in_min,omitempty"`
	Measured     []measuredPoint   `json:"measured"`
}

type measuredPoint struct {
	Time     time.Time `json:"time"`
	FBT      float64   `json:"road_surface_temperature"`
	DewPoint float64   `json:"dew_point"`
}

func (rf roadForecasts) RoadForecast(ctx context.Context, id string) (any, error) {
	return rf.forecast(ctx, id, rf.now())
}

// IceOutlook is the ice rule's view of the forecast at a reading's time.
func (rf roadForecasts) IceOutlook(ctx context.Context, id string, now time.Time) alert.IceOutlook {
	if rf.source == nil {
		// No store read per reading for nothing.
		return alert.IceOutlook{Note: "roadcast is disabled", NoteDE: "Physik-Vorhersage ist abgeschaltet"}
	}
	v, err := rf.forecast(ctx, id, now)
	switch {
	case err != nil:
		return alert.IceOutlook{Note: err.Error(), NoteDE: "Vorhersage fehlgeschlagen: " + err.Error()}
	case v.Forecast == nil:
		return alert.IceOutlook{Note: v.Note, NoteDE: v.NoteDE}
	}
	return alert.IceOutlook{Usable: true, Source: v.Source, Issued: v.Weather.Issued, Risk: v.Forecast.Risk}
}

func (rf roadForecasts) forecast(ctx context.Context, id string, now time.Time) (roadForecastView, error) {
	i := slices.IndexFunc(rf.sites, func(s site.Site) bool { return s.ID == id && s.Kind == site.Road })
	if i < 0 {
		return roadForecastView{}, httpapi.ErrRoadNotFound
	}
	st := rf.sites[i]
	obs, freezing, err := rf.observations(ctx, st, now)
	if err != nil {
		return roadForecastView{}, err
	}
	v := roadForecastView{Site: id, Source: "none", Measured: make([]measuredPoint, 0, len(obs))}
	for _, o := range obs {
		v.Measured = append(v.Measured, measuredPoint{Time: o.Time, FBT: o.SurfaceTemperature, DewPoint: o.DewPoint})
	}
	switch {
	case rf.source == nil:
		v.Note, v.NoteDE = "roadcast is disabled (roadcast.enabled)", "Physik-Vorhersage ist abgeschaltet (roadcast.enabled)"
		return v, nil
	case st.MosmixStation == "":
		v.Note, v.NoteDE = "the site has no mosmix_station", "der Station ist keine MOSMIX-Station zugeordnet (mosmix_station)"
		return v, nil
	}
	w, err := rf.source.Weather(ctx, st.MosmixStation, now)
	v.Weather = &w
	switch {
	case errors.Is(err, roadcast.ErrNoWeather):
		v.Note = fmt.Sprintf("no MOSMIX forecast for station %s yet", st.MosmixStation)
		v.NoteDE = fmt.Sprintf("noch keine MOSMIX-Vorhersage für Station %s", st.MosmixStation)
		return v, nil
	case err != nil:
		return roadForecastView{}, err
	case w.State != roadcast.Fresh:
		v.Note = fmt.Sprintf("MOSMIX forecast issued %s is %s", w.Issued.Format(time.RFC3339), w.State)
		state := map[roadcast.Freshness]string{roadcast.Stale: "veraltet", roadcast.Missing: "nicht vorhanden"}[w.State]
		if state == "" {
			state = string(w.State)
		}
		v.NoteDE = fmt.Sprintf("MOSMIX-Vorhersage von %s ist %s", w.Issued.Format(time.RFC3339), state)
		return v, nil
	}
	res, err := roadcast.Forecast(roadcast.Input{Station: roadcast.Station{Lat: st.Lat, Lon: st.Lon}, Start: now,
		Weather: w.Hours, Observations: obs, Params: roadcast.Params{FreezingTemperature: freezing}})
	if err != nil {
		v.Note = "the model rejected its input: " + err.Error()
		v.NoteDE = "das Fahrbahnmodell hat seine Eingaben abgelehnt: " + err.Error()
		return v, nil
	}
	v.Source, v.Forecast = "mosmix+roadcast", &res
	if lead, ok := res.Lead(now); ok {
		m := lead.Minutes()
		v.IceRiskInMin = &m
	}
	return v, nil
}

// observations reads the site's road-station series of the coupling span.
func (rf roadForecasts) observations(ctx context.Context, st site.Site, now time.Time) ([]roadcast.Observation, float64, error) {
	onSite := map[string]bool{}
	for _, d := range rf.devices.List() {
		if d.Site == st.ID {
			onSite[d.DevEUI.String()] = true
		}
	}
	var r roadcast.Readings
	var freezing []roadcast.Sample
	target := map[measurement.Quantity]*[]roadcast.Sample{
		measurement.RoadSurfaceTemperature: &r.FBT, measurement.AirTemperature: &r.Air,
		measurement.DewPoint: &r.DewPoint, measurement.RelativeHumidity: &r.RH, measurement.WindSpeed: &r.Wind,
		measurement.RoadSubsurfaceTemperature: &r.Subsurface, measurement.RoadSurfaceState: &r.State,
		measurement.FreezingTemperature: &freezing,
	}
	var keys []string
	for _, si := range rf.series.Series() {
		if _, ok := target[si.Quantity]; ok && onSite[si.Device] {
			keys = append(keys, si.Key)
		}
	}
	series, err := rf.series.Range(ctx, keys, now.Add(-couplingSpan), now.Add(time.Nanosecond))
	if err != nil {
		return nil, 0, fmt.Errorf("road forecast %s: %w", st.ID, err)
	}
	for _, s := range series {
		dst := target[s.Quantity]
		for _, p := range s.Points {
			*dst = append(*dst, roadcast.Sample{Time: p.Time, Value: p.Value})
		}
	}
	return r.Observations(), freezingPoint(freezing), nil
}

// freezingPoint is the freezing temperature of the water on the road: the
// latest measured one (salt lowers it; brine diluted by rain raises it
// again), never above 0 degC; 0 without a sensor.
func freezingPoint(samples []roadcast.Sample) float64 {
	var latest roadcast.Sample
	for _, s := range samples {
		if s.Time.After(latest.Time) && !math.IsNaN(s.Value) {
			latest = s
		}
	}
	return min(latest.Value, 0)
}

// buildRoadcast creates the MOSMIX fetcher for the road sites that name a
// station, when roadcast is enabled.
func (d *daemon) buildRoadcast() error {
	cfg := d.cfg
	if !cfg.Roadcast.Enabled {
		return nil
	}
	var stations []string
	for _, s := range cfg.Sites {
		if s.Kind == site.Road && s.MosmixStation != "" && !slices.Contains(stations, s.MosmixStation) {
			stations = append(stations, s.MosmixStation)
		}
	}
	f, err := mosmix.NewFetcher(cfg.Roadcast, stations, filepath.Join(cfg.DataDir, "mosmix"), nil, d.log)
	if err != nil {
		return err
	}
	d.mosmix = f
	return nil
}

// roadForecasts serves the API and the ice rules.
func (d *daemon) roadForecasts() roadForecasts {
	rf := roadForecasts{sites: d.cfg.Sites, devices: d.devices, series: d.store, now: d.now}
	switch {
	case d.mosmix != nil:
		rf.source = d.mosmix
	case d.cfg.Simulator.Enabled:
		rf.source = sim.Weather{} // the simulated stations' MOSMIX, so make run shows forecasts
	}
	return rf
}
