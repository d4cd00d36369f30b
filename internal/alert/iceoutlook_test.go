package alert

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// outlooks answers as cmd's roadcast adapter does, with what the test set.
type outlooks struct {
	mu sync.Mutex
	ol IceOutlook
}

func (o *outlooks) IceOutlook(context.Context, string, time.Time) IceOutlook {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ol
}

func (o *outlooks) set(ol IceOutlook) { o.mu.Lock(); o.ol = ol; o.mu.Unlock() }

// A dry road at +5 degC gives the tracker nothing; the physics forecast's
// ice risk within 3 h is a Vorwarnung with its time and lead, its source
// and issue time. Without a usable forecast the message says the trend was
// used and why.
func TestIceVorwarnungFromPhysicsForecast(t *testing.T) {
	start := time.Date(2026, 1, 12, 19, 0, 0, 0, cet)
	ol := &outlooks{}
	ol.set(IceOutlook{Note: "MOSMIX forecast is stale"})
	h := newHarness(t, winterConfig(), "winter-night", start, func(o *Options) { o.Roads = ol })
	dev := eui(sim.Devices("winter-night")[0])
	warm := func(at time.Time) {
		h.feed(m(dev, measurement.RoadSurfaceTemperature, 5, at), m(dev, measurement.AirTemperature, 6, at),
			m(dev, measurement.RelativeHumidity, 60, at), m(dev, measurement.RoadSurfaceState, 0, at))
		h.tick(at.Add(time.Minute))
	}
	warm(start)
	h.drain()
	assert.Empty(t, h.e.List(Filter{Rule: "glaette"}), "stale forecast: no forecast Vorwarnung")

	issued := time.Date(2026, 1, 12, 15, 0, 0, 0, time.UTC)
	at := start.Add(10 * time.Minute)
	ol.set(IceOutlook{Usable: true, Source: "mosmix+roadcast", Issued: issued, Risk: at.Add(2*time.Hour + 10*time.Minute)})
	warm(at)
	h.drain()
	firing := h.e.List(Filter{Rule: "glaette"})
	require.Len(t, firing, 1)
	a := firing[0]
	assert.Equal(t, LevelVorwarnung, a.Level)
	assert.Equal(t, "21:20", a.Info["ice_risk_at"], "local time")
	assert.Equal(t, "2 h 10 min", a.Info["ice_risk_in"])
	assert.Equal(t, "mosmix+roadcast", a.Info["forecast_source"])
	assert.Equal(t, "12.01. 16:00", a.Info["forecast_issued"])
	assert.Contains(t, a.Info["reasons"], "physics_forecast_ice_risk")
	var de string
	for _, x := range byReceiver(h.hook, "winterdienst") {
		if x.Rule == "glaette" && x.Notification == "firing" {
			de = x.Text
		}
	}
	assert.Contains(t, de, "Glättegefahr ab 21:20, in 2 h 10 min")
	assert.Contains(t, de, "Vorhersage: mosmix+roadcast, ausgegeben 12.01. 16:00")

	// a new forecast moves the risk a little beyond the lead (3 h 20 min
	// from the reading): the Vorwarnung holds, no flapping
	next := start.Add(20 * time.Minute)
	ol.set(IceOutlook{Usable: true, Source: "mosmix+roadcast", Issued: issued, Risk: next.Add(3*time.Hour + 20*time.Minute)})
	warm(next)
	h.drain()
	firing = h.e.List(Filter{Rule: "glaette"})
	require.Len(t, firing, 1)
	assert.Equal(t, StateFiring, firing[0].State, "within the 30 min hold")
	assert.Equal(t, "3 h 20 min", firing[0].Info["ice_risk_in"])

	// the risk moves well beyond the lead: the forecast Vorwarnung ends
	ol.set(IceOutlook{Usable: true, Source: "mosmix+roadcast", Issued: issued, Risk: at.Add(6 * time.Hour)})
	for i := 3; i < 9; i++ {
		warm(start.Add(time.Duration(i) * 10 * time.Minute))
	}
	h.drain()
	for _, a := range h.e.List(Filter{Rule: "glaette"}) {
		assert.NotEqual(t, StateFiring, a.State, "risk in %s", a.Info["ice_risk_in"])
	}
}
