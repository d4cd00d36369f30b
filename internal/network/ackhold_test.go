package network

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/uplink"
)

// durableHandler keeps each uplink's durability callback so that a test
// decides when (and whether) the uplink becomes durable, as the store's
// group commit would.
type durableHandler struct {
	handler
	mu     sync.Mutex
	dones  []func(error)
	refuse error
}

func (h *durableHandler) HandleUplinkDurable(ctx context.Context, up uplink.Uplink, done func(error)) error {
	if h.refuse != nil {
		return h.refuse
	}
	h.mu.Lock()
	h.dones = append(h.dones, done)
	h.mu.Unlock()
	return h.HandleUplink(ctx, up)
}

// durable reports the i-th uplink handed on as stored (err nil) or lost.
func (h *durableHandler) durable(t *testing.T, i int, err error) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Greater(t, len(h.dones), i, "uplink %d was not handed on with a durability callback", i)
	h.dones[i](err)
}

func newAckEnv(t *testing.T) (*env, *durableHandler, device.Device) {
	d := abpDevice(1)
	h := &durableHandler{}
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.Handler = h })
	return e, h, d
}

func confirmedFrame(d device.Device, fcnt uint32) upFrame {
	f := abpFrame(d, fcnt, []byte{byte(fcnt)})
	f.confirmed = true
	return f
}

// requireAck checks that dl acknowledges an uplink of d and goes out in the
// window opening delay after the uplink's tmst.
func requireAck(t *testing.T, dl Downlink, d device.Device, tmst uint32, delay time.Duration) {
	t.Helper()
	_, mac := decodeDown(t, dl.PHYPayload, d.NwkSKey, d.AppSKey)
	require.True(t, mac.FHDR.FCtrl.ACK, "ACK bit")
	require.Equal(t, tmst+uint32(delay/time.Microsecond), dl.Tmst)
}

func TestAckWaitsForDurability(t *testing.T) {
	e, h, d := newAckEnv(t)
	e.deliver(confirmedFrame(d, 1).bytes(t))
	require.Len(t, h.all(), 1, "handed on")
	e.clock.Advance(100 * time.Millisecond)
	e.s.tick(e.ctx)
	require.Empty(t, e.tx.all(), "no ACK before the uplink is durable")

	h.durable(t, 0, nil)
	e.s.tick(e.ctx)
	dls := e.tx.all()
	require.Len(t, dls, 1)
	requireAck(t, dls[0], d, 1_000_000, time.Second)
	assert.Equal(t, uint32(868100000), dls[0].Frequency, "RX1")
}

func TestAckAfterRX1GoesInRX2(t *testing.T) {
	e, h, d := newAckEnv(t)
	e.deliver(confirmedFrame(d, 1).bytes(t))
	// 201 ms of dedup window + 800 ms: RX1 needs it by 850 ms.
	e.clock.Advance(800 * time.Millisecond)
	h.durable(t, 0, nil)
	e.s.tick(e.ctx)
	dls := e.tx.all()
	require.Len(t, dls, 1)
	requireAck(t, dls[0], d, 1_000_000, 2*time.Second)
	assert.Equal(t, uint32(869525000), dls[0].Frequency, "RX2")
}

// A durability reported after both windows: no ACK; the device retransmits
// the same FCnt, which is not handed on again and gets the ACK at once.
func TestAckTooLateRetransmissionGetsIt(t *testing.T) {
	e, h, d := newAckEnv(t)
	frame := confirmedFrame(d, 1).bytes(t)
	e.deliver(frame)
	e.clock.Advance(2 * time.Second)
	h.durable(t, 0, nil)
	e.s.tick(e.ctx)
	require.Empty(t, e.tx.all(), "too late for RX2")
	assert.Equal(t, float64(1), e.downlinks("data", resultAckLate))

	e.clock.Advance(3 * time.Second)
	e.deliver(frame, rx(gw1, 7.5, 9_000_000))
	assert.Equal(t, float64(1), e.uplinks(resultRetransmission))
	require.Len(t, h.all(), 1, "the retransmission is not handed on")
	dls := e.tx.all()
	require.Len(t, dls, 1)
	requireAck(t, dls[0], d, 9_000_000, time.Second)
}

// A retransmission arriving while the first copy is still not durable waits
// with it; the first copy's own answer is too late by then.
func TestAckRetransmissionWaitsForFirstCopy(t *testing.T) {
	e, h, d := newAckEnv(t)
	frame := confirmedFrame(d, 1).bytes(t)
	e.deliver(frame)
	e.clock.Advance(3 * time.Second)
	e.deliver(frame, rx(gw1, 7.5, 9_000_000))
	require.Empty(t, e.tx.all())

	h.durable(t, 0, nil)
	e.s.tick(e.ctx)
	dls := e.tx.all()
	require.Len(t, dls, 1)
	requireAck(t, dls[0], d, 9_000_000, time.Second)
	assert.Equal(t, float64(1), e.downlinks("data", resultAckLate), "the first copy's answer")
}

func TestAckNotStored(t *testing.T) {
	e, h, d := newAckEnv(t)
	frame := confirmedFrame(d, 1).bytes(t)
	e.deliver(frame)
	h.durable(t, 0, errors.New("disk full"))
	e.s.tick(e.ctx)
	require.Empty(t, e.tx.all())
	assert.Equal(t, float64(1), e.downlinks("data", resultNotStored))

	// Its retransmission is not acknowledged either: nothing stored it.
	e.clock.Advance(3 * time.Second)
	e.deliver(frame)
	assert.Equal(t, float64(1), e.uplinks(resultRetransmission))
	require.Empty(t, e.tx.all())

	// A handler refusing the uplink outright (queue full) gets no ACK.
	h.refuse = errors.New("queue full")
	e.deliver(confirmedFrame(d, 2).bytes(t))
	e.clock.Advance(time.Second)
	e.s.tick(e.ctx)
	require.Empty(t, e.tx.all())
	assert.Equal(t, float64(2), e.downlinks("data", resultNotStored))
}

// Answers that acknowledge nothing go out in the same tick: MAC answers and
// ADRACKReq, and a confirmed uplink carrying nothing to store.
func TestAckOnlyConfirmedDataWaits(t *testing.T) {
	e, h, d := newAckEnv(t)
	f := abpFrame(d, 1, []byte{1})
	f.fopts = []lorawan.Payload{&lorawan.MACCommand{CID: lorawan.LinkCheckReq}}
	e.deliver(f.bytes(t))
	require.Len(t, e.tx.all(), 1, "LinkCheckAns without waiting")

	f = abpFrame(d, 2, []byte{2})
	f.adrAckReq = true
	e.deliver(f.bytes(t))
	require.Len(t, e.tx.all(), 2, "ADRACKReq answered without waiting")

	f = confirmedFrame(d, 3)
	f.fport, f.payload = nil, nil
	e.deliver(f.bytes(t))
	dls := e.tx.all()
	require.Len(t, dls, 3, "a confirmed frame without payload stores nothing")
	requireAck(t, dls[2], d, 1_000_000, time.Second)
	require.Len(t, h.all(), 2, "the empty frame is not handed on")
}

// instantDurable reports every uplink durable as it is handed on, so a
// benchmark measures the holding machinery, not a disk.
type instantDurable struct{ n int }

func (h *instantDurable) HandleUplink(context.Context, uplink.Uplink) error {
	h.n++
	return nil
}

func (h *instantDurable) HandleUplinkDurable(_ context.Context, _ uplink.Uplink, done func(error)) error {
	h.n++
	done(nil)
	return nil
}

// BenchmarkUplinkConfirmed is BenchmarkUplink's batch=64 case with
// confirmed uplinks: each ACK is held until its durability report comes
// back through the loop, then built and sent.
func BenchmarkUplinkConfirmed(b *testing.B) {
	const ndev, batch = 100, 64
	devs := make([]device.Device, ndev)
	for i := range devs {
		devs[i] = abpDevice(byte(i))
	}
	h := &instantDurable{}
	e := newEnv(b, devs, func(o *Options) { o.QueueSize, o.Handler, o.DutyCycle = batch, h, dutyCycleOff })
	elapsed := benchFrames(b, e, devs, batch, true)
	if h.n != b.N || len(e.tx.all()) != b.N {
		b.Fatalf("handled %d, acknowledged %d of %d", h.n, len(e.tx.all()), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "uplinks/s")
}

// benchFrames sends b.N uplinks of devs, batch per tick, and returns how
// long that took; the timer is stopped when it returns.
func benchFrames(b *testing.B, e *env, devs []device.Device, batch int, confirmed bool) time.Duration {
	frames := make([][]byte, b.N)
	for i := range frames {
		f := abpFrame(devs[i%len(devs)], uint32(i/len(devs)), []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c})
		f.confirmed = confirmed
		frames[i] = f.bytes(b)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i, phy := range frames {
		e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: rx(gw1, 3, uint32(i))})
		if (i+1)%batch == 0 || i == len(frames)-1 {
			e.flush()
		}
	}
	e.s.tick(e.ctx) // reports of the last batch
	elapsed := time.Since(start)
	b.StopTimer()
	return elapsed
}
