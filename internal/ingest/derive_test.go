package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/gauge"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/uplink"
)

// An LDDS75 at a gauge: its distance becomes a stored water level through
// the Deriver, with the site attached; a reading the sensor flags stays a
// marked distance without a level.
func TestGaugeLevelDerived(t *testing.T) {
	codecs, err := all.NewRegistry()
	require.NoError(t, err)
	profiles, err := profile.Load(codecs, profile.Embedded())
	require.NoError(t, err)
	eui := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 9}
	devs, err := device.NewRegistry([]device.Device{{DevEUI: eui, Activation: device.ABP, Profile: "dragino/ldds75", Site: "pegel",
		DevAddr: lorawan.DevAddr{1, 2, 3, 9}, NwkSKey: lorawan.AES128Key{1}, AppSKey: lorawan.AES128Key{1}}})
	require.NoError(t, err)
	st, err := store.Open(store.Options{Dir: t.TempDir(), Config: store.Config{CommitInterval: 10 * time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	obs := &recorder{}
	der := gauge.New([]site.Site{{ID: "pegel", Kind: site.Gauge, GaugeSite: site.GaugeSite{MountingHeight: 5}}})
	ing, err := New(Options{Devices: devs, Profiles: profiles, Store: st, Observers: []Observer{obs}, Derive: der})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ing.Run(ctx) }()
	at := time.Date(2026, 1, 13, 5, 0, 0, 0, time.UTC)
	// 3.000 m to the water, then 0.200 m (below the range: flagged).
	require.NoError(t, ing.HandleUplink(ctx, uplink.Uplink{DevEUI: eui, FPort: 2, Payload: []byte{0x0e, 0x10, 0x0b, 0xb8, 0, 0, 0x2d, 1}, Time: at}))
	require.NoError(t, ing.HandleUplink(ctx, uplink.Uplink{DevEUI: eui, FPort: 2, Payload: []byte{0x0e, 0x10, 0x00, 0xc8, 0, 0, 0x2d, 1}, Time: at.Add(10 * time.Minute)}))
	require.Eventually(t, func() bool { return obs.count() == 5 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	var levels, marked int
	for _, m := range obs.ms {
		switch m.Quantity {
		case measurement.WaterLevel:
			levels++
			assert.InDelta(t, 2.0, m.Value, 1e-9)
			assert.Equal(t, "pegel", m.Meta["site"])
		case measurement.Distance:
			if m.Invalid() {
				marked++
				assert.InDelta(t, 0.2, m.Value, 1e-9, "kept as read")
			}
		}
	}
	assert.Equal(t, 1, levels)
	assert.Equal(t, 1, marked)
}
