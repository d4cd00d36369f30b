package network

import (
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/airtime"
)

// TestConfirmedRetriesExhausted: a confirmed downlink is sent once and
// retried ConfirmedRetries times, one per uplink without ACK; then it is
// dropped, counted as not acknowledged, and the next queued item goes.
func TestConfirmedRetriesExhausted(t *testing.T) {
	for _, retries := range []int{1, 2, 5} {
		d := abpDevice(1)
		e := newEnv(t, []device.Device{d}, func(o *Options) { o.ConfirmedRetries = retries })
		_, err := e.s.EnqueueDownlink(d.DevEUI, 3, []byte{0x07}, true)
		require.NoError(t, err)
		_, err = e.s.EnqueueDownlink(d.DevEUI, 4, []byte{0x08}, false)
		require.NoError(t, err)
		for i := range retries + 2 {
			e.deliver(abpFrame(d, uint32(i+1), []byte{1}).bytes(t))
		}
		dls := e.tx.all()
		require.Len(t, dls, retries+2, "retries %d", retries)
		for i, dl := range dls {
			down, mac := decodeDown(t, dl.PHYPayload, d.NwkSKey, d.AppSKey)
			if i <= retries {
				assert.Equal(t, lorawan.ConfirmedDataDown, down.MHDR.MType, "transmission %d", i)
				assert.Equal(t, uint8(3), *mac.FPort)
			} else {
				assert.Equal(t, lorawan.UnconfirmedDataDown, down.MHDR.MType, "after the last retry")
				assert.Equal(t, uint8(4), *mac.FPort)
			}
		}
		assert.Equal(t, float64(1), e.downlinks("data", resultNotAcknowledged))
		info, _ := e.s.Session(d.DevEUI)
		assert.Zero(t, info.QueueLen)
	}
}

// TestConfirmedRetryDeferredKeepsCount: a retry the duty cycle refuses
// does not use up one of the retries.
func TestConfirmedRetryDeferredKeepsCount(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.ConfirmedRetries = 1 })
	_, err := e.s.EnqueueDownlink(d.DevEUI, 3, []byte{0x07}, true)
	require.NoError(t, err)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	require.Len(t, e.tx.all(), 1)
	// Both windows of gw1 exhausted: the retry is deferred.
	exhaust(e.s.dc.budget, gw1, 868100000, e.clock.Now())
	exhaust(e.s.dc.budget, gw1, 869525000, e.clock.Now())
	e.deliver(abpFrame(d, 2, []byte{1}).bytes(t))
	require.Len(t, e.tx.all(), 1)
	assert.Equal(t, float64(1), e.downlinks("data", resultDeferred))
	// Through another gateway the retry goes, and is the last one.
	e.deliver(abpFrame(d, 3, []byte{1}).bytes(t), rx(gw2, 3, 5))
	require.Len(t, e.tx.all(), 2)
	e.deliver(abpFrame(d, 4, []byte{1}).bytes(t), rx(gw2, 3, 5))
	assert.Len(t, e.tx.all(), 2)
	assert.Equal(t, float64(1), e.downlinks("data", resultNotAcknowledged))
}

// exhaust uses up the gateway's budget in freq's sub-band to the
// millisecond.
func exhaust(b *airtime.Budget, gw lorawan.EUI64, freq uint32, now time.Time) {
	for _, step := range []time.Duration{time.Second, time.Millisecond} {
		for b.Reserve(gw, freq, step, now) {
		}
	}
}
