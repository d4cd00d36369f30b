package roadcast

import (
	"context"
	"errors"
	"time"
)

// Freshness is how current a weather forecast is.
type Freshness string

// Freshness states. A stale forecast is still returned, so a caller can show
// it, but it must say so; a missing one is an error.
const (
	Fresh   Freshness = "fresh"
	Stale   Freshness = "stale"
	Missing Freshness = "missing"
)

// Weather is a point forecast for one station as a source delivers it.
type Weather struct {
	// Source names the product, e.g. "mosmix".
	Source string `json:"source"`
	// Station is the source's station id.
	Station string `json:"station"`
	// Issued is the product's issue time, Fetched when it was received.
	Issued  time.Time `json:"issued"`
	Fetched time.Time `json:"fetched"`
	State   Freshness `json:"state"`
	Hours   []Hour    `json:"-"`
}

// Source delivers point forecasts: DWD MOSMIX, the simulator's sky, or any
// other product converted to Hour values.
type Source interface {
	Weather(ctx context.Context, station string, now time.Time) (Weather, error)
}

// ErrNoWeather reports that a source has no forecast for a station.
var ErrNoWeather = errors.New("no weather forecast")
