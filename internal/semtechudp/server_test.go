package semtechudp

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startServer runs a server on a loopback port until the test ends.
func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Config.Listen == "" {
		opts.Config.Listen = "127.0.0.1:0"
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	s, err := NewServer(opts)
	require.NoError(t, err)
	require.NoError(t, s.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return s
}

// gw is a test client playing a packet forwarder on its own socket.
type gw struct {
	t    testing.TB
	conn *net.UDPConn
	mac  lorawan.EUI64
}

func newGW(t testing.TB, s *Server, mac lorawan.EUI64) *gw {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, s.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &gw{t: t, conn: conn, mac: mac}
}

func (g *gw) send(p Packet) {
	g.t.Helper()
	b, err := p.MarshalBinary()
	require.NoError(g.t, err)
	g.sendRaw(b)
}

func (g *gw) sendRaw(b []byte) {
	g.t.Helper()
	_, err := g.conn.Write(b)
	require.NoError(g.t, err)
}

// recv waits for the next datagram from the server.
func (g *gw) recv() Packet {
	g.t.Helper()
	p, err := g.tryRecv(2 * time.Second)
	require.NoError(g.t, err)
	return p
}

func (g *gw) tryRecv(d time.Duration) (Packet, error) {
	buf := make([]byte, 65535)
	_ = g.conn.SetReadDeadline(time.Now().Add(d))
	n, err := g.conn.Read(buf)
	if err != nil {
		return nil, err
	}
	return Unmarshal(buf[:n])
}

func (g *gw) pull(v uint8, token uint16) {
	g.t.Helper()
	g.send(&PullDataPacket{ProtocolVersion: v, RandomToken: token, GatewayMAC: g.mac})
	require.Equal(g.t, &PullAckPacket{ProtocolVersion: v, RandomToken: token}, g.recv())
}

func recvFrame(t testing.TB, s *Server) Frame {
	t.Helper()
	select {
	case f := <-s.Frames():
		return f
	case <-time.After(2 * time.Second):
		t.Fatal("no frame")
		return Frame{}
	}
}

func rxpk(data []byte, stat int8) RXPK {
	return RXPK{Tmst: 1000, Freq: 868.1, Stat: stat, Modu: "LORA", DatR: DatR{LoRa: "SF7BW125"}, CodR: "4/5",
		RSSI: -50, LSNR: 7, Size: uint16(len(data)), Data: data}
}

func TestServerProtocolVersions(t *testing.T) {
	for _, v := range []uint8{ProtocolVersion1, ProtocolVersion2} {
		t.Run(map[uint8]string{1: "v1", 2: "v2"}[v], func(t *testing.T) {
			acks := make(chan TxAckEvent, 4)
			fixed := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			s := startServer(t, Options{Now: func() time.Time { return fixed }, OnTxAck: func(e TxAckEvent) { acks <- e }})
			g := newGW(t, s, testMAC)

			g.pull(v, 0x0102)

			stat := &Stat{RXNb: 3, RXOK: 2, RXFW: 2, ACKR: 100}
			g.send(&PushDataPacket{ProtocolVersion: v, RandomToken: 0xbeef, GatewayMAC: g.mac, Payload: PushDataPayload{
				RXPK: []RXPK{rxpk([]byte{1, 2, 3}, 1), rxpk([]byte{4}, -1), rxpk([]byte{5}, 0), rxpk([]byte{6, 7}, 1)},
				Stat: stat,
			}})
			assert.Equal(t, &PushAckPacket{ProtocolVersion: v, RandomToken: 0xbeef}, g.recv())

			f := recvFrame(t, s)
			assert.Equal(t, testMAC, f.GatewayID)
			assert.Equal(t, []byte{1, 2, 3}, f.RXPK.Data)
			assert.Equal(t, fixed, f.ReceivedAt)
			assert.Equal(t, []byte{6, 7}, recvFrame(t, s).RXPK.Data)
			select {
			case f := <-s.Frames():
				t.Fatalf("frame with bad CRC forwarded: %+v", f)
			default:
			}
			assert.Equal(t, 1.0, testutil.ToFloat64(s.m.crcBad))
			assert.Equal(t, 1.0, testutil.ToFloat64(s.m.crcMissing))
			assert.Equal(t, 2.0, testutil.ToFloat64(s.m.framesReceived))

			token, err := s.Send(testMAC, TXPK{Imme: true, Freq: 869.525, Powe: 27, Modu: "LORA",
				DatR: DatR{LoRa: "SF12BW125"}, CodR: "4/5", IPol: true, Size: 2, Data: []byte{0xa0, 0x01}})
			require.NoError(t, err)
			resp, ok := g.recv().(*PullRespPacket)
			require.True(t, ok)
			assert.Equal(t, v, resp.ProtocolVersion)
			assert.Equal(t, token, resp.RandomToken)
			assert.Equal(t, []byte{0xa0, 0x01}, resp.Payload.TXPK.Data)
			if v == ProtocolVersion1 {
				assert.Zero(t, token)
				g.send(&TxAckPacket{ProtocolVersion: v, RandomToken: 0, GatewayMAC: g.mac}) // bare: success
			} else {
				assert.NotZero(t, token)
				g.send(&TxAckPacket{ProtocolVersion: v, RandomToken: token, GatewayMAC: g.mac,
					Payload: &TxAckPayload{TXPKACK: TXPKACK{Error: "NONE"}}})
			}
			select {
			case e := <-acks:
				assert.Equal(t, TxAckEvent{GatewayID: testMAC, Token: token}, e)
			case <-time.After(2 * time.Second):
				t.Fatal("no tx ack event")
			}

			gws := s.Gateways()
			require.Len(t, gws, 1)
			st := gws[0]
			assert.Equal(t, testMAC, st.ID)
			assert.Equal(t, v, st.ProtocolVersion)
			assert.Equal(t, g.conn.LocalAddr().String(), st.Addr.String())
			assert.Equal(t, fixed, st.LastSeen)
			assert.Equal(t, fixed, st.LastPullData)
			assert.Equal(t, uint64(4), st.RXReceived)
			assert.Equal(t, uint64(2), st.RXOK)
			assert.Equal(t, uint64(1), st.TXSent)
			assert.Equal(t, uint64(1), st.TXAcked)
			assert.Zero(t, st.TXErrors)
			assert.Equal(t, stat, st.Stat)
			assert.Equal(t, 1.0, testutil.ToFloat64(s.m.datagrams.WithLabelValues("push_data")))
			assert.Equal(t, 1.0, testutil.ToFloat64(s.m.datagrams.WithLabelValues("pull_data")))
			assert.Equal(t, 1.0, testutil.ToFloat64(s.m.datagrams.WithLabelValues("tx_ack")))
			assert.Equal(t, 1.0, testutil.ToFloat64(s.m.txAcks.WithLabelValues("none")))
		})
	}
}

func TestServerSeveralGateways(t *testing.T) {
	s := startServer(t, Options{Config: Config{QueueSize: 4096}})
	const nGW, nPush = 6, 50
	var wg sync.WaitGroup
	for i := range nGW {
		mac := lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0, 0, byte(i)}
		g := newGW(t, s, mac)
		v := uint8(1 + i%2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.send(&PullDataPacket{ProtocolVersion: v, RandomToken: 1, GatewayMAC: mac})
			for j := range nPush {
				g.send(&PushDataPacket{ProtocolVersion: v, RandomToken: uint16(j), GatewayMAC: mac,
					Payload: PushDataPayload{RXPK: []RXPK{rxpk([]byte{byte(i), byte(j)}, 1)}}})
				// Pace on the ack, as a forwarder's send window would.
				if _, err := g.tryRecv(2 * time.Second); err != nil {
					t.Errorf("gateway %d: %v", i, err)
					return
				}
			}
		}()
	}
	perGW := map[lorawan.EUI64]int{}
	for range nGW * nPush {
		f := recvFrame(t, s)
		perGW[f.GatewayID]++
		assert.Equal(t, f.GatewayID[7], f.RXPK.Data[0])
	}
	wg.Wait()
	require.Len(t, perGW, nGW)
	for id, n := range perGW {
		assert.Equal(t, nPush, n, id.String())
	}
	gws := s.Gateways()
	require.Len(t, gws, nGW)
	for i, st := range gws {
		assert.Equal(t, byte(i), st.ID[7], "sorted by ID")
		assert.Equal(t, uint64(nPush), st.RXOK)
		assert.Equal(t, uint8(1+i%2), st.ProtocolVersion)
		assert.True(t, st.Addr.IsValid())
	}
}

func TestServerNATSafeDownlinkAddress(t *testing.T) {
	s := startServer(t, Options{})
	pullSock := newGW(t, s, testMAC)
	pushSock := newGW(t, s, testMAC)

	_, err := s.Send(testMAC, TXPK{Imme: true})
	require.ErrorIs(t, err, ErrGatewayUnknown)

	// PUSH_DATA alone does not make a downlink path.
	pushSock.send(&PushDataPacket{ProtocolVersion: 2, RandomToken: 9, GatewayMAC: testMAC, Payload: PushDataPayload{Stat: &Stat{}}})
	pushSock.recv()
	_, err = s.Send(testMAC, TXPK{Imme: true})
	require.ErrorIs(t, err, ErrGatewayUnknown)

	pullSock.pull(2, 7)
	pushSock.send(&PushDataPacket{ProtocolVersion: 2, RandomToken: 10, GatewayMAC: testMAC, Payload: PushDataPayload{RXPK: []RXPK{rxpk([]byte{1}, 1)}}})
	pushSock.recv()
	recvFrame(t, s)

	tok, err := s.Send(testMAC, TXPK{Imme: true, Size: 1, Data: []byte{0x42}})
	require.NoError(t, err)
	p, ok := pullSock.recv().(*PullRespPacket)
	require.True(t, ok)
	assert.Equal(t, tok, p.RandomToken)
	_, err = pushSock.tryRecv(200 * time.Millisecond)
	require.Error(t, err, "PULL_RESP must not go to the PUSH_DATA socket")

	st, ok := s.Gateway(testMAC)
	require.True(t, ok)
	assert.Equal(t, pullSock.conn.LocalAddr().String(), st.Addr.String())
	assert.Equal(t, pushSock.conn.LocalAddr().String(), st.PushAddr.String())

	// The NAT mapping changed: the next PULL_DATA moves the downlink path.
	moved := newGW(t, s, testMAC)
	moved.pull(1, 8)
	tok, err = s.Send(testMAC, TXPK{Imme: true})
	require.NoError(t, err)
	assert.Zero(t, tok, "v1 PULL_DATA => v1 PULL_RESP without token")
	p, ok = moved.recv().(*PullRespPacket)
	require.True(t, ok)
	assert.Equal(t, ProtocolVersion1, p.ProtocolVersion)
	_, err = pullSock.tryRecv(200 * time.Millisecond)
	require.Error(t, err)
}

func TestServerTxAckErrors(t *testing.T) {
	acks := make(chan TxAckEvent, 16)
	s := startServer(t, Options{OnTxAck: func(e TxAckEvent) { acks <- e }})
	g := newGW(t, s, testMAC)
	g.pull(2, 1)

	tests := []struct {
		code  string
		want  error
		label string
	}{
		{"TOO_LATE", ErrTxTooLate, "too_late"},
		{"TOO_EARLY", ErrTxTooEarly, "too_early"},
		{"COLLISION_PACKET", ErrTxCollisionPacket, "collision_packet"},
		{"COLLISION_BEACON", ErrTxCollisionBeacon, "collision_beacon"},
		{"TX_FREQ", ErrTxFreq, "tx_freq"},
		{"TX_POWER", ErrTxPower, "tx_power"},
		{"GPS_UNLOCKED", ErrTxGPSUnlocked, "gps_unlocked"},
		{"NONE", nil, "none"},
		{"", nil, "none"},
		{"SOMETHING_NEW", TxAckError("SOMETHING_NEW"), "other"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			before := testutil.ToFloat64(s.m.txAcks.WithLabelValues(tc.label))
			tok, err := s.Send(testMAC, TXPK{Imme: true, Size: 1, Data: []byte{1}})
			require.NoError(t, err)
			resp := g.recv().(*PullRespPacket)
			require.Equal(t, tok, resp.RandomToken)
			g.send(&TxAckPacket{ProtocolVersion: 2, RandomToken: tok, GatewayMAC: testMAC,
				Payload: &TxAckPayload{TXPKACK: TXPKACK{Error: tc.code}}})
			select {
			case e := <-acks:
				assert.Equal(t, tok, e.Token)
				assert.Equal(t, testMAC, e.GatewayID)
				if tc.want == nil {
					assert.NoError(t, e.Err)
				} else {
					assert.ErrorIs(t, e.Err, tc.want)
					var te TxAckError
					require.True(t, errors.As(e.Err, &te))
					assert.Equal(t, tc.code, te.Code())
				}
			case <-time.After(2 * time.Second):
				t.Fatal("no tx ack event")
			}
			assert.Equal(t, before+1, testutil.ToFloat64(s.m.txAcks.WithLabelValues(tc.label)))
		})
	}
	st, _ := s.Gateway(testMAC)
	assert.Equal(t, uint64(len(tests)), st.TXSent)
	assert.Equal(t, uint64(2), st.TXAcked)
	assert.Equal(t, uint64(len(tests)-2), st.TXErrors)

	// A TX_ACK for a token never sent (or already acknowledged) is counted,
	// not delivered.
	g.send(&TxAckPacket{ProtocolVersion: 2, RandomToken: 0x7777, GatewayMAC: testMAC})
	require.Eventually(t, func() bool { return testutil.ToFloat64(s.m.txAckUnmatched) == 1 }, 2*time.Second, 5*time.Millisecond)
	select {
	case e := <-acks:
		t.Fatalf("unmatched tx ack delivered: %+v", e)
	default:
	}
}

func TestServerMalformed(t *testing.T) {
	s := startServer(t, Options{})
	g := newGW(t, s, testMAC)
	hdr := func(v, typ byte) []byte { return []byte{v, 0xaa, 0xbb, typ, 1, 2, 3, 4, 5, 6, 7, 8} }
	push := func(js string) []byte { return append(hdr(2, 0), js...) }
	tests := []struct {
		reason string
		in     []byte
		acked  bool // a PUSH_DATA with a valid header gets its PUSH_ACK
	}{
		{"short", []byte{2}, false},
		{"short", hdr(2, 2)[:9], false},
		{"unknown_version", hdr(9, 0), false},
		{"unknown_type", hdr(2, 0x0f), false},
		{"unexpected_type", []byte{2, 0, 0, byte(PushAck)}, false},
		{"bad_json", push(`{"rxpk":[}`), true},
		{"bad_json", push(`[1,2]`), true},
	}
	want := map[string]float64{}
	for _, tc := range tests {
		g.sendRaw(tc.in)
		want[tc.reason]++
		if tc.acked {
			assert.Equal(t, &PushAckPacket{ProtocolVersion: 2, RandomToken: 0xaabb}, g.recv(), tc.reason)
		}
	}
	require.Eventually(t, func() bool {
		for r, n := range want {
			if testutil.ToFloat64(s.m.malformed.WithLabelValues(r)) != n {
				return false
			}
		}
		return true
	}, 2*time.Second, 5*time.Millisecond)
	// No other reply.
	_, err := g.tryRecv(100 * time.Millisecond)
	require.Error(t, err)
	assert.Empty(t, s.Gateways(), "malformed datagrams must not register gateways")

	// A PUSH_DATA whose only rxpk is bad is acknowledged, its rxpk counted.
	for _, tc := range []struct{ reason, js string }{
		{"bad_base64", `{"rxpk":[{"stat":1,"size":2,"data":"*#"}]}`},
		{"size_mismatch", `{"rxpk":[{"stat":1,"size":9,"data":"AQI="}]}`},
	} {
		g.sendRaw(push(tc.js))
		want[tc.reason]++
		assert.Equal(t, &PushAckPacket{ProtocolVersion: 2, RandomToken: 0xaabb}, g.recv(), tc.reason)
	}
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(s.m.malformed.WithLabelValues("size_mismatch")) == 1
	}, 2*time.Second, 5*time.Millisecond)
	assert.InDelta(t, 1, testutil.ToFloat64(s.m.malformed.WithLabelValues("bad_base64")), 0)

	// The server still works.
	g.pull(2, 0x1111)
	g.send(&PushDataPacket{ProtocolVersion: 2, RandomToken: 2, GatewayMAC: testMAC, Payload: PushDataPayload{RXPK: []RXPK{rxpk([]byte{1}, 1)}}})
	g.recv()
	recvFrame(t, s)

	// The counter is visible on the registry under its documented name.
	reg := prometheus.NewRegistry()
	s2, err := NewServer(Options{Config: Config{Listen: "127.0.0.1:0"}, Registerer: reg})
	require.NoError(t, err)
	s2.m.malformed.WithLabelValues("short").Inc()
	n, err := testutil.GatherAndCount(reg, "loraedge_semtechudp_datagrams_malformed_total")
	require.NoError(t, err)
	assert.Equal(t, len(malformedReasons), n)
	_, err = NewServer(Options{Config: Config{Listen: "127.0.0.1:0"}, Registerer: reg})
	require.Error(t, err, "double registration must fail loudly")
}

func TestServerQueueFullDrops(t *testing.T) {
	s := startServer(t, Options{Config: Config{QueueSize: 2}})
	g := newGW(t, s, testMAC)
	var rx []RXPK
	for i := range 5 {
		rx = append(rx, rxpk([]byte{byte(i)}, 1))
	}
	g.send(&PushDataPacket{ProtocolVersion: 2, RandomToken: 1, GatewayMAC: testMAC, Payload: PushDataPayload{RXPK: rx}})
	g.recv()
	require.Eventually(t, func() bool { return testutil.ToFloat64(s.m.framesDropped) == 3 }, 2*time.Second, 5*time.Millisecond)
	assert.Equal(t, 2.0, testutil.ToFloat64(s.m.framesReceived))
	// The oldest frames are kept; the receive loop did not block.
	assert.Equal(t, []byte{0}, recvFrame(t, s).RXPK.Data)
	assert.Equal(t, []byte{1}, recvFrame(t, s).RXPK.Data)
	g.pull(2, 5)
}

func TestServerMaxGateways(t *testing.T) {
	s := startServer(t, Options{MaxGateways: 1})
	newGW(t, s, testMAC).pull(2, 1)
	other := newGW(t, s, lorawan.EUI64{1})
	other.send(&PullDataPacket{ProtocolVersion: 2, RandomToken: 2, GatewayMAC: other.mac})
	require.Eventually(t, func() bool { return testutil.ToFloat64(s.m.gwRejected) == 1 }, 2*time.Second, 5*time.Millisecond)
	assert.Len(t, s.Gateways(), 1)
}

func TestServerRunStops(t *testing.T) {
	s, err := NewServer(Options{Config: Config{Listen: "127.0.0.1:0"}})
	require.NoError(t, err)
	assert.Nil(t, s.LocalAddr())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	require.Eventually(t, func() bool { return s.LocalAddr() != nil }, 2*time.Second, time.Millisecond)
	addr := s.LocalAddr().String()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return")
	}
	_, open := <-s.Frames()
	assert.False(t, open, "Frames is closed after Run")
	// The socket is closed: the port can be bound again.
	c, err := net.ListenPacket("udp", addr)
	require.NoError(t, err)
	_ = c.Close()
	require.Error(t, s.Run(context.Background()), "second Run")
}

func TestNewServerValidates(t *testing.T) {
	_, err := NewServer(Options{})
	require.Error(t, err)
	s, err := NewServer(Options{Config: Config{Listen: "256.0.0.1:bad"}})
	require.NoError(t, err)
	require.Error(t, s.Listen())
}

// TestServerTestdata replays the captured-style datagrams against a server.
func TestServerTestdata(t *testing.T) {
	s := startServer(t, Options{})
	g := newGW(t, s, lorawan.EUI64{})
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		return b
	}
	g.sendRaw(read("pull_data_v2.bin"))
	assert.Equal(t, &PullAckPacket{ProtocolVersion: 2, RandomToken: 0xc001}, g.recv())
	g.sendRaw(read("push_data_v2_two_rxpk_stat.bin"))
	assert.Equal(t, &PushAckPacket{ProtocolVersion: 2, RandomToken: 0x8a3c}, g.recv())
	assert.Equal(t, "LORA", recvFrame(t, s).RXPK.Modu)
	assert.Equal(t, "FSK", recvFrame(t, s).RXPK.Modu)
	g.sendRaw(read("push_data_v1_crc_bad.bin"))
	assert.Equal(t, &PushAckPacket{ProtocolVersion: 1, RandomToken: 1}, g.recv())
	// The ACK goes out before the rxpk are parsed: the count may trail it.
	assert.Eventually(t, func() bool { return testutil.ToFloat64(s.m.crcBad) == 1 }, 2*time.Second, 5*time.Millisecond, "CRC_BAD counted")
	for _, f := range []string{"bad_short.bin", "bad_version.bin", "bad_json.bin", "bad_base64.bin"} {
		g.sendRaw(read(f))
	}
	// The two PUSH_DATA among them have valid headers: acknowledged.
	assert.Equal(t, PushAck, g.recv().Type())
	assert.Equal(t, PushAck, g.recv().Type())
	g.sendRaw(read("push_data_v2_rsig.bin"))
	g.recv()
	assert.Equal(t, int16(-118), recvFrame(t, s).RXPK.RSig[0].RSSIC)
	assert.Equal(t, 1.0, testutil.ToFloat64(s.m.malformed.WithLabelValues("bad_json")))
	assert.Equal(t, 1.0, testutil.ToFloat64(s.m.malformed.WithLabelValues("bad_base64")))

	mac := lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0x61, 0x28, 0xa1}
	st, ok := s.Gateway(mac)
	require.True(t, ok)
	assert.Equal(t, uint64(4), st.RXReceived) // 2 + 1 bad CRC + 1 rsig
	assert.Equal(t, uint64(1), st.RXRejected) // bad_base64.bin
	assert.Equal(t, uint64(3), st.RXOK)
	require.NotNil(t, st.Stat)
	assert.Equal(t, uint32(2), st.Stat.RXNb)
}
