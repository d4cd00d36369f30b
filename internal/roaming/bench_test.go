package roaming

import (
	"context"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/uplink"
)

// BenchmarkPeerRoundTrip is one PRStartReq from A to B and its answer over
// HTTPS with mutual TLS and a token on loopback (connection reused), as
// the forwarder sends each frame of a home's device.
func BenchmarkPeerRoundTrip(b *testing.B) {
	a, h := federate(b, 100000)
	peer, _ := a.fed.table.Peer(nsidB)
	req := prStartReq(Frame{PHYPayload: dataFrame(lorawan.DevAddr{0x00, 0x40, 0, 1}, 1),
		RxInfo: []uplink.RxInfo{reception(1, 5, 1)}, First: time.Now()}, true)
	ctx := context.Background()
	_, err := a.fed.link.Send(ctx, peer, req)
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.fed.link.Send(ctx, peer, req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	require.Eventually(b, func() bool { return h.count.Load() >= int64(b.N) }, 10*time.Second, time.Millisecond)
}

// BenchmarkForwardedUplinks is the forwarder's throughput: frames of a
// peer's device handed to Forward until the home has injected them all.
func BenchmarkForwardedUplinks(b *testing.B) {
	a, h := federate(b, 100000)
	addr := lorawan.DevAddr{0x00, 0x40, 0, 1}
	rx := []uplink.RxInfo{reception(1, 5, 1), reception(2, 2, 1)}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		a.fed.Forward(Frame{PHYPayload: dataFrame(addr, byte(n)), RxInfo: rx, First: time.Now()})
		n++
		// Keep within the in-memory queue: the benchmark measures the
		// link, not drops.
		for int64(n)-h.count.Load()/2 > homeQueue/2 {
			time.Sleep(50 * time.Microsecond)
		}
	}
	for h.count.Load() < int64(2*n) {
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "uplinks/s")
}

// BenchmarkForwardedUplinksHomeWindow is the forwarder's throughput to a
// home that answers each frame only when its outcome is final: after the
// default dedup window (200 ms) and a 20 ms commit, as a loraedge home does.
// The in-flight bound (maxInFlight) sets the rate.
func BenchmarkForwardedUplinksHomeWindow(b *testing.B) {
	a, h := federate(b, 100000, func(c *Config) { c.RequestTimeout = 5 * time.Second })
	h.answerAfter = 220 * time.Millisecond
	addr := lorawan.DevAddr{0x00, 0x40, 0, 1}
	rx := []uplink.RxInfo{reception(1, 5, 1)}
	m := a.fed.link.m
	b.ResetTimer()
	n := 0
	for b.Loop() {
		a.fed.Forward(Frame{PHYPayload: dataFrame(addr, byte(n)), RxInfo: rx, First: time.Now()})
		n++
		for float64(n)-testutil.ToFloat64(m.forwarded.WithLabelValues("b", "Success")) > homeQueue/2 {
			time.Sleep(time.Millisecond)
		}
	}
	for testutil.ToFloat64(m.forwarded.WithLabelValues("b", "Success")) < float64(n) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	require.Zero(b, testutil.ToFloat64(m.forwarded.WithLabelValues("b", forwardRetry)))
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "uplinks/s")
}
