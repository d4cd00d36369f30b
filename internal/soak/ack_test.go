package soak

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/semtechudp"
)

// ackForwarder is a packet forwarder that also opens the downlink path
// (PULL_DATA) and reads the PULL_RESPs: it sees the ACKs the daemon sends,
// as a device would, and maps each to the uplink it answers by the
// concentrator counter (RX1 at tmst+1 s, RX2 at tmst+2 s).
type ackForwarder struct {
	*forwarder
	fleet  *fleet
	byAddr map[lorawan.DevAddr]int

	mu       sync.Mutex
	byTmst   map[ackKey]sentUplink // uplinks (and retransmissions) sent
	acked    map[ackKey]sentUplink // by the uplink's (device, time)
	ackCount int                   // PULL_RESPs with the ACK bit
	resent   map[ackKey]bool       // uplinks retransmitted, by data time
	bad      []string              // downlinks that do not verify
}

// retransmitDelay dates a retransmission a day after its uplink. A copy
// that reaches the daemon only as a retransmission (the first was sent
// while it was down, or lost in the kill) is a new uplink to it, stored at
// that time; one stored at both times is stored twice.
const retransmitDelay = 24 * time.Hour

type ackKey struct {
	dev int
	n   int64 // tmst or data time
}

func newAckForwarder(t *testing.T, port int, fl *fleet) *ackForwarder {
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	f := &ackForwarder{forwarder: &forwarder{conn: c, mac: lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0x50, 0xac, 1}},
		fleet: fl, byAddr: map[lorawan.DevAddr]int{}, byTmst: map[ackKey]sentUplink{}, acked: map[ackKey]sentUplink{}, resent: map[ackKey]bool{}}
	for i, d := range fl.devs {
		f.byAddr[d.Addr] = i
	}
	go f.read()
	return f
}

// read handles every datagram from the daemon until the socket closes.
func (f *ackForwarder) read() {
	b := make([]byte, 4096)
	for {
		n, err := f.conn.Read(b)
		if err != nil {
			if isRefused(err) {
				continue
			}
			return
		}
		if p, err := semtechudp.Unmarshal(b[:n]); err == nil {
			if pr, ok := p.(*semtechudp.PullRespPacket); ok {
				f.downlink(pr.Payload.TXPK)
			}
		}
	}
}

// downlink decodes a txpk as the device would: its DevAddr, the MIC with
// the device's NwkSKey, the ACK bit.
func (f *ackForwarder) downlink(tx semtechudp.TXPK) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var phy lorawan.PHYPayload
	if err := phy.UnmarshalBinary(tx.Data); err != nil {
		f.bad = append(f.bad, fmt.Sprintf("undecodable downlink: %v", err))
		return
	}
	mac, ok := phy.MACPayload.(*lorawan.MACPayload)
	if !ok || tx.Tmst == nil {
		f.bad = append(f.bad, "downlink without MAC payload or tmst")
		return
	}
	dev, ok := f.byAddr[mac.FHDR.DevAddr]
	if !ok {
		f.bad = append(f.bad, "downlink to unknown DevAddr "+mac.FHDR.DevAddr.String())
		return
	}
	if ok, err := phy.ValidateDownlinkDataMIC(lorawan.LoRaWAN1_0, 0, f.fleet.devs[dev].NwkSKey); err != nil || !ok {
		f.bad = append(f.bad, fmt.Sprintf("downlink MIC of device %d invalid", dev))
		return
	}
	if !mac.FHDR.FCtrl.ACK {
		return
	}
	f.ackCount++
	for _, delay := range []uint32{1_000_000, 2_000_000} {
		if u, ok := f.byTmst[ackKey{dev, int64(*tx.Tmst - delay)}]; ok {
			f.acked[ackKey{dev, u.at.UnixNano()}] = u
			return
		}
	}
	f.bad = append(f.bad, fmt.Sprintf("ACK to device %d at tmst %d answers no uplink sent", dev, *tx.Tmst))
}

// pull sends a PULL_DATA; the daemon answers through the socket it came from.
func (f *ackForwarder) pull() {
	f.mu.Lock()
	f.tok++
	p := semtechudp.PullDataPacket{ProtocolVersion: semtechudp.ProtocolVersion2, RandomToken: f.tok, GatewayMAC: f.mac}
	f.mu.Unlock()
	b, err := p.MarshalBinary()
	if err != nil {
		panic(err) // our own packet: a bug in the test
	}
	f.raw(b)
}

// send pushes u's frame, heard at gps, and remembers it by its tmst.
func (f *ackForwarder) send(u sentUplink, phy []byte, gps time.Time) {
	f.mu.Lock()
	f.byTmst[ackKey{u.dev, int64(uint32(gps.UnixMicro()))}] = u
	f.mu.Unlock()
	f.push(phy, gps)
}

func (f *ackForwarder) isAcked(u sentUplink) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.acked[ackKey{u.dev, u.at.UnixNano()}]
	return ok
}

// loadConfirmed sends confirmed uplinks at rate per second until ctx ends,
// opening the downlink path every 100 ms (a restarted daemon learns the
// forwarder's address again). An uplink not ACKed within 2.5 s is sent
// once more, like a device does, with the same FCnt: the daemon must not
// store it twice. Its gateway GPS time is retransmitDelay later (a data
// time no uplink of the run has, whatever the store's time resolution), so
// the store shows which copy it kept.
func (f *ackForwarder) loadConfirmed(ctx context.Context, rate float64) (retransmitted int) {
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	type waiting struct {
		u   sentUplink
		phy []byte
	}
	var unacked []waiting
	start, n, lastPull := time.Now(), 0, time.Time{}
	for {
		select {
		case <-ctx.Done():
			return retransmitted
		case <-t.C:
		}
		if time.Since(lastPull) > 100*time.Millisecond {
			f.pull()
			lastPull = time.Now()
		}
		for len(unacked) > 0 && time.Since(unacked[0].u.wall) > 2500*time.Millisecond {
			w := unacked[0]
			unacked = unacked[1:]
			if !f.isAcked(w.u) {
				f.mu.Lock()
				f.resent[ackKey{w.u.dev, w.u.at.UnixNano()}] = true
				f.mu.Unlock()
				f.send(w.u, w.phy, w.u.at.Add(retransmitDelay))
				retransmitted++
			}
		}
		for due := int(time.Since(start).Seconds() * rate); n < due; n++ {
			u := f.fleet.nextUplink(time.Time{})
			phy, err := f.fleet.devs[u.dev].ConfirmedUplink(u.fcnt)
			if err != nil {
				panic(err) // our own frame: a bug in the test
			}
			f.send(u, phy, u.at)
			unacked = append(unacked, waiting{u, phy})
		}
	}
}

// kill -9 at random moments under confirmed uplinks: every uplink whose
// ACK the forwarder saw (a PULL_RESP with the ACK bit, for the device,
// with its MIC) is in the store afterwards, and no retransmission is
// stored a second time.
func TestKillLoopConfirmed(t *testing.T) {
	dur := soakDuration(t)
	// Every uplink is answered: no downlink duty cycle to ration the ACKs.
	h := newHarness(t, harnessOptions{devices: 20, extra: "network:\n  duty_cycle: \"off\"\n"})
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 19))
	t.Logf("seed %d, load time %s", seed, dur)

	h.start()
	fw := newAckForwarder(t, h.udpPort, h.fleet)
	const rate = 20.0 // confirmed uplinks/s, one a second per device
	ctx, stopLoad := context.WithCancel(context.Background())
	retrans := make(chan int, 1)
	go func() { retrans <- fw.loadConfirmed(ctx, rate) }()
	defer func() { stopLoad() }()

	start, kills := time.Now(), 0
	for time.Since(start) < dur {
		time.Sleep(300*time.Millisecond + time.Duration(rng.Int64N(int64(1200*time.Millisecond))))
		require.NoError(t, h.d.Alive(), "the daemon died on its own")
		h.kill()
		kills++
		h.start()
	}
	// Let the last uplinks be answered and retransmitted, then crash once more.
	time.Sleep(3 * time.Second)
	stopLoad()
	retransmitted := <-retrans
	h.waitQuiet(time.Second, 10*time.Second)
	h.kill()
	kills++

	st, _ := readStore(t, h.dataDir)
	fw.mu.Lock()
	defer fw.mu.Unlock()
	asRetrans := fw.checkStored(t, st)
	require.Empty(t, fw.bad, "downlinks the devices could not use")
	require.NotEmpty(t, fw.acked, "no uplink was acknowledged")
	missing := 0
	for _, u := range fw.acked {
		byT := st[h.fleet.devs[u.dev].EUI.String()]
		if len(byT[u.at.UnixNano()]) != measurementsPerUplink && len(byT[u.at.Add(retransmitDelay).UnixNano()]) != measurementsPerUplink {
			missing++
			if missing < 5 {
				t.Errorf("device %d f_cnt %d was acknowledged but is not (fully) in the store", u.dev, u.fcnt)
			}
		}
	}
	require.Zero(t, missing, "acknowledged uplinks missing from the store after kill -9")
	sent := h.fleet.sentCount()
	t.Logf("%d kills, %d confirmed uplinks sent at %.0f/s, %d retransmitted, %d ACKs seen for %d uplinks (%.1f%%), %d uplinks stored (%d of them from their retransmission)",
		kills, sent, rate, retransmitted, fw.ackCount, len(fw.acked), 100*float64(len(fw.acked))/float64(sent), st.uplinks(), asRetrans)
}

// checkStored asserts that every uplink in the store was sent, with its six
// values, at its own time or, if it was retransmitted, at the
// retransmission's, never at both. It returns how many were stored from
// their retransmission. Call it with f.mu held.
func (f *ackForwarder) checkStored(t *testing.T, st content) (asRetrans int) {
	t.Helper()
	bad := 0
	fail := func(format string, args ...any) {
		bad++
		if bad < 5 {
			t.Errorf(format, args...)
		}
	}
	for dev, byT := range st {
		for ns, qs := range byT {
			at := time.Unix(0, ns).UTC()
			u, ok := f.fleet.lookup(dev, at)
			if !ok {
				if u, ok = f.fleet.lookup(dev, at.Add(-retransmitDelay)); !ok || !f.resent[ackKey{u.dev, u.at.UnixNano()}] {
					fail("%s at %s was never sent", dev, at)
					continue
				}
				asRetrans++
				if _, twice := byT[u.at.UnixNano()]; twice {
					fail("%s f_cnt %d stored twice: first copy and retransmission", dev, u.fcnt)
				}
			}
			want := float64(int16(-150+int(u.fcnt%300))) / 100
			if v, ok := qs[string(measurement.RoadSurfaceTemperature)]; !ok || math.Abs(v-want) > 1e-9 || len(qs) != measurementsPerUplink {
				fail("%s f_cnt %d: road surface %v (want %v), %d quantities", dev, u.fcnt, v, want, len(qs))
			}
		}
	}
	require.Zero(t, bad, "stored uplinks that do not match what was sent")
	return asRetrans
}
