package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
)

// A reading that arrives after a newer one of its series (a county
// forwarder's queued frame, stored late after an outage) is judged as the
// past reading it is: it does not resolve the alert the newer reading
// fired; the next current reading does.
func TestLateReadingIsPast(t *testing.T) {
	start := time.Date(2026, 1, 13, 8, 0, 0, 0, cet)
	h, dev := co2Harness(t, start)
	h.feed(m(dev, measurement.CO2, 900, start))
	h.feed(m(dev, measurement.CO2, 1050, start.Add(20*time.Minute)))
	h.drain()
	require.Equal(t, []string{"firing warnung co2/" + dev + ":co2"}, h.hook.notes())

	h.clock.Set(start.Add(25 * time.Minute))
	h.e.process([]measurement.Measurement{m(dev, measurement.CO2, 600, start.Add(10*time.Minute))})
	h.drain()
	assert.Equal(t, []string{"firing warnung co2/" + dev + ":co2"}, h.hook.notes(), "the late reading resolves nothing")
	list := h.e.List(Filter{})
	require.Len(t, list, 1)
	assert.Equal(t, StateFiring, list[0].State)

	h.feed(m(dev, measurement.CO2, 700, start.Add(30*time.Minute)))
	h.drain()
	assert.Equal(t, []string{"firing warnung co2/" + dev + ":co2", "resolved warnung co2/" + dev + ":co2"}, h.hook.notes())
}
