package influx

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
)

// A reading the sensor flagged invalid keeps its raw value and carries the
// quality tag, so dashboards can leave it out; normal readings have none.
func TestAppendLineQuality(t *testing.T) {
	tm := time.Date(2026, 1, 5, 6, 7, 8, 9, time.UTC)
	m := measurement.Measurement{Device: "d", Quantity: measurement.Distance, Value: 0, Unit: "m", Time: tm,
		Meta: map[string]string{measurement.MetaQuality: measurement.QualityInvalid, "site": "Pegel Nord"}}
	b, ok := appendLine(nil, m, "gw1")
	require.True(t, ok)
	assert.Equal(t, `hydro,device=d,gateway=gw1,quality=invalid,site=Pegel\ Nord,unit=m distance=0 1767593228000000009`, string(b))
	m.Meta = map[string]string{"site": "Pegel Nord"}
	b, ok = appendLine(nil, m, "gw1")
	require.True(t, ok)
	assert.NotContains(t, string(b), "quality")
}
