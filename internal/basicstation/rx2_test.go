package basicstation

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/basicstation/routertest"
)

// A Class A downlink given both windows goes out in one dnmsg with RX1 and
// RX2; the router's dntxed tells which it used: RX1 as planned, or RX2
// when it could not place the frame in RX1.
func TestDownlinkCarriesRX2AndReportsWindow(t *testing.T) {
	f := newFixture(t, nil)
	r := f.connect(t, certRouter, f.cert)
	dev := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 2}
	xt := int64(0x2000000000000) + 0x100000
	require.NoError(t, r.Uplink([]byte{0x80, 1, 2, 3, 4, 0, 1, 0, 5, 9, 1, 2, 3, 4}, routertest.Radio{DR: 5, Freq: 868300000, XTime: xt, RCtx: 1}))
	nextFrame(t, f.s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	send := func(id uint64, rx2 bool) map[string]any {
		t.Helper()
		d := Downlink{ID: id, RouterID: certRouter, DevEUI: dev, PHYPayload: []byte{0x60, 1},
			Frequency: 868300000, DataRate: "SF7BW125", Tmst: uint32(xt) + 1_000_000} //nolint:gosec // test values
		if rx2 {
			d.RX2Frequency, d.RX2DataRate = 869525000, "SF12BW125"
		}
		require.NoError(t, f.s.Send(d))
		dn, err := r.Next(ctx, "dnmsg")
		require.NoError(t, err)
		return dn
	}
	dn := send(51, true)
	assert.Equal(t, json.Number("1"), dn["RxDelay"])
	assert.Equal(t, json.Number("5"), dn["RX1DR"])
	assert.Equal(t, json.Number("868300000"), dn["RX1Freq"])
	assert.Equal(t, json.Number("0"), dn["RX2DR"])
	assert.Equal(t, json.Number("869525000"), dn["RX2Freq"])
	require.NoError(t, r.DntxedRX2(dn))

	dn = send(52, true)
	require.NoError(t, r.Dntxed(dn))

	dn = send(53, false)
	assert.Nil(t, dn["RX2Freq"], "one window only")
	assert.Nil(t, dn["RX2DR"])
	require.NoError(t, r.Dntxed(dn))

	require.Eventually(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.dntxeds) == 3 }, 5*time.Second, 10*time.Millisecond)
	f.mu.Lock()
	assert.Equal(t, []uint64{51, 52, 53}, f.dntxeds)
	assert.Equal(t, []Window{WindowRX2, WindowRX1, WindowUnknown}, f.windows)
	f.mu.Unlock()
	assert.Equal(t, uint64(3), f.s.Routers()[0].Dntxed)

	// An RX2 data rate outside the router's plan is refused, not sent.
	err := f.s.Send(Downlink{ID: 54, RouterID: certRouter, DevEUI: dev, Frequency: 868300000, DataRate: "SF7BW125",
		Tmst: uint32(xt) + 1_000_000, RX2Frequency: 869525000, RX2DataRate: "SF13BW125"}) //nolint:gosec // test values
	require.ErrorContains(t, err, "RX2 data rate")
	assert.InDelta(t, 1.0, testutil.ToFloat64(f.s.m.downlinks.WithLabelValues(dnBadDataRate)), 0)
}

// TestDntxedWindow: the frequency tells the window when RX1 and RX2
// differ; else the transmission's xtime (RX2 a second after RX1).
func TestDntxedWindow(t *testing.T) {
	const tmst = 0xfff00000 // RX2 wraps the low 32 bits
	split := pendingDn{tmst: tmst, rx1Freq: 868100000, rx2Freq: 869525000}
	same := pendingDn{tmst: tmst, rx1Freq: 869525000, rx2Freq: 869525000}
	xt := func(low uint32) int64 { return 0x5000000000000 | int64(low) }
	for _, tc := range []struct {
		name string
		p    pendingDn
		d    dntxed
		want Window
	}{
		{"RX1 by frequency", split, dntxed{Freq: 868100000}, WindowRX1},
		{"RX2 by frequency", split, dntxed{Freq: 869525000, XTime: xt(tmst)}, WindowRX2},
		{"another frequency", split, dntxed{Freq: 867100000}, WindowUnknown},
		{"no frequency, RX2 by xtime", split, dntxed{XTime: xt(tmst + 1_000_000)}, WindowRX2},
		{"same frequency, RX1 by xtime", same, dntxed{Freq: 869525000, XTime: xt(tmst)}, WindowRX1},
		{"same frequency, RX2 by xtime", same, dntxed{Freq: 869525000, XTime: xt(tmst + 1_000_000)}, WindowRX2},
		{"neither", same, dntxed{Freq: 869525000, XTime: xt(tmst + 7)}, WindowUnknown},
		{"no xtime", same, dntxed{Freq: 869525000}, WindowUnknown},
		{"one window offered", pendingDn{tmst: tmst, rx1Freq: 868100000}, dntxed{Freq: 868100000}, WindowUnknown},
	} {
		assert.Equal(t, tc.want, tc.p.window(&tc.d), tc.name)
	}
}
