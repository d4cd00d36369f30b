package roaming

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/backend"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/uplink"
)

// A home's answer ends a frame's forwarding only when it is final; no
// answer, Other and Deferred keep it for another try.
func TestFinalResult(t *testing.T) {
	ans := func(code backend.ResultCode) Message {
		a := &PRStartAns{}
		a.Result.ResultCode = code
		return a
	}
	refused := fmt.Errorf("%w b: refused", ErrAnswer)
	for _, c := range []struct {
		ans   Message
		err   error
		code  backend.ResultCode
		final bool
	}{
		{ans(ResultSuccess), nil, ResultSuccess, true},
		{ans(ResultFrameReplayed), refused, ResultFrameReplayed, true},
		{ans(ResultMICFailed), refused, ResultMICFailed, true},
		{ans(ResultUnknownDevAddr), refused, ResultUnknownDevAddr, true},
		{ans(ResultMalformedMessage), refused, ResultMalformedMessage, true},
		{ans(resultMalformedRequest10), refused, ResultMalformedMessage, true},
		{ans(ResultOther), refused, ResultOther, false},
		{ans(ResultDeferred), refused, ResultDeferred, false},
		{nil, fmt.Errorf("%w b: connection refused", ErrNoAnswer), "", false},
		{nil, errors.New("encode"), "", false},
	} {
		code, final := finalResult(c.ans, c.err)
		assert.Equal(t, c.code, code)
		assert.Equal(t, c.final, final, "%v %v", c.code, c.err)
	}
}

// Each result of the home's network layer has its TS002 code; what is not
// finished there is Other, which the forwarder sends again.
func TestHomeResult(t *testing.T) {
	for r, code := range map[string]backend.ResultCode{
		"ok": ResultSuccess, "replay": ResultFrameReplayed, "retransmission": ResultFrameReplayed,
		"too_old": ResultFrameReplayed, "fcnt_gap": ResultFrameReplayed, "mic_invalid": ResultMICFailed,
		"unknown_devaddr": ResultUnknownDevAddr, "unknown_device": ResultUnknownDevEUI,
		"devnonce_replay": ResultFrameReplayed, "decode_error": ResultMalformedMessage,
		"store_error": ResultOther, "dropped": ResultOther, "error": ResultOther,
	} {
		assert.Equal(t, code, homeResult(r).ResultCode, r)
	}
}

// At most maxInFlight requests wait for one home's answer; the rest wait
// their turn and go as answers come.
func TestForwardInFlightBound(t *testing.T) {
	a, b := federate(t, 100, func(c *Config) { c.RequestTimeout = 20 * time.Second })
	b.mu.Lock()
	b.manualDone = true
	b.mu.Unlock()
	addrB := lorawan.DevAddr{0x00, 0x40, 0x00, 0x21}
	const n = maxInFlight + 8
	for i := range n {
		a.fed.Forward(Frame{PHYPayload: dataFrame(addrB, byte(i)), RxInfo: []uplink.RxInfo{reception(1, 5, uint32(i))}, First: time.Now()})
	}
	require.Eventually(t, func() bool { return len(b.got()) == maxInFlight }, 10*time.Second, 5*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	require.Len(t, b.got(), maxInFlight, "no more than the bound waits for an answer")
	answer := func(from int) int {
		got := b.got()
		for _, in := range got[from:] {
			in.Done("ok")
		}
		return len(got)
	}
	done := answer(0)
	require.Eventually(t, func() bool { return len(b.got()) == n }, 10*time.Second, 5*time.Millisecond)
	answer(done)
	m := a.fed.link.m
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.forwarded.WithLabelValues("b", "Success")) == n }, 10*time.Second, 5*time.Millisecond)
	assert.Zero(t, testutil.ToFloat64(m.forwarded.WithLabelValues("b", forwardRetry)))
}

// A final refusal (FrameReplayed) drops the frame, counted; a result that
// is not final (the home's store failed: Other) keeps it until the home
// takes it.
func TestForwardFinalAndRetry(t *testing.T) {
	a, b := federate(t, 100)
	m := a.fed.link.m
	addrB := lorawan.DevAddr{0x00, 0x40, 0x00, 0x22}
	b.mu.Lock()
	b.result = "replay"
	b.mu.Unlock()
	a.fed.Forward(Frame{PHYPayload: dataFrame(addrB, 1), RxInfo: []uplink.RxInfo{reception(1, 5, 1)}, First: time.Now()})
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.forwarded.WithLabelValues("b", "FrameReplayed")) == 1 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(150 * time.Millisecond) // a retry would show within the retry interval
	assert.Len(t, b.got(), 1, "not sent again")
	assert.Zero(t, testutil.ToFloat64(m.queue.WithLabelValues("b")))
	assert.Equal(t, 1.0, testutil.ToFloat64(b.fed.link.m.frames.WithLabelValues("a", "replay")))

	b.mu.Lock()
	b.result = "store_error"
	b.mu.Unlock()
	a.fed.Forward(Frame{PHYPayload: dataFrame(addrB, 2), RxInfo: []uplink.RxInfo{reception(1, 5, 2)}, First: time.Now()})
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.forwarded.WithLabelValues("b", forwardRetry)) >= 2 }, 5*time.Second, 5*time.Millisecond)
	b.mu.Lock()
	b.result = "ok"
	b.mu.Unlock()
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.forwarded.WithLabelValues("b", "Success")) == 1 }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return testutil.ToFloat64(m.queue.WithLabelValues("b")) == 0 }, 5*time.Second, 5*time.Millisecond)
	got := b.got()
	assert.True(t, got[len(got)-1].Late, "sent again from the queue: late")
}

// The home gets each gateway's reception time to the nanosecond (RecvTime
// has whole seconds; FineRecvTime the rest), GPS time when the gateway had
// it, so a late frame is stored at its own time.
func TestForwardReceptionTime(t *testing.T) {
	a, b := federate(t, 100)
	addrB := lorawan.DevAddr{0x00, 0x40, 0x00, 0x23}
	gps := time.Date(2026, 3, 1, 12, 0, 7, 123456789, time.UTC)
	local := reception(1, 5, 1)
	local.ReceivedAt = time.Date(2026, 3, 1, 12, 0, 7, 987654321, time.UTC)
	withGPS := reception(2, 3, 2)
	withGPS.Time = &gps
	a.fed.Forward(Frame{PHYPayload: dataFrame(addrB, 1), RxInfo: []uplink.RxInfo{local, withGPS}, First: time.Now()})
	require.Eventually(t, func() bool { return len(b.got()) == 2 }, 5*time.Second, 5*time.Millisecond)
	got := b.got()
	assert.True(t, local.ReceivedAt.Equal(got[0].RxInfo.ReceivedAt), "%s", got[0].RxInfo.ReceivedAt)
	assert.True(t, gps.Equal(got[1].RxInfo.ReceivedAt), "%s", got[1].RxInfo.ReceivedAt)
}
