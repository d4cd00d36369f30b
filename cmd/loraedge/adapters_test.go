package main

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/profile"
)

// The network gets each device's ADR switch and bounds from its profile,
// and the reloaded profiles after SIGHUP.
func TestADRPolicyFromProfile(t *testing.T) {
	reg, err := all.NewRegistry()
	require.NoError(t, err)
	const body = "vendor: a\nmodel: b\ncodec: {id: layout, options: {fport: 1, fields: [{name: a, offset: 0, type: u8}]}}\nmeasurements: [{field: a, quantity: air_temperature}]\n"
	load := func(lorawan string) *profile.Set {
		s, err := profile.LoadFS(fstest.MapFS{"acme/x.yaml": {Data: []byte(body + lorawan)}}, "test", reg)
		require.NoError(t, err)
		return s
	}
	def := adr.DefaultLimits(adr.EU868())
	var p adrPolicy
	on, l := p.ADRLimits(device.Device{Profile: "acme/x"}, def)
	assert.True(t, on, "no profiles yet")
	assert.Equal(t, def, l)

	p.profiles.Store(load("lorawan: {adr_max_dr: 3, adr_margin_db: 15}\n"))
	on, l = p.ADRLimits(device.Device{Profile: "acme/x"}, def)
	assert.True(t, on)
	assert.Equal(t, adr.Limits{MinDR: 0, MaxDR: 3, Margin: 15, MaxNbTrans: def.MaxNbTrans}, l)
	on, l = p.ADRLimits(device.Device{Profile: "other/y"}, def)
	assert.True(t, on, "unknown profile: the network's defaults")
	assert.Equal(t, def, l)

	p.profiles.Store(load("lorawan: {adr: off}\n"))
	on, _ = p.ADRLimits(device.Device{Profile: "acme/x"}, def)
	assert.False(t, on, "the reloaded profile turns ADR off")
}
