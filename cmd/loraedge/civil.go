package main

import (
	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/httpapi"
)

// civilViews gives the API the alert rules' view of gauges and areas.
type civilViews struct{ eng *alert.Engine }

var _ httpapi.CivilService = civilViews{}

// Gauge is the first water_level rule's view of the gauge (rules sorted
// by name).
func (c civilViews) Gauge(id string) (any, bool) {
	for _, g := range c.eng.Gauges() {
		if g.Site == id {
			return g, true
		}
	}
	return nil, false
}

// Area is the first crowd rule's view of the area.
func (c civilViews) Area(id string) (any, bool) {
	for _, a := range c.eng.Areas() {
		if a.Site == id {
			return a, true
		}
	}
	return nil, false
}

// civilService is nil when alerts are off: the views then show the sites
// and their series without stages.
func (d *daemon) civilService() httpapi.CivilService {
	if d.alerts == nil {
		return nil
	}
	return civilViews{d.alerts}
}
