package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/uplink"
)

// countyFrames reads a node's frame log through the API.
func countyFrames(t *testing.T, n *countyNode, query string) []uplink.FrameEvent {
	t.Helper()
	code, body := apiGet(t, n.d.http, n.d.token)("/api/v1/frames?" + query)
	require.Equal(t, http.StatusOK, code, body)
	var out struct{ Frames []uplink.FrameEvent }
	require.NoError(t, json.Unmarshal([]byte(body), &out), body)
	return out.Frames
}

// checkCountyFrameLog: after b's device sent confirmed FCnt 2, heard best
// by a's gateway, a's frame log shows the frame forwarded to b and b's
// answer; b's shows a's gateway as a's and the ACK sent through it with
// a's XmitDataAns result.
func checkCountyFrameLog(t *testing.T, a, b *countyNode, addr lorawan.DevAddr, devEUI string) {
	t.Helper()
	gwA := lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 1}.String()
	find := func(evs []uplink.FrameEvent, ok func(uplink.FrameEvent) bool) (uplink.FrameEvent, bool) {
		for _, ev := range evs {
			if ok(ev) {
				return ev, true
			}
		}
		return uplink.FrameEvent{}, false
	}
	fcnt2 := func(ev uplink.FrameEvent) bool {
		return ev.Direction == uplink.Up && ev.DevAddr == addr.String() && ev.FCnt != nil && *ev.FCnt == 2
	}
	var fwd uplink.FrameEvent
	require.Eventually(t, func() bool {
		var ok bool
		fwd, ok = find(countyFrames(t, a, "gateway="+gwA), fcnt2)
		return ok && strings.HasSuffix(fwd.Reason, "accepted")
	}, 5*time.Second, 20*time.Millisecond, "a's frame log: %+v", fwd)
	assert.Equal(t, uplink.ResultForwarded, fwd.Result)
	assert.Equal(t, "forwarded to b, the device's home: accepted", fwd.Reason)

	var down uplink.FrameEvent
	require.Eventually(t, func() bool {
		var ok bool
		down, ok = find(countyFrames(t, b, "device="+devEUI), func(ev uplink.FrameEvent) bool {
			return ev.Direction == uplink.Down && len(ev.Gateways) == 1 && ev.Gateways[0].ID == gwA
		})
		return ok && down.TxAck != ""
	}, 5*time.Second, 20*time.Millisecond, "b's frame log: %+v", down)
	assert.Equal(t, "a", down.Gateways[0].Peer)
	assert.Equal(t, "through a's gateway (XmitDataReq)", down.Reason)
	assert.Equal(t, "ok", down.TxAck, "a's XmitDataAns: Success")

	up, ok := find(countyFrames(t, b, "device="+devEUI), fcnt2)
	require.True(t, ok)
	assert.Equal(t, uplink.ResultStored, up.Result)
	peers := map[string]string{}
	for _, g := range up.Gateways {
		peers[g.ID] = g.Peer
	}
	assert.Equal(t, map[string]string{gwA: "a", lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 2}.String(): ""}, peers,
		"a's gateway is a's, b's own has no peer")
}
