package network

import (
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
)

// carrier is a sender that hands gw both windows at once, as the Basics
// Station LNS does for its routers.
type carrier struct {
	*sender
	gw lorawan.EUI64
}

func (c carrier) CarriesRX2(gw lorawan.EUI64) bool { return gw == c.gw }

// rx2OfferEnv answers a confirmed uplink of an ABP device heard by gw and
// returns the downlink handed to the sender.
func rx2OfferEnv(t *testing.T, gw lorawan.EUI64) (*env, Downlink) {
	t.Helper()
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.Sender = carrier{sender: &sender{}, gw: gw1} })
	e.tx = e.opts.Sender.(carrier).sender
	f := abpFrame(d, 1, []byte{1})
	f.confirmed = true
	e.deliver(f.bytes(t), rx(gw, 5, 1_000_000))
	dls := e.tx.all()
	require.Len(t, dls, 1)
	return e, dls[0]
}

func (e *env) used(freq uint32) float64 {
	return e.s.dc.budget.Used(gw1, freq, e.clock.Now()).Seconds()
}

// TestRX2OfferedWithRX1: a gateway that takes both windows gets RX2 with
// RX1; both are charged until it says which it used, then the other is
// returned. Sent in RX2 is counted as rx2_fallback, without a second send.
func TestRX2OfferedWithRX1(t *testing.T) {
	for _, tc := range []struct {
		name     string
		window   Window
		rx1, rx2 bool // still charged afterwards
	}{
		{"router used RX2", WindowRX2, false, true},
		{"router used RX1", WindowRX1, true, false},
		{"router did not say", WindowUnknown, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, dl := rx2OfferEnv(t, gw1)
			assert.Equal(t, uint32(868100000), dl.Frequency)
			assert.Equal(t, uint32(1_000_000+1_000_000), dl.Tmst)
			require.NotNil(t, dl.RX2, "RX2 goes along")
			assert.Equal(t, uint32(869525000), dl.RX2.Frequency)
			assert.Equal(t, "SF12BW125", dl.RX2.DataRate)
			assert.Equal(t, uint32(1_000_000+2_000_000), dl.RX2.Tmst)
			assert.Equal(t, dl.PHYPayload, dl.RX2.PHYPayload)
			assert.Positive(t, e.used(868100000))
			assert.Positive(t, e.used(869525000))

			e.s.HandleTxSent(dl.ID, tc.window)
			e.s.tick(e.ctx)
			assert.Len(t, e.tx.all(), 1, "the gateway fell back by itself")
			assert.Equal(t, tc.rx1, e.used(868100000) > 0, "RX1 charged")
			assert.Equal(t, tc.rx2, e.used(869525000) > 0, "RX2 charged")
			fallback := 0.0
			if tc.window == WindowRX2 {
				fallback = 1
			}
			assert.Equal(t, fallback, e.downlinks("data", resultRX2Fallback))
			assert.Equal(t, float64(1), e.downlinks("data", "sent"))
		})
	}
}

// TestRX2NotOffered: a GWMP gateway gets one window, RX2 uncharged; a
// gateway that takes both gets RX1 alone when g3 has no budget left.
func TestRX2NotOffered(t *testing.T) {
	e, dl := rx2OfferEnv(t, gw2)
	assert.Nil(t, dl.RX2)
	assert.Zero(t, e.s.dc.budget.Used(gw2, 869525000, e.clock.Now()))

	d := abpDevice(1)
	e = newEnv(t, []device.Device{d}, func(o *Options) { o.Sender = carrier{sender: &sender{}, gw: gw1} })
	e.tx = e.opts.Sender.(carrier).sender
	exhaust(e.s.dc.budget, gw1, 869525000, e.clock.Now())
	f := abpFrame(d, 1, []byte{1})
	f.confirmed = true
	e.deliver(f.bytes(t), rx(gw1, 5, 1_000_000))
	require.Len(t, e.tx.all(), 1)
	assert.Nil(t, e.tx.all()[0].RX2, "no budget in RX2: RX1 alone")
	assert.Equal(t, uint32(868100000), e.tx.all()[0].Frequency)
}
