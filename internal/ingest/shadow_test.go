package ingest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/loraedge/loraedge/internal/measurement"
)

// A payload that carries its own battery reading shadows the DevStatusAns
// battery of the same frame; the margin, and a battery reading at another
// time, stay.
func TestDevStatusShadowedByPayload(t *testing.T) {
	at := time.Date(2026, 1, 12, 23, 0, 0, 0, time.UTC)
	mac := []measurement.Measurement{
		{Quantity: measurement.DemodulationMargin, Value: 7, Time: at},
		{Quantity: measurement.BatteryPercent, Value: 90.1, Time: at},
	}
	app := []measurement.Measurement{{Quantity: measurement.BatteryPercent, Value: 97, Time: at}}
	got := withoutShadowed(mac, app)
	assert.Equal(t, []measurement.Measurement{mac[0]}, got)
	assert.Len(t, mac, 2, "the input is not changed")

	app[0].Time = at.Add(-time.Hour) // a historical reading in the payload
	assert.Equal(t, mac, withoutShadowed(mac, app))
}
