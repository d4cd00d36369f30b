package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// TestPeakLoad feeds a main electricity meter at 40 kW with one quarter
// hour at 80 kW (readings every 5 min, so a quarter is three intervals):
// the alert fires once for that quarter and resolves with the next.
func TestPeakLoad(t *testing.T) {
	start := time.Date(2026, 1, 12, 10, 0, 0, 0, cet)
	meter := eui(sim.Devices("building-meters")[0])
	for _, q := range []measurement.Quantity{measurement.EnergyActiveImport, measurement.PowerActive} {
		t.Run(string(q), func(t *testing.T) {
			h := rulesHarness(t, RuleConfig{Name: "lastspitze", Kind: KindPeakLoad, LimitKW: 60, Quantity: string(q)}, start)
			reg := 15230.0
			for i := 0; i <= 24; i++ { // 10:00 .. 12:00
				at := start.Add(time.Duration(i) * 5 * time.Minute)
				kw := 40.0
				if !at.Before(start.Add(45*time.Minute)) && at.Before(start.Add(60*time.Minute)) {
					kw = 80 // the quarter 10:45-11:00 (power samples)
				}
				if q == measurement.PowerActive {
					h.feed(m(meter, q, kw*1000, at))
					continue
				}
				if i > 0 && !at.After(start.Add(60*time.Minute)) && at.After(start.Add(45*time.Minute)) {
					reg += 80.0 / 12 // the intervals ending 10:50, 10:55, 11:00
				} else if i > 0 {
					reg += 40.0 / 12
				}
				h.feed(m(meter, q, reg, at))
			}
			h.drain()
			id := "lastspitze/" + meter
			assert.Equal(t, []string{"firing warnung " + id, "resolved warnung " + id}, h.hook.notes())
			as := byReceiver(h.hook, "hook")
			require.Len(t, as, 2)
			assert.InDelta(t, 80, as[0].Value, 1e-6)
			assert.Equal(t, "2026-01-12 10:45-11:00", as[0].Info["quarter"])
			assert.Equal(t, start.Add(time.Hour), as[0].FiringSince.In(cet), "judged when the quarter ends")
			assert.Contains(t, as[0].Title, "Lastspitze 80 kW")
			assert.Contains(t, as[0].Text, "über der vertraglichen Leistungsgrenze 60,0 kW")
		})
	}
}
