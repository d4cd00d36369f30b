package soak

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/loadtest"
	"github.com/loraedge/loraedge/internal/semtechudp"
)

// rssLimit bounds the daemon's resident memory under the flood: its
// bounded queues must hold, whatever arrives. The idle daemon with 20
// devices takes about 20-30 MiB.
const rssLimit = 150 << 20

// badKind is one kind of bad input and the counter that must count each
// one.
type badKind struct {
	name   string
	metric string
	make   func(k int, rng *rand.Rand) []byte
}

// pushJSON is a PUSH_DATA header from gateway mac followed by body as is.
func pushJSON(mac lorawan.EUI64, body string) []byte {
	b := []byte{semtechudp.ProtocolVersion2, 0x12, 0x34, byte(semtechudp.PushData)}
	b = append(b, mac[:]...)
	return append(b, body...)
}

func malformedMetric(reason string) string {
	return fmt.Sprintf(`loraedge_semtechudp_datagrams_malformed_total{reason=%q}`, reason)
}

// badKinds builds the flood's kinds of bad datagrams and frames for the
// fleet; old(k) returns a distinct old valid frame to replay, or false.
func badKinds(fl *fleet, old func() (sentUplink, bool)) []badKind {
	mac := lorawan.EUI64{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 9}
	push := func(phy []byte) []byte {
		pd := semtechudp.PushDataPacket{ProtocolVersion: semtechudp.ProtocolVersion2, RandomToken: 7, GatewayMAC: mac,
			Payload: semtechudp.PushDataPayload{RXPK: []semtechudp.RXPK{{Tmst: 1, Freq: 868.3, Stat: 1, Modu: "LORA",
				DatR: semtechudp.DatR{LoRa: "SF9BW125"}, CodR: "4/5", RSSI: -100, LSNR: 1, Size: uint16(len(phy)), Data: phy}}}}
		b, err := pd.MarshalBinary()
		if err != nil {
			panic(err)
		}
		return b
	}
	randBytes := func(rng *rand.Rand, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	return []badKind{
		{"random bytes", malformedMetric("unknown_version"), func(_ int, rng *rand.Rand) []byte {
			b := randBytes(rng, 4+rng.IntN(600))
			for b[0] == semtechudp.ProtocolVersion1 || b[0] == semtechudp.ProtocolVersion2 {
				b[0] = byte(rng.Uint32())
			}
			return b
		}},
		{"shorter than a header", malformedMetric("short"), func(_ int, rng *rand.Rand) []byte { return randBytes(rng, rng.IntN(4)) }},
		{"unknown packet type", malformedMetric("unknown_type"), func(_ int, rng *rand.Rand) []byte {
			b := randBytes(rng, 4+rng.IntN(40))
			b[0], b[3] = semtechudp.ProtocolVersion2, byte(6+rng.IntN(250))
			return b
		}},
		{"server-only packet type", malformedMetric("unexpected_type"), func(_ int, rng *rand.Rand) []byte {
			return []byte{semtechudp.ProtocolVersion2, 1, 2, byte([]semtechudp.PacketType{semtechudp.PushAck, semtechudp.PullAck, semtechudp.PullResp}[rng.IntN(3)])}
		}},
		{"truncated PUSH_DATA", malformedMetric("bad_json"), func(k int, rng *rand.Rand) []byte {
			b := push(append([]byte{0x40}, randBytes(rng, 20)...))
			return b[:13+rng.IntN(len(b)-14)]
		}},
		{"PUSH_DATA header only", malformedMetric("short"), func(_ int, rng *rand.Rand) []byte {
			return push([]byte{0x40})[:4+rng.IntN(9)]
		}},
		{"bad JSON", malformedMetric("bad_json"), func(_ int, rng *rand.Rand) []byte {
			return pushJSON(mac, []string{`{"rxpk":[{"data":`, `not json`, `{"rxpk":{}}}`, `[1,2,`, "{\"stat\":\x00}"}[rng.IntN(5)])
		}},
		{"bad base64", malformedMetric("bad_base64"), func(_ int, _ *rand.Rand) []byte {
			return pushJSON(mac, `{"rxpk":[{"tmst":1,"freq":868.1,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-90,"lsnr":5,"size":4,"data":"!!!!"}]}`)
		}},
		{"size mismatch", malformedMetric("size_mismatch"), func(_ int, _ *rand.Rand) []byte {
			return pushJSON(mac, `{"rxpk":[{"tmst":1,"freq":868.1,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-90,"lsnr":5,"size":99,"data":"QAECAwQ="}]}`)
		}},
		{"forged MIC", mMIC, func(k int, _ *rand.Rand) []byte {
			// Distinct frames (device and counter from k), so that dedup
			// merges none of them.
			d := fl.devs[k%len(fl.devs)]
			phy, err := d.Uplink(uint32(k/len(fl.devs)) + 40000)
			if err != nil {
				panic(err)
			}
			phy[len(phy)-1] ^= 0x5a
			return push(phy)
		}},
		{"unknown DevAddr", mUnknownDA, func(k int, rng *rand.Rand) []byte {
			d := loadtest.Device{}
			binary.BigEndian.PutUint32(d.Addr[:], 0x0a000000+uint32(k))
			copy(d.NwkSKey[:], randBytes(rng, 16))
			phy, err := d.Uplink(uint32(k))
			if err != nil {
				panic(err)
			}
			return push(phy)
		}},
		{"undecodable frame", mNetDecode, func(k int, _ *rand.Rand) []byte {
			b := []byte{0x40, 0, 0, 0}
			binary.BigEndian.PutUint16(b[1:], uint16(k))
			return push(b)
		}},
		{"replay", mReplay + "+" + mRetrans, func(_ int, _ *rand.Rand) []byte {
			u, ok := old()
			if !ok {
				return nil
			}
			return push(u.phy)
		}},
	}
}

// Malformed datagrams and forged frames (random bytes, truncated GWMP, bad
// JSON, bad base64, forged MICs, unknown DevAddrs, undecodable frames,
// replays of old frames) at a high rate, mixed with valid uplinks at a
// modest one:
//   - the daemon stays up;
//   - every valid uplink is stored (0 loss);
//   - every bad datagram or frame is counted, exactly, under its own
//     metric and reason (given no kernel drops at the socket);
//   - resident memory stays below rssLimit.
func TestFlood(t *testing.T) {
	dur := soakDuration(t)
	h := newHarness(t, harnessOptions{devices: 20})
	h.start()
	good := newForwarder(t, h.udpPort, 1)
	bad := []*forwarder{newForwarder(t, h.udpPort, 2), newForwarder(t, h.udpPort, 3)}

	var (
		replayMu   sync.Mutex
		replayNext int
	)
	// Each replay is an old frame (sent over a second ago, so stored and
	// out of the dedup window) and a different one every time: two equal
	// frames within the dedup window would be merged, not rejected.
	old := func() (sentUplink, bool) {
		replayMu.Lock()
		defer replayMu.Unlock()
		u, ok := h.fleet.sentAt(replayNext)
		if !ok || time.Since(u.wall) < time.Second {
			return sentUplink{}, false
		}
		replayNext++
		return u, true
	}
	kinds := badKinds(h.fleet, old)
	sent := make([]int, len(kinds))

	const (
		goodRate = 20.0   // uplinks/s
		badRate  = 2000.0 // datagrams/s
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); h.fleet.load(ctx, goodRate, []*forwarder{good}, nil) }()
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		start, n := time.Now(), 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for due := int(time.Since(start).Seconds() * badRate); n < due; n++ {
				i := n % len(kinds)
				b := kinds[i].make(n/len(kinds), rng)
				if b == nil {
					continue
				}
				bad[n%len(bad)].raw(b)
				sent[i]++
			}
		}
	}()

	var peak uint64
	start := time.Now()
	for time.Since(start) < dur {
		time.Sleep(200 * time.Millisecond)
		require.NoError(t, h.d.Alive(), "the daemon died under the flood")
		rss, _, err := h.d.RSS()
		require.NoError(t, err)
		peak = max(peak, rss)
		require.Less(t, rss, uint64(rssLimit), "resident memory under the flood")
	}
	stop()
	wg.Wait()
	goodSent := h.fleet.sentCount()

	h.waitMetric(mStored, 15*time.Second, func(v float64) bool { return v >= float64(goodSent) }, "every valid uplink stored")
	time.Sleep(500 * time.Millisecond) // the last bad frames through dedup
	drops, derr := h.d.UDPDrops()
	m := h.metrics()
	want := map[string]int{}
	for i, k := range kinds {
		want[k.metric] += sent[i]
	}
	var lines []string
	for name, n := range want {
		got := 0.0
		for _, part := range strings.Split(name, "+") {
			got += m[part]
		}
		lines = append(lines, fmt.Sprintf("%s=%v/%d", name, got, n))
		assert.Equal(t, float64(n), got, "%s (kernel drops at the socket: %d %v)", name, drops, derr)
	}
	sort.Strings(lines)
	assert.Equal(t, float64(goodSent), m[mNetOK], "network: only the valid uplinks accepted")
	assert.Zero(t, m[mUDPDropped], "frame queue drops")
	require.NoError(t, h.d.Alive())
	h.stop()

	st, _ := readStore(t, h.dataDir)
	h.fleet.checkAgainstSent(t, st, "store")
	require.Equal(t, goodSent, st.uplinks(), "every valid uplink stored, nothing else")
	total := 0
	for _, n := range sent {
		total += n
	}
	t.Logf("%s: %d bad datagrams at %.0f/s of %d kinds with %d valid uplinks at %.0f/s; peak RSS %d MiB (limit %d); kernel drops %d; counted: %s",
		dur, total, float64(total)/dur.Seconds(), len(kinds), goodSent, goodRate, peak>>20, rssLimit>>20, drops, strings.Join(lines, " "))
}
