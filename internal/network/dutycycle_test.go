package network

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/airtime"
)

func TestDownlinkAirtime(t *testing.T) {
	for _, tc := range []struct {
		dr   string
		n    int
		want time.Duration
	}{
		// 35.25 symbols of 32.768 ms: 8+4.25 preamble, 8+3*5 payload (no CRC).
		{"SF12BW125", 13, 1155072 * time.Microsecond},
		// 40.25 symbols of 1.024 ms.
		{"SF7BW125", 12, 41216 * time.Microsecond},
		// (5+3+1+12+2) bytes at 50 kbit/s.
		{"50000", 12, 3680 * time.Microsecond},
	} {
		got, err := downlinkAirtime(Downlink{DataRate: tc.dr, PHYPayload: make([]byte, tc.n)})
		require.NoError(t, err, tc.dr)
		assert.Equal(t, tc.want, got, tc.dr)
	}
	for _, dr := range []string{"", "SF13BW125", "SF7BW100", "0", "fast"} {
		_, err := downlinkAirtime(Downlink{DataRate: dr, PHYPayload: make([]byte, 12)})
		assert.Error(t, err, dr)
	}
}

// airLog records every downlink with the fake clock's time of sending.
type airLog struct {
	mu    sync.Mutex
	clock *fakeClock
	sent  []timedDownlink
}

type timedDownlink struct {
	at time.Time
	d  Downlink
}

func (l *airLog) SendDownlink(_ context.Context, d Downlink) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, timedDownlink{at: l.clock.Now(), d: d})
	return nil
}

// maxHourly is the most air time the gateway spent in the sub-band during
// any hour, each hour starting at one of its transmissions (the sums only
// grow at a transmission, so these windows include the worst one). The air
// time is recomputed from the frame with the airtime package.
func (l *airLog) maxHourly(t *testing.T, gw lorawan.EUI64, sb string) (worst time.Duration, n int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	budget := airtime.NewBudget(airtime.EU868SubBands)
	var in []timedDownlink
	for _, s := range l.sent {
		b, ok := budget.SubBand(s.d.Frequency)
		if ok && b.Name == sb && s.d.GatewayID == gw {
			in = append(in, s)
		}
	}
	at := make([]time.Duration, len(in))
	for i, s := range in {
		sf, bw, ok := ParseLoRaDataRate(s.d.DataRate)
		require.True(t, ok)
		var err error
		at[i], err = airtime.Downlink(sf, bw*1000, len(s.d.PHYPayload))
		require.NoError(t, err)
	}
	for i := range in {
		var sum time.Duration
		for j := range in {
			// Any part of transmission j inside [start, start+1h).
			if in[j].at.Add(at[j]).After(in[i].at) && in[j].at.Before(in[i].at.Add(time.Hour)) {
				sum += at[j]
			}
		}
		worst = max(worst, sum)
	}
	return worst, len(in)
}

func (e *env) refused(sb, reason string) float64 {
	return testutil.ToFloat64(e.s.dc.refused.WithLabelValues(sb, reason))
}

func (e *env) downlinks(kind, result string) float64 {
	return testutil.ToFloat64(e.s.m.downlinks.WithLabelValues(kind, result))
}

// TestDutyCycleClassCFlood keeps a Class C device's queue full for three
// hours: the gateway's RX2 sub-band g3 carries 10 % of each hour and not
// more, and every queued payload that did not fit waits and is sent later.
func TestDutyCycleClassCFlood(t *testing.T) {
	d := abpDevice(1)
	d.Class = device.ClassC
	log := &airLog{}
	e := newEnv(t, []device.Device{d}, func(o *Options) {
		o.DownlinkQueueSize = 32
		o.Sender = log
	})
	log.clock = e.clock
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t), rx(gw1, 5, 10))
	payload := make([]byte, 40)
	queued := 0
	for range 3 * 360 { // every 10 s for three hours
		e.clock.Advance(10 * time.Second)
		for {
			if _, err := e.s.EnqueueDownlink(d.DevEUI, 5, payload, false); err != nil {
				require.ErrorIs(t, err, ErrQueueFull)
				break
			}
			queued++
		}
		e.s.sendClassC(e.ctx)
	}
	worst, n := log.maxHourly(t, gw1, "g3")
	limit := time.Duration(0.1 * float64(time.Hour))
	t.Logf("g3: %d downlinks in 3 h, at most %s of air time in an hour (limit %s), %v refusals",
		n, worst, limit, e.refused("g3", refusedBudget))
	assert.LessOrEqual(t, worst, limit, "g3 air time in an hour")
	// SF12, 53 bytes: 2.47 s each, so 146 fit an hour; nearly all of the
	// budget is used, not just kept under.
	assert.Greater(t, worst, limit-5*time.Second)
	assert.GreaterOrEqual(t, n, 3*140)
	assert.Positive(t, e.refused("g3", refusedBudget))
	assert.Positive(t, e.downlinks("data", resultDeferred))
	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, queued-n, info.QueueLen, "every refused payload is still queued")
}

// TestDutyCycleClassAFlood answers confirmed uplinks of 40 devices at SF12
// on 868.1 MHz every 3 s for two hours: RX1 (g1, 1 %) fills first, then
// the ACKs move to RX2 (g3, 10 %), then they are refused.
func TestDutyCycleClassAFlood(t *testing.T) {
	var devs []device.Device
	for i := range 40 {
		devs = append(devs, abpDevice(byte(i+1)))
	}
	log := &airLog{}
	e := newEnv(t, devs, func(o *Options) { o.Sender = log })
	log.clock = e.clock
	r := rx(gw2, 3, 0)
	r.DataRate = "SF12BW125"
	for i := range 2 * 1200 {
		d := devs[i%len(devs)]
		f := abpFrame(d, uint32(i/len(devs)+1), []byte{1})
		f.confirmed = true
		r.Tmst += 3_000_000
		e.deliver(f.bytes(t), r)
		e.clock.Advance(3*time.Second - e.opts.DedupWindow - time.Millisecond)
	}
	for _, c := range []struct {
		sb    string
		share float64
	}{{"g1", 0.01}, {"g3", 0.1}} {
		worst, n := log.maxHourly(t, gw2, c.sb)
		limit := time.Duration(c.share * float64(time.Hour))
		t.Logf("%s: %d downlinks in 2 h, at most %s of air time in an hour (limit %s), %v refusals",
			c.sb, n, worst, limit, e.refused(c.sb, refusedBudget))
		assert.LessOrEqual(t, worst, limit, c.sb)
		assert.Greater(t, worst, limit*9/10, "%s budget used", c.sb)
		assert.Positive(t, n, c.sb)
		assert.Positive(t, e.refused(c.sb, refusedBudget), c.sb)
	}
	assert.Positive(t, e.downlinks("data", resultDeferred))
	assert.Zero(t, e.refused("g", refusedBudget), "868.1 MHz is g1")
}

func TestDutyCycleOff(t *testing.T) {
	d := abpDevice(1)
	d.Class = device.ClassC
	log := &airLog{}
	e := newEnv(t, []device.Device{d}, func(o *Options) {
		o.Sender = log
		o.DutyCycle = "off"
	})
	log.clock = e.clock
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t), rx(gw1, 5, 10))
	for range 400 {
		e.clock.Advance(4 * time.Second)
		_, err := e.s.EnqueueDownlink(d.DevEUI, 5, make([]byte, 40), false)
		require.NoError(t, err)
		e.s.sendClassC(e.ctx)
	}
	worst, n := log.maxHourly(t, gw1, "g3")
	assert.Equal(t, 400, n, "every downlink sent")
	assert.Greater(t, worst, 6*time.Minute, "a lab gateway may exceed 10 %")
	assert.Zero(t, e.downlinks("data", resultDeferred))

	_, err := NewServer(Options{Config: Config{DutyCycle: "sometimes"}, Devices: e.devs, StatePath: e.path + "x"})
	require.Error(t, err)
}

// TestDutyCycleRX2FallbackCharged: an RX1 downlink the gateway rejects
// falls back to RX2 only while g3 has budget for it.
func TestDutyCycleRX2FallbackCharged(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	e.tx.fail = func(dl Downlink) error {
		if dl.Frequency == 868100000 {
			return errors.New("TOO_LATE")
		}
		return nil
	}
	// Use up g3 on gw1 as other downlinks would have.
	exhaust(e.s.dc.budget, gw1, 869525000, e.clock.Now())
	_, err := e.s.EnqueueDownlink(d.DevEUI, 3, []byte{1}, false)
	require.NoError(t, err)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	dls := e.tx.all()
	require.Len(t, dls, 1, "RX1 tried, no RX2")
	assert.Equal(t, float64(1), e.downlinks("data", resultDeferred))
	assert.Positive(t, e.refused("g3", refusedBudget))
}

// TestDutyCycleJoinAcceptToRX2: with g1 used up on the gateway, the
// join-accept goes in RX2 (869.525 MHz, DR0, JOIN_ACCEPT_DELAY2); with g3
// used up too, none goes and the device joins again later.
func TestDutyCycleJoinAcceptToRX2(t *testing.T) {
	d := otaaDevice(1, "1.0.3")
	e := newEnv(t, []device.Device{d}, nil)
	exhaust(e.s.dc.budget, gw1, 868100000, e.clock.Now())
	e.deliver(joinRequest(t, d, 1), rx(gw1, 4, 7_000_000))
	dls := e.tx.all()
	require.Len(t, dls, 1)
	assert.Equal(t, uint32(869525000), dls[0].Frequency)
	assert.Equal(t, "SF12BW125", dls[0].DataRate)
	assert.Equal(t, uint32(7_000_000+6_000_000), dls[0].Tmst)
	assert.Equal(t, float64(1), e.refused("g1", refusedBudget))

	exhaust(e.s.dc.budget, gw1, 869525000, e.clock.Now())
	e.deliver(joinRequest(t, d, 2), rx(gw1, 4, 9_000_000))
	assert.Len(t, e.tx.all(), 1)
	assert.Equal(t, float64(1), e.downlinks("join_accept", resultDeferred))
}
