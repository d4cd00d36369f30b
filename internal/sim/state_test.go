package sim

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
)

// TestStateFileKeepsCounters checks that a second run continues the 1.0.4
// DevNonce counter and the ABP FCnt instead of starting over, which a
// network server would refuse.
func TestStateFileKeepsCounters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim-state.json")
	opts := Options{Target: "127.0.0.1:9", Config: Config{Scenario: "building-meters"}, StateFile: path}
	s1, err := New(opts)
	require.NoError(t, err)

	var valve, klax *node
	for _, n := range s1.nodes {
		switch {
		case n.sd.dev.Activation == device.OTAA && n.sd.dev.MACVersion == "1.0.4":
			valve = n
		case n.sd.dev.Activation == device.ABP:
			klax = n
		}
	}
	require.NotNil(t, valve)
	require.NotNil(t, klax)
	var lastNonce lorawan.DevNonce
	for range 3 {
		b, err := valve.joinRequest(time.Now())
		require.NoError(t, err)
		var p lorawan.PHYPayload
		require.NoError(t, p.UnmarshalBinary(b))
		lastNonce = p.MACPayload.(*lorawan.JoinRequestPayload).DevNonce
	}
	for range 5 {
		_, err := klax.dataUplink(FPortKLAX, []byte{0}, false, time.Now())
		require.NoError(t, err)
	}
	s1.saveState()

	s2, err := New(opts)
	require.NoError(t, err)
	n2 := s2.byEUI[valve.sd.dev.DevEUI]
	b, err := n2.joinRequest(time.Now())
	require.NoError(t, err)
	var p lorawan.PHYPayload
	require.NoError(t, p.UnmarshalBinary(b))
	assert.Equal(t, lastNonce+1, p.MACPayload.(*lorawan.JoinRequestPayload).DevNonce)
	assert.Equal(t, uint32(5), s2.byEUI[klax.sd.dev.DevEUI].state().FCntUp)

	// A broken file is an error, not a silent reset.
	require.NoError(t, os.WriteFile(path, []byte("{"), 0o600))
	_, err = New(opts)
	assert.Error(t, err)
}
