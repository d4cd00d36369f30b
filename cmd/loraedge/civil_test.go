package main

import (
	"context"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// A gauge tagged opendata publishes its level and rate, not the sensor's
// raw distance or battery; an untagged gauge publishes nothing.
func TestOpenDataGauges(t *testing.T) {
	pub, priv := lorawan.EUI64{0xaa, 1}, lorawan.EUI64{0xaa, 2}
	var devs []device.Device
	for i, e := range []lorawan.EUI64{pub, priv} {
		devs = append(devs, device.Device{DevEUI: e, Name: "LDDS75", Activation: device.OTAA, Class: device.ClassA, MACVersion: "1.0.3",
			Profile: "dragino/ldds75", Site: []string{"pegel-a", "pegel-b"}[i], AppKey: lorawan.AES128Key{1}})
	}
	reg, err := device.NewRegistry(devs)
	require.NoError(t, err)
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	now := time.Now().Truncate(time.Second)
	var ms []measurement.Measurement
	for _, e := range []lorawan.EUI64{pub, priv} {
		for _, q := range []measurement.Quantity{measurement.Distance, measurement.WaterLevel, measurement.WaterLevelRate, measurement.BatteryVoltage} {
			ms = append(ms, measurement.Measurement{Device: e.String(), Quantity: q, Value: 1, Unit: measurement.Units[q], Time: now})
		}
	}
	require.NoError(t, st.Append(context.Background(), ms))
	od := openData{cfg: config.OpenData{Licence: "dl-de/by-2-0"}, devices: reg, series: st, sites: []site.Site{
		{ID: "pegel-a", Name: "Pegel A", Kind: site.Gauge, GaugeSite: site.GaugeSite{River: "Rur", MountingHeight: 5}, Tags: []string{"opendata"}},
		{ID: "pegel-b", Name: "Pegel B", Kind: site.Gauge, GaugeSite: site.GaugeSite{MountingHeight: 5}},
	}}
	var got []string
	for _, s := range od.PublicSeries() {
		assert.Equal(t, pub.String(), s.Device)
		assert.Equal(t, "pegel-a", s.Site)
		assert.Equal(t, "dl-de/by-2-0", s.Licence)
		got = append(got, s.Title)
	}
	assert.ElementsMatch(t, []string{"Pegel A (Rur): water_level", "Pegel A (Rur): water_level_rate"}, got)
}
