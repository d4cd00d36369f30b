package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/gauge"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/site"
)

func TestFloodLevelWave(t *testing.T) {
	start := time.Date(2026, 1, 13, 0, 0, 0, 0, cet)
	at := func(h float64) time.Time { return start.Add(time.Duration(h * float64(time.Hour))) }
	assert.InDelta(t, 0.8, FloodLevel(0, start, at(0.5)), 1e-9)
	assert.InDelta(t, 2.0, FloodLevel(0, start, at(5)), 1e-9, "IW1 at +5 h")
	assert.InDelta(t, 3.0, FloodLevel(0, start, at(8+1.0/3)), 1e-9, "IW2 at +8 h 20")
	assert.InDelta(t, 3.8, FloodLevel(0, start, at(11)), 1e-9, "IW3 at +11 h")
	assert.InDelta(t, 4.1, FloodLevel(0, start, at(12)), 1e-9, "peak")
	assert.InDelta(t, 1.1, FloodLevel(0, start, at(24)), 1e-9, "falling 25 cm/h")
	assert.InDelta(t, 0.8, FloodLevel(0, start, at(26)), 1e-9, "back to base")
	// Downstream: 90 min later, 40 cm higher, its own stages.
	assert.InDelta(t, 2.4, FloodLevel(1, start, at(6.5)), 1e-9)
	assert.InDelta(t, 4.2, FloodLevel(1, start, at(12.5)), 1e-9)
	assert.Less(t, FloodLevel(1, start, at(22.5)), 2.35, "below IW1 minus hysteresis well before the day ends")
}

// The flood devices' payloads decode with the shipped profiles to the
// model's values: gauge levels within 5 mm (2 mm scatter, 1 mm steps),
// the two faults marked, the shelter filling beyond its capacity.
func TestFloodPayloadsDecode(t *testing.T) {
	reg, err := all.NewRegistry()
	require.NoError(t, err)
	set, err := profile.LoadDefault(reg, "")
	require.NoError(t, err)
	start := time.Date(2026, 1, 13, 0, 0, 0, 0, cet)
	var sites []site.Site
	for _, s := range floodSites {
		sites = append(sites, site.Site{ID: s.ID, Kind: site.Kind(s.Kind), GaugeSite: s.Gauge, Capacity: s.Capacity})
	}
	der := gauge.New(sites)
	devs := buildFlood(start)
	marked, peak := 0, 0.0
	counts := map[string]float64{}
	for tt := start; tt.Before(start.Add(24 * time.Hour)); tt = tt.Add(5 * time.Minute) {
		for _, d := range devs {
			if tt.Sub(start)%d.interval != 0 {
				continue
			}
			port, b, err := d.sensor.reading(tt)
			require.NoError(t, err)
			ms, _, err := set.Decode(d.dev.Profile, codec.Input{FPort: port, Bytes: b, RecvTime: tt}, d.dev.DevEUI.String())
			require.NoError(t, err)
			ms = der.Derive(d.dev.Site, ms)
			for _, m := range ms {
				switch m.Quantity {
				case measurement.Distance:
					if m.Invalid() {
						marked++
					}
				case measurement.WaterLevel:
					require.False(t, m.Invalid(), "no level from a marked reading")
					i := 0
					if d.dev.Site == "pegel-altstadt" {
						i = 1
					}
					assert.InDelta(t, FloodLevel(i, start, tt), m.Value, 0.005, "%s at %s", d.dev.Site, tt)
				case measurement.PeopleIn:
					counts[d.dev.Name+"/in"] = m.Value
				case measurement.PeopleOut:
					counts[d.dev.Name+"/out"] = m.Value
				}
			}
		}
		occ := 0.0
		for k, v := range counts {
			if k[len(k)-3:] == "/in" {
				occ += v
			} else {
				occ -= v
			}
		}
		peak = max(peak, occ)
	}
	assert.Equal(t, 2, marked, "the leaf and the branch echo")
	assert.Greater(t, peak, 350.0, "beyond the shelter's capacity")
	assert.Less(t, peak, 600.0) // 1.5/min for 4 h and 3/min of shuttles for 75 min: 585
}
