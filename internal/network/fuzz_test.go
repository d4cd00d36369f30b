package network

import (
	"fmt"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/uplink"
)

// frameResults sums every uplink and join result: each frame handed to
// HandleFrame must end in exactly one of them.
func frameResults(t testing.TB, reg prometheus.Gatherer) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		switch mf.GetName() {
		case "loraedge_network_uplinks_total", "loraedge_network_joins_total":
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func FuzzHandleFrame(f *testing.F) {
	abp := abpDevice(1)
	otaa := otaaDevice(2, "1.0.3")
	// Seeds are built the way devices build frames.
	good := abpFrame(abp, 1, []byte{1, 2, 3})
	f.Add(good.bytes(f))
	conf := abpFrame(abp, 2, []byte("confirmed"))
	conf.confirmed = true
	conf.fopts = []lorawan.Payload{&lorawan.MACCommand{CID: lorawan.LinkCheckReq}}
	f.Add(conf.bytes(f))
	mac0 := abpFrame(abp, 3, []byte{0x02, 0x0d})
	mac0.fport = port(0)
	f.Add(mac0.bytes(f))
	f.Add(joinRequest(f, otaa, 1))
	f.Add([]byte{})
	f.Add([]byte{0x40})
	f.Add([]byte{0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte{0xc0, 0, 0, 0, 0, 0})

	e := newEnv(f, []device.Device{abp, otaa}, nil)
	reg := e.opts.Registerer.(prometheus.Gatherer)
	f.Fuzz(func(t *testing.T, phy []byte) {
		before := frameResults(t, reg)
		e.s.HandleFrame(e.ctx, Frame{PHYPayload: phy, RxInfo: rx(gw1, 3, 100)})
		e.flush()
		if got := frameResults(t, reg); got != before+1 {
			t.Fatalf("frame counted %v times", got-before)
		}
	})
}

// BenchmarkUplink pushes ABP uplinks of 100 devices through HandleFrame,
// dedup, MIC, counter rules, decryption, the bbolt commit and the handler.
// batch is the number of frames whose windows close in one tick and so
// share one bbolt transaction (group commit); batch=1 is one fsync per uplink.
func BenchmarkUplink(b *testing.B) {
	for _, batch := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			const ndev = 100
			devs := make([]device.Device, ndev)
			for i := range devs {
				devs[i] = abpDevice(byte(i))
			}
			e := newEnv(b, devs, func(o *Options) { o.QueueSize = batch })
			var handled int
			e.up.hook = func(uplink.Uplink) { handled++ }
			elapsed := benchFrames(b, e, devs, batch, false)
			if handled != b.N {
				mfs, _ := e.opts.Registerer.(prometheus.Gatherer).Gather()
				for _, mf := range mfs {
					if mf.GetName() == "loraedge_network_uplinks_total" {
						for _, m := range mf.GetMetric() {
							b.Logf("%s=%v", m.GetLabel()[0].GetValue(), m.GetCounter().GetValue())
						}
					}
				}
				b.Fatalf("handled %d of %d", handled, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "uplinks/s")
		})
	}
}

// FuzzMACAnswers sends frames with a valid MIC whose FOpts (or FPort 0
// payload) are arbitrary answers to a device with every kind of request
// pending: nothing panics, every frame is counted once, and the pending
// list stays bounded.
func FuzzMACAnswers(f *testing.F) {
	d := abpDevice(1)
	f.Add([]byte{0x03, 0x07}, false)                         // LinkADRAns all ACK
	f.Add([]byte{0x05, 0x07, 0x08, 0x06, 0xff, 0xfb}, false) // RXParamSetupAns, RXTimingSetupAns, DevStatusAns
	f.Add([]byte{0x07, 0x03, 0x07, 0x00, 0x04}, true)        // NewChannelAns x2, DutyCycleAns on port 0
	f.Add([]byte{0x06, 0x01}, false)                         // truncated DevStatusAns
	f.Add([]byte{0xff, 0x03, 0x07}, true)                    // unknown CID first
	e := newEnv(f, []device.Device{d}, func(o *Options) {
		o.RX1Delay, o.RX2DataRate, o.MaxDutyCycle = 2*time.Second, 3, 5
		o.DevStatusInterval = time.Minute
		o.ExtraChannels = []uint32{867100000, 867300000}
	})
	reg := e.opts.Registerer.(prometheus.Gatherer)
	var fcnt uint32
	f.Fuzz(func(t *testing.T, cmds []byte, port0 bool) {
		fcnt++
		fr := abpFrame(d, fcnt, []byte{1})
		fr.adr = true
		switch {
		case port0:
			fr.fport, fr.payload = port(0), cmds
		case len(cmds) <= 15:
			fr.fopts = []lorawan.Payload{&lorawan.DataPayload{Bytes: cmds}}
		default:
			return
		}
		before := frameResults(t, reg)
		e.s.HandleFrame(e.ctx, Frame{PHYPayload: fr.bytes(t), RxInfo: rx(gw1, 3, 100)})
		e.clock.Advance(time.Minute)
		e.flush()
		if got := frameResults(t, reg); got != before+1 {
			t.Fatalf("frame counted %v times", got-before)
		}
		info, ok := e.s.Session(d.DevEUI)
		if !ok {
			t.Fatal("session lost")
		}
		if n := len(info.MAC.Pending); n > 7 {
			t.Fatalf("%d commands pending", n)
		}
	})
}
