package main

import (
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"

	"github.com/loraedge/loraedge/internal/network"
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
}
