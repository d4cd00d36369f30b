package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// civil answers for one gauge and one area, as cmd's adapter does from
// the alert rules.
type civil struct{}

func (civil) Gauge(id string) (any, bool) {
	return map[string]any{"stage": "IW2", "rate_cm_h": 30}, id == "pegel-a"
}

func (civil) Area(id string) (any, bool) {
	return map[string]any{"occupancy": 412}, id == "halle"
}

func TestGaugeAndAreaRoutes(t *testing.T) {
	eui := lorawan.EUI64{1, 2, 3, 4, 5, 6, 7, 8}
	devs, err := device.NewRegistry([]device.Device{{DevEUI: eui, Activation: device.OTAA, Class: device.ClassA, MACVersion: "1.0.3",
		Profile: "dragino/ldds75", Site: "pegel-a", AppKey: lorawan.AES128Key{1}}})
	require.NoError(t, err)
	st, err := store.Open(store.Options{Dir: t.TempDir(), Config: store.Config{CommitInterval: 5 * time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	// A week-old flood: the default window ends at the latest reading.
	t0 := time.Now().Add(-7 * 24 * time.Hour).Truncate(time.Minute)
	var ms []measurement.Measurement
	for i := range 30 {
		at := t0.Add(time.Duration(i) * time.Hour)
		ms = append(ms, measurement.Measurement{Device: eui.String(), Quantity: measurement.WaterLevel, Value: 1 + 0.1*float64(i), Unit: "m", Time: at},
			measurement.Measurement{Device: eui.String(), Quantity: measurement.Distance, Value: 5 - 0.1*float64(i), Unit: "m", Time: at})
	}
	require.NoError(t, st.Append(context.Background(), ms))
	gs := []site.Site{
		{ID: "pegel-a", Name: "Pegel A", Kind: site.Gauge, GaugeSite: site.GaugeSite{River: "Rur", MountingHeight: 6}},
		{ID: "pegel-b", Name: "Pegel B", Kind: site.Gauge, GaugeSite: site.GaugeSite{River: "Rur", MountingHeight: 4}},
		{ID: "halle", Name: "Halle", Kind: site.Area, Capacity: 400},
		{ID: "k23", Name: "K 23", Kind: site.Road},
	}
	s, err := New(Options{Config: Config{ReadToken: readTok}, Sites: sites(gs), Devices: devs, Series: st, Civil: civil{}})
	require.NoError(t, err)
	get := func(path string, v any) int {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+readTok)
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, req)
		if v != nil {
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), v), rec.Body.String())
		}
		return rec.Code
	}
	var list struct {
		Gauges []struct {
			Site  site.Site      `json:"site"`
			State map[string]any `json:"state"`
		} `json:"gauges"`
	}
	require.Equal(t, http.StatusOK, get("/api/v1/gauges", &list))
	require.Len(t, list.Gauges, 2)
	assert.Equal(t, "Rur", list.Gauges[0].Site.River)
	assert.Equal(t, "IW2", list.Gauges[0].State["stage"])
	assert.Nil(t, list.Gauges[1].State, "no rule covers pegel-b")

	var one struct {
		State  map[string]any `json:"state"`
		Series []seriesView   `json:"series"`
		From   time.Time      `json:"from"`
		To     time.Time      `json:"to"`
	}
	require.Equal(t, http.StatusOK, get("/api/v1/gauges/pegel-a", &one))
	require.Len(t, one.Series, 1, "the level, not the raw distance")
	assert.Equal(t, measurement.WaterLevel, one.Series[0].Quantity)
	assert.Len(t, one.Series[0].Points, 24, "the 24 h up to the latest reading")
	assert.InDelta(t, 3.9, one.Series[0].Points[23].Value, 1e-9)
	require.Equal(t, http.StatusOK, get("/api/v1/gauges/pegel-a?from="+t0.Format(time.RFC3339)+"&to="+t0.Add(5*time.Hour).Format(time.RFC3339), &one))
	assert.Len(t, one.Series[0].Points, 5)
	assert.Equal(t, http.StatusBadRequest, get("/api/v1/gauges/pegel-a?from=yesterday", nil))
	assert.Equal(t, http.StatusNotFound, get("/api/v1/gauges/k23", nil), "a road is no gauge")

	var areas struct {
		Areas []civilView `json:"areas"`
	}
	require.Equal(t, http.StatusOK, get("/api/v1/areas", &areas))
	require.Len(t, areas.Areas, 1)
	assert.Equal(t, 400, areas.Areas[0].Site.Capacity)
	var area struct {
		State map[string]any `json:"state"`
	}
	require.Equal(t, http.StatusOK, get("/api/v1/areas/halle", &area))
	assert.InDelta(t, 412, area.State["occupancy"], 1e-9)
	assert.Equal(t, http.StatusNotFound, get("/api/v1/areas/nope", nil))
}
