package main

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/profile"
)

type sessionMap map[lorawan.EUI64]network.SessionInfo

func (m sessionMap) Session(eui lorawan.EUI64) (network.SessionInfo, bool) {
	si, ok := m[eui]
	return si, ok
}

func TestMACViewFromSession(t *testing.T) {
	eui := lorawan.EUI64{1}
	m := macViews{sessionMap{eui: {DevEUI: eui, FCntUp: 41, NFCntDown: 7}}}
	v, ok := m.MACView(eui)
	assert.True(t, ok)
	assert.Equal(t, uint32(41), v.FCntUp)
	assert.Equal(t, uint32(7), v.NFCntDown)
	assert.NotNil(t, v.PendingCommands, "an empty list, not null")
	_, ok = m.MACView(lorawan.EUI64{2})
	assert.False(t, ok, "no session, no MAC view")
	assert.Nil(t, v.DataRate, "no uplink yet: no radio settings shown")

	pct := 80.0
	seen := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	m = macViews{sessionMap{eui: {DevEUI: eui, MAC: network.MACInfo{
		ADR: true, DR: 3, DataRate: "SF9BW125", TXPowerIndex: 2, TXPowerDBm: 12, NbTrans: 1,
		ADRMargin: 4.5, HasADRMargin: true,
		DevStatus:    &network.DevStatus{Battery: 204, BatteryPercent: &pct, Margin: 7, Time: seen},
		Pending:      []network.PendingMAC{{Command: "LinkADRReq", Sent: 1}},
		NotAnswering: []string{"RXTimingSetupReq"},
	}}}}
	v, ok = m.MACView(eui)
	require.True(t, ok)
	require.NotNil(t, v.DataRate)
	assert.Equal(t, 3, *v.DataRate)
	assert.Equal(t, 9, *v.SpreadingFactor)
	assert.Equal(t, 12, *v.TXPowerDBm)
	assert.Equal(t, 2, *v.TXPowerIndex)
	assert.True(t, *v.ADR)
	assert.InDelta(t, 4.5, *v.ADRMarginDB, 1e-9)
	assert.Equal(t, 7, *v.MarginDB)
	assert.InDelta(t, 80.0, *v.BatteryPercent, 1e-9)
	assert.Equal(t, seen, *v.DevStatusAt)
	assert.Equal(t, []string{"LinkADRReq"}, v.PendingCommands)
	assert.Equal(t, []string{"RXTimingSetupReq"}, v.NotAnswering)
}

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
