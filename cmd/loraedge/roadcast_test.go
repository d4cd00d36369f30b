package main

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/mosmix"
	"github.com/loraedge/loraedge/internal/roadcast"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// A road site's forecast from the store's readings and a MOSMIX product
// fetched over HTTP: a clear night over a wet road at +3 degC brings ice.
func TestRoadForecastFromStoreAndMOSMIX(t *testing.T) {
	now := time.Date(2026, 12, 14, 18, 0, 0, 0, time.UTC)
	eui := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 9}
	devs, err := device.NewRegistry([]device.Device{{DevEUI: eui, Activation: device.OTAA, AppKey: lorawan.AES128Key{1}, Profile: "generic/road-station", Site: "k23"}})
	require.NoError(t, err)
	st, err := store.Open(store.Options{Dir: filepath.Join(t.TempDir(), "store"), Config: store.Config{CommitInterval: time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	var ms []measurement.Measurement
	for m := -170; m <= 0; m += 10 {
		at := now.Add(time.Duration(m) * time.Minute)
		add := func(q measurement.Quantity, v float64) {
			ms = append(ms, measurement.Measurement{Device: eui.String(), Quantity: q, Value: v, Unit: measurement.Units[q], Time: at})
		}
		add(measurement.RoadSurfaceTemperature, 3)
		add(measurement.AirTemperature, 3)
		add(measurement.RelativeHumidity, 93)
		add(measurement.RoadSurfaceState, 32)
	}
	require.NoError(t, st.Append(context.Background(), ms))

	var hours []roadcast.Hour
	for i := -3; i <= 13; i++ {
		ta := 3 - 7*math.Max(float64(i), 0)/12
		hours = append(hours, roadcast.Hour{Time: now.Add(time.Duration(i) * time.Hour), AirTemperature: ta, DewPoint: ta - 1,
			WindSpeed: 1, CloudCover: 0, Pressure: 1010, SWDown: math.NaN(), LWDown: math.NaN()})
	}
	kmz, err := mosmix.EncodeKMZ(mosmix.FromHours("10430", 51.78, 8.82, now.Add(-3*time.Hour), hours))
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(kmz) }))
	t.Cleanup(srv.Close)
	cfg := mosmix.DefaultConfig()
	cfg.URL = srv.URL + "/{station}.kmz"
	f, err := mosmix.NewFetcher(cfg, []string{"10430"}, t.TempDir(), nil, nil)
	require.NoError(t, err)

	sites := []site.Site{{ID: "k23", Kind: site.Road, Lat: 51.7, Lon: 8.7, MosmixStation: "10430"}, {ID: "gs", Kind: site.Building}}
	rf := roadForecasts{sites: sites, devices: devs, series: st, source: f, now: func() time.Time { return now }}

	v, err := rf.RoadForecast(context.Background(), "k23")
	require.NoError(t, err)
	view := v.(roadForecastView)
	assert.Equal(t, "none", view.Source)
	assert.Equal(t, roadcast.Missing, view.Weather.State)
	assert.Contains(t, view.Note, "no MOSMIX forecast")
	assert.Len(t, view.Measured, 18)

	require.NoError(t, f.FetchAll(context.Background()))
	v, err = rf.RoadForecast(context.Background(), "k23")
	require.NoError(t, err)
	view = v.(roadForecastView)
	require.Equal(t, "mosmix+roadcast", view.Source, view.Note)
	assert.Equal(t, roadcast.Fresh, view.Weather.State)
	require.NotNil(t, view.Forecast)
	assert.True(t, view.Forecast.Coupled)
	assert.InDelta(t, 3, view.Forecast.Points[0].SurfaceTemperature, 0.01)
	require.NotNil(t, view.IceRiskInMin, "a wet road under a clearing sky falling to -4 degC air")
	assert.Greater(t, *view.IceRiskInMin, 30.0)
	ol := rf.IceOutlook(context.Background(), "k23", now)
	assert.True(t, ol.Usable)
	assert.Equal(t, "mosmix+roadcast", ol.Source)
	assert.True(t, ol.Risk.Equal(view.Forecast.Risk))
	assert.True(t, ol.Issued.Equal(now.Add(-3*time.Hour)))

	rf.now = func() time.Time { return now.Add(16 * time.Hour) }
	v, err = rf.RoadForecast(context.Background(), "k23")
	require.NoError(t, err)
	view = v.(roadForecastView)
	assert.Equal(t, roadcast.Stale, view.Weather.State)
	assert.Nil(t, view.Forecast, "a stale forecast is shown as stale, not used")
	ol = rf.IceOutlook(context.Background(), "k23", now.Add(16*time.Hour))
	assert.False(t, ol.Usable)
	assert.Contains(t, ol.Note, "stale")

	_, err = rf.RoadForecast(context.Background(), "gs")
	require.ErrorIs(t, err, httpapi.ErrRoadNotFound)

	off := rf
	off.source, off.now = nil, func() time.Time { return now }
	v, err = off.RoadForecast(context.Background(), "k23")
	require.NoError(t, err)
	assert.Contains(t, v.(roadForecastView).Note, "disabled")
	assert.Len(t, v.(roadForecastView).Measured, 18, "the readings show without a forecast")
	assert.False(t, off.IceOutlook(context.Background(), "k23", now).Usable)
}

// The model takes the road's measured freezing temperature: the latest
// reading, never above 0 degC, 0 without a sensor.
func TestFreezingPoint(t *testing.T) {
	t0 := time.Date(2026, 1, 12, 20, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		samples []roadcast.Sample
		want    float64
	}{
		{"no sensor", nil, 0},
		{"salted, latest wins", []roadcast.Sample{{Time: t0.Add(10 * time.Minute), Value: -2.5}, {Time: t0, Value: -6}}, -2.5},
		{"diluted brine above 0 reads as water", []roadcast.Sample{{Time: t0, Value: 0.3}}, 0},
		{"a NaN reading is skipped", []roadcast.Sample{{Time: t0, Value: -4}, {Time: t0.Add(time.Minute), Value: math.NaN()}}, -4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.want, freezingPoint(tc.samples), 1e-9)
		})
	}
}
