package semtechudp

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testClock is a settable clock for the server's Now.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// newGWFrom is a forwarder whose socket is bound to another loopback IP
// (Linux routes all of 127.0.0.0/8 to lo), as a spoofer on the network.
func newGWFrom(t testing.TB, s *Server, mac lorawan.EUI64, ip string) *gw {
	t.Helper()
	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)}, s.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &gw{t: t, conn: conn, mac: mac}
}

// expectSilence asserts that the server sends g nothing.
func (g *gw) expectSilence() {
	g.t.Helper()
	p, err := g.tryRecv(200 * time.Millisecond)
	assert.Error(g.t, err, "unexpected datagram %#v", p)
}

func (s *Server) refusedCount(reason string) float64 {
	return testutil.ToFloat64(s.m.refused.WithLabelValues(reason))
}

func testDownlink() TXPK {
	return TXPK{Imme: true, Freq: 869.525, Powe: 27, Modu: "LORA", DatR: DatR{LoRa: "SF12BW125"}, CodR: "4/5",
		IPol: true, Size: 2, Data: []byte{0xa0, 0x01}}
}

// sendAndExpect sends a downlink and asserts that want receives it.
func sendAndExpect(t *testing.T, s *Server, want *gw) uint16 {
	t.Helper()
	token, err := s.Send(want.mac, testDownlink())
	require.NoError(t, err)
	resp, ok := want.recv().(*PullRespPacket)
	require.True(t, ok, "downlink did not reach the expected forwarder")
	assert.Equal(t, token, resp.RandomToken)
	return token
}

func TestDefaultConfigSpoofedPullDoesNotTakeDownlinks(t *testing.T) {
	def := DefaultConfig()
	require.Equal(t, "127.0.0.1:1700", def.Listen)
	def.Listen = "127.0.0.1:0"
	s := startServer(t, Options{Config: def})
	real := newGW(t, s, testMAC)
	spoofer := newGWFrom(t, s, testMAC, "127.0.0.2")

	real.pull(ProtocolVersion2, 1)
	for i := range 5 {
		spoofer.send(&PullDataPacket{ProtocolVersion: ProtocolVersion2, RandomToken: uint16(10 + i), GatewayMAC: testMAC})
	}
	spoofer.expectSilence() // no PULL_ACK either

	token := sendAndExpect(t, s, real)
	spoofer.expectSilence()
	assert.Equal(t, 5.0, s.refusedCount(refusedPullMove))
	st, ok := s.Gateway(testMAC)
	require.True(t, ok)
	assert.Equal(t, uint64(5), st.PullRefused)
	assert.Equal(t, real.conn.LocalAddr().String(), st.Addr.String())

	// The spoofer cannot confirm the downlink for the real forwarder.
	spoofer.send(&TxAckPacket{ProtocolVersion: ProtocolVersion2, RandomToken: token, GatewayMAC: testMAC})
	require.Eventually(t, func() bool { return s.refusedCount(refusedTxAckAddr) == 1 }, 2*time.Second, 5*time.Millisecond)
	st, _ = s.Gateway(testMAC)
	assert.Zero(t, st.TXAcked)
}

func TestPullMoveRule(t *testing.T) {
	clk := newTestClock()
	s := startServer(t, Options{Now: clk.now})
	old := newGWFrom(t, s, testMAC, "127.0.0.1")
	moved := newGWFrom(t, s, testMAC, "127.0.0.3")
	pullFrom := func(g *gw, n int) {
		for range n {
			g.send(&PullDataPacket{ProtocolVersion: ProtocolVersion2, RandomToken: 7, GatewayMAC: testMAC})
		}
	}

	old.pull(ProtocolVersion2, 1)
	clk.advance(time.Minute) // the old IP not silent long enough
	pullFrom(moved, 5)
	moved.expectSilence()

	clk.advance(90 * time.Second) // now silent 2.5 min: two in a row, then the old IP speaks
	pullFrom(moved, 2)
	moved.expectSilence()
	old.pull(ProtocolVersion2, 2)
	clk.advance(2*time.Minute + time.Second)
	pullFrom(moved, 2)
	moved.expectSilence()
	assert.Equal(t, 9.0, s.refusedCount(refusedPullMove))
	assert.Zero(t, testutil.ToFloat64(s.m.pullMoves))
	sendAndExpect(t, s, old)

	moved.pull(ProtocolVersion2, 3) // the third in a row after the silence moves the downlinks
	assert.Equal(t, 1.0, testutil.ToFloat64(s.m.pullMoves))
	sendAndExpect(t, s, moved)
	old.expectSilence()
	old.send(&PullDataPacket{ProtocolVersion: ProtocolVersion2, RandomToken: 8, GatewayMAC: testMAC})
	old.expectSilence() // the old IP is now the stranger
}

func TestGatewayListRefusesUnlistedAndOutsiders(t *testing.T) {
	other := lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0, 0, 0x99}
	fenced := lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0, 0, 0x42}
	s := startServer(t, Options{Gateways: []GatewayConfig{
		{ID: testMAC, Name: "Feuerwache"},
		{ID: fenced, AllowedFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
	}})
	newGW(t, s, testMAC).pull(ProtocolVersion2, 1)

	unlisted := newGW(t, s, other)
	unlisted.send(&PullDataPacket{ProtocolVersion: ProtocolVersion2, RandomToken: 2, GatewayMAC: other})
	unlisted.send(&PushDataPacket{ProtocolVersion: ProtocolVersion2, RandomToken: 3, GatewayMAC: other,
		Payload: PushDataPayload{RXPK: []RXPK{rxpk([]byte{1}, 1)}}})
	unlisted.expectSilence()
	assert.Equal(t, 2.0, s.refusedCount(refusedUnlisted))

	outsider := newGWFrom(t, s, fenced, "127.0.0.2")
	outsider.send(&PullDataPacket{ProtocolVersion: ProtocolVersion2, RandomToken: 4, GatewayMAC: fenced})
	outsider.expectSilence()
	assert.Equal(t, 1.0, s.refusedCount(refusedSource))
	newGWFrom(t, s, fenced, "127.0.0.1").pull(ProtocolVersion2, 5)

	gws := s.Gateways()
	require.Len(t, gws, 2)
	assert.Equal(t, "Feuerwache", gws[0].Name)
	select {
	case f := <-s.Frames():
		t.Fatalf("frame of an unlisted gateway forwarded: %+v", f)
	default:
	}
}

func TestSpoofedEUIsDoNotStopListedGateway(t *testing.T) {
	const spoofed = 4096
	for _, withList := range []bool{true, false} {
		name := map[bool]string{true: "list", false: "no list, table full"}[withList]
		t.Run(name, func(t *testing.T) {
			opts := Options{MaxGateways: spoofed}
			if withList {
				opts.Gateways = []GatewayConfig{{ID: testMAC}}
			}
			s := startServer(t, opts)
			flood := newGWFrom(t, s, lorawan.EUI64{}, "127.0.0.2")
			handled := func() int {
				if withList {
					return int(s.refusedCount(refusedUnlisted))
				}
				return len(s.Gateways()) + int(testutil.ToFloat64(s.m.gwRejected))
			}
			// Batches small enough for any socket buffer: no datagram is lost.
			const batch, total = 64, spoofed + 64
			for i := 0; i < total; i += batch {
				for j := i; j < i+batch; j++ {
					mac := lorawan.EUI64{0xde, 0xad, 0, 0, 0, 0, byte(j >> 8), byte(j)}
					flood.send(&PullDataPacket{ProtocolVersion: ProtocolVersion2, RandomToken: 1, GatewayMAC: mac})
				}
				require.Eventually(t, func() bool { return handled() == i+batch }, 5*time.Second, time.Millisecond)
			}
			if !withList {
				// Without a list the spoofed EUIs fill the table and a new
				// gateway is ignored: the reason for the list.
				require.Len(t, s.Gateways(), spoofed)
				g := newGW(t, s, testMAC)
				g.send(&PullDataPacket{ProtocolVersion: ProtocolVersion2, RandomToken: 9, GatewayMAC: testMAC})
				g.expectSilence()
				return
			}
			g := newGW(t, s, testMAC)
			g.pull(ProtocolVersion2, 9)
			sendAndExpect(t, s, g)
			assert.Len(t, s.Gateways(), 1)
		})
	}
}

func TestListedGatewayNotLimitedByTable(t *testing.T) {
	listed := lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0, 0, 0x77}
	s := startServer(t, Options{MaxGateways: 1, Gateways: []GatewayConfig{{ID: testMAC}, {ID: listed}}})
	newGW(t, s, testMAC).pull(ProtocolVersion2, 1)
	newGW(t, s, listed).pull(ProtocolVersion2, 2)
	assert.Len(t, s.Gateways(), 2)
	assert.Zero(t, testutil.ToFloat64(s.m.gwRejected))
}

func TestMissingTxAckCountedPerGateway(t *testing.T) {
	clk := newTestClock()
	s := startServer(t, Options{Now: clk.now, TxAckTimeout: 5 * time.Second})
	g := newGW(t, s, testMAC)
	g.pull(ProtocolVersion2, 1)
	for range 3 {
		sendAndExpect(t, s, g) // no TX_ACK
	}
	clk.advance(10 * time.Second)
	g.pull(ProtocolVersion2, 2) // the keepalive sweeps the overdue tokens
	st, _ := s.Gateway(testMAC)
	assert.Equal(t, uint64(3), st.TXAckMissing)
	assert.Equal(t, uint64(3), st.TXAckMissingRun)
	assert.Equal(t, 3.0, testutil.ToFloat64(s.m.txAckExpired))

	token := sendAndExpect(t, s, g)
	g.send(&TxAckPacket{ProtocolVersion: ProtocolVersion2, RandomToken: token, GatewayMAC: testMAC})
	require.Eventually(t, func() bool { st, _ = s.Gateway(testMAC); return st.TXAcked == 1 }, 2*time.Second, 5*time.Millisecond)
	assert.Equal(t, uint64(3), st.TXAckMissing)
	assert.Zero(t, st.TXAckMissingRun, "a TX_ACK ends the run")
	assert.Equal(t, clk.now(), st.LastTXAck)
}

func TestValidateGateways(t *testing.T) {
	def := DefaultConfig()
	assert.NoError(t, ValidateGateways(def, nil))
	open := def
	open.Listen = ":1700"
	err := ValidateGateways(open, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "udp.listen")
	assert.Contains(t, err.Error(), "gateways list")
	open.Listen = "192.168.1.10:1700"
	assert.Error(t, ValidateGateways(open, nil))
	assert.NoError(t, ValidateGateways(open, []GatewayConfig{{ID: testMAC}}))

	err = ValidateGateways(def, []GatewayConfig{{ID: testMAC}, {ID: testMAC}, {}, {ID: lorawan.EUI64{1}, Location: Location{Lat: 91}}})
	require.Error(t, err)
	for _, want := range []string{"gateways[1].id", "gateways[2].id", "gateways[3].location"} {
		assert.Contains(t, err.Error(), want)
	}

	for listen, want := range map[string]bool{"127.0.0.1:1700": true, "[::1]:1700": true, "localhost:1700": true,
		":1700": false, "0.0.0.0:1700": false, "10.0.0.1:1700": false, "bad": false} {
		assert.Equal(t, want, ListenIsLoopback(listen), listen)
	}
}
