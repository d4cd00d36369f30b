package alert

import (
	"context"
	"fmt"
	"time"
)

// RoadForecasts gives a road site's physics forecast (internal/roadcast
// driven by MOSMIX, as cmd wires it).
type RoadForecasts interface {
	IceOutlook(ctx context.Context, site string, now time.Time) IceOutlook
}

// IceOutlook is what the ice rule takes from a physics forecast.
type IceOutlook struct {
	// Usable says a fresh weather forecast ran through the road model;
	// otherwise Note says why not and the rule stays on its trend.
	Usable bool
	Note   string
	NoteDE string // the same in German, for German receivers
	// Source names the forecast ("mosmix+roadcast"), Issued is the weather
	// forecast's issue time.
	Source string
	Issued time.Time
	// Risk is the first forecast time with ice risk; zero: none in 12 h.
	Risk time.Time
}

// defaultForecastLead is how far ahead forecast ice risk raises a
// Vorwarnung: a spreading route takes 2-3 h.
const defaultForecastLead = 3 * time.Hour

// forecastHold is the hysteresis of a forecast Vorwarnung: once raised it
// holds until the risk lies this much beyond the lead, so forecasts that
// move the risk back and forth across the lead do not make it flap.
const forecastHold = 30 * time.Minute

// withOutlook adds the physics forecast to an ice condition at reading time
// t: its source and issue time, the risk's local time and lead ("Glättegefahr
// ab 03:40, in 2 h 10 min"), and a Vorwarnung when the risk is within the
// lead and the measurements alone give less. Without a usable forecast the
// condition says the trend forecast was used, and why.
func (ev *iceEval) withOutlook(c condition, id string, t time.Time) condition {
	rf := ev.env.roadForecasts()
	if rf == nil {
		c.Info["forecast_source"] = "trend"
		return c
	}
	ol := rf.IceOutlook(context.Background(), id, t)
	if !ol.Usable {
		ev.setForecastWarn(id, false)
		c.Info["forecast_source"] = "trend"
		c.Info["forecast_note"] = ol.Note
		if ol.NoteDE != "" {
			c.Info["forecast_note_de"] = ol.NoteDE
		}
		return c
	}
	loc := ev.env.location()
	c.Info["forecast_source"] = ol.Source
	c.Info["forecast_issued"] = ol.Issued.In(loc).Format("02.01. 15:04")
	if ol.Risk.IsZero() {
		ev.setForecastWarn(id, false)
		return c
	}
	lead := max(ol.Risk.Sub(t), 0)
	c.Info["ice_risk_at"] = ol.Risk.In(loc).Format("15:04")
	c.Info["ice_risk_in"] = formatLead(lead)
	c.Values["ice_risk_in_min"] = lead.Minutes()
	limit := cmp(ev.r.cfg.Ice.ForecastLead, defaultForecastLead)
	if s := ev.st[id]; s != nil && s.ForecastWarn {
		limit += forecastHold
	}
	warn := lead <= limit
	ev.setForecastWarn(id, warn)
	if warn && c.Level < LevelVorwarnung {
		c.Level, c.Active = LevelVorwarnung, true
		c.Info["reasons"] = joinReason(c.Info["reasons"], "physics_forecast_ice_risk")
	}
	return c
}

// setForecastWarn remembers, with the site's state, whether the forecast
// holds a Vorwarnung.
func (ev *iceEval) setForecastWarn(id string, warn bool) {
	if s := ev.st[id]; s != nil && s.ForecastWarn != warn {
		s.ForecastWarn = warn
		ev.chg = true
	}
}

// formatLead writes a lead time as "2 h 10 min" or "40 min" (the same in
// German and English).
func formatLead(d time.Duration) string {
	m := int(d.Round(time.Minute).Minutes())
	if m < 60 {
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

func joinReason(reasons, r string) string {
	if reasons == "" {
		return r
	}
	return reasons + "," + r
}
