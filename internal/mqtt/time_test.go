package mqtt

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The store keeps the millisecond of points that share a second (issue 19);
// the measurement message carries it as RFC 3339 with a fraction.
func TestMeasurementMessageKeepsSubSecondTime(t *testing.T) {
	at := time.Date(2026, 11, 23, 8, 0, 1, 340_000_000, time.UTC)
	b, err := json.Marshal(MeasurementMessage{ID: "1-0", Device: "d", Quantity: "air_temperature", Value: 1, Time: at})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"time":"2026-11-23T08:00:01.34Z"`)
	var back MeasurementMessage
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, at, back.Time)
}
