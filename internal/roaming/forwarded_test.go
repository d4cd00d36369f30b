package roaming

import (
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/uplink"
)

// The frame log hears what a home made of each forwarded frame: accepted,
// queued while it is down, a join not queued; the home's side names the
// peer whose gateway heard the frame.
func TestFederationForwardOutcomes(t *testing.T) {
	a, b := federate(t, 8)
	addrB := lorawan.DevAddr{0x00, 0x40, 0x00, 0x09}
	assert.Equal(t, "b", a.fed.Forward(Frame{PHYPayload: dataFrame(addrB, 1), RxInfo: []uplink.RxInfo{reception(1, 5, 1)}, First: time.Now()}))
	require.Eventually(t, func() bool { return len(a.forwardOutcomes()) == 1 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, "b: forwarded to b, the device's home: accepted", a.forwardOutcomes()[0])
	require.Len(t, b.got(), 1)
	assert.Equal(t, "a", b.got()[0].Peer)
	peer, ok := b.fed.RemotePeer(reception(1, 0, 0).GatewayID)
	assert.True(t, ok, "a gateway of a that forwarded a frame")
	assert.Equal(t, "a", peer)
	_, ok = b.fed.RemotePeer(lorawan.EUI64{1})
	assert.False(t, ok)

	b.stop()
	a.fed.Forward(Frame{PHYPayload: dataFrame(addrB, 2), RxInfo: []uplink.RxInfo{reception(1, 5, 2)}, First: time.Now()})
	join := make([]byte, 23)
	copy(join[9:17], []byte{0x42, 0, 0, 0xd0, 0x7e, 0xd5, 0xb3, 0x70}) // DevEUI 70b3d57ed0000042, homed at b
	a.fed.Forward(Frame{PHYPayload: join, RxInfo: []uplink.RxInfo{reception(1, 5, 3)}, First: time.Now(), Join: true})
	require.Eventually(t, func() bool { return len(a.forwardOutcomes()) == 3 }, 10*time.Second, 5*time.Millisecond)
	assert.ElementsMatch(t, []string{ // sent at once, so in either order
		"b: queued for b, which does not answer: sent when it is back",
		"b: not forwarded: b does not answer (a join request is not queued; the device asks again)",
	}, a.forwardOutcomes()[1:])
	assert.Empty(t, a.fed.Forward(Frame{PHYPayload: []byte{1}}), "no home")
}
