package sim

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/semtechudp"
)

// gwmpServer is the GWMP side of the tests' network servers: it acks
// PULL_DATA and PUSH_DATA, keeps each gateway's downlink address and what
// it sent, and hands every rxpk to handle with mu held.
type gwmpServer struct {
	t      *testing.T
	conn   *net.UDPConn
	handle func(gw lorawan.EUI64, rx semtechudp.RXPK)

	mu       sync.Mutex
	pullFrom map[lorawan.EUI64]*net.UDPAddr
	pulls    map[lorawan.EUI64]int
	rxpks    map[lorawan.EUI64][]semtechudp.RXPK
	stats    int
	txAcks   map[uint16]semtechudp.TxAckPacket
}

// listenGWMP opens a loopback port for the test's lifetime.
func listenGWMP(t *testing.T) *gwmpServer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	return &gwmpServer{t: t, conn: conn, pullFrom: map[lorawan.EUI64]*net.UDPAddr{},
		pulls: map[lorawan.EUI64]int{}, rxpks: map[lorawan.EUI64][]semtechudp.RXPK{}, txAcks: map[uint16]semtechudp.TxAckPacket{}}
}

// start serves until the test ends; the peer that owns g is complete by
// now, as handle runs on the serving goroutine.
func (g *gwmpServer) start(handle func(gw lorawan.EUI64, rx semtechudp.RXPK)) {
	t, conn := g.t, g.conn
	g.handle = handle
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.serve()
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
}

// testNS is a minimal LoRaWAN network server for the loopback test: it
// answers join-requests, decrypts uplinks and closes the valve on its
// first confirmed uplink.
type testNS struct {
	*gwmpServer

	devices   map[lorawan.EUI64]device.Device
	sessions  map[lorawan.DevAddr]*testSession
	nonces    map[lorawan.DevNonce]bool
	seenFCnt  map[lorawan.DevAddr]map[uint32]bool
	sentToken map[uint16]bool
	uplinks   map[lorawan.EUI64][]testUplink
	valveSent bool
	nextAddr  byte
}

type testSession struct {
	dev      device.Device
	nwk, app lorawan.AES128Key
	fCntDown uint32
}

// joinSession answers a join-request of d with the n-th DevAddr: the
// join-accept and the session both sides derive from it.
func joinSession(t *testing.T, d device.Device, joinReq []byte, n byte) (lorawan.DevAddr, []byte, *testSession) {
	addr := lorawan.DevAddr{0x02, 0x00, 0x00, n}
	netID := lorawan.NetID{0, 0, 0}
	ja, nonce := joinAcceptFor(t, d.AppKey, joinReq, addr, uint32(n), netID)
	nwk, app := nsKeys(t, d.AppKey, uint32(n), netID, uint16(nonce))
	return addr, ja, &testSession{dev: d, nwk: nwk, app: app}
}

// verify checks an uplink's MIC and reports a mismatch.
func (s *testSession) verify(t *testing.T, phy lorawan.PHYPayload) bool {
	ok, err := phy.ValidateUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, s.nwk, s.nwk)
	if err != nil || !ok {
		t.Errorf("uplink MIC from %s does not verify", s.dev.DevEUI)
		return false
	}
	return true
}

type testUplink struct {
	fcnt      uint32
	fport     uint8
	payload   []byte
	confirmed bool
	ack       bool
	time      time.Time
}

func newTestNS(t *testing.T, devs []device.Device) *testNS {
	t.Helper()
	ns := &testNS{devices: map[lorawan.EUI64]device.Device{}, sessions: map[lorawan.DevAddr]*testSession{},
		nonces: map[lorawan.DevNonce]bool{}, seenFCnt: map[lorawan.DevAddr]map[uint32]bool{},
		sentToken: map[uint16]bool{}, uplinks: map[lorawan.EUI64][]testUplink{}}
	for _, d := range devs {
		ns.devices[d.DevEUI] = d
		if d.Activation == device.ABP {
			ns.sessions[d.DevAddr] = &testSession{dev: d, nwk: d.NwkSKey, app: d.AppSKey}
		}
	}
	ns.gwmpServer = listenGWMP(t)
	ns.start(ns.handleRX)
	return ns
}

func (ns *gwmpServer) addr() string { return ns.conn.LocalAddr().String() }

func (ns *gwmpServer) serve() {
	buf := make([]byte, 65535)
	for {
		n, from, err := ns.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		p, err := semtechudp.Unmarshal(buf[:n])
		if err != nil {
			ns.t.Errorf("simulator sent a malformed datagram: %v", err)
			continue
		}
		switch p := p.(type) {
		case *semtechudp.PullDataPacket:
			ns.mu.Lock()
			ns.pullFrom[p.GatewayMAC] = from
			ns.pulls[p.GatewayMAC]++
			ns.mu.Unlock()
			ns.send(from, &semtechudp.PullAckPacket{ProtocolVersion: p.ProtocolVersion, RandomToken: p.RandomToken})
		case *semtechudp.PushDataPacket:
			ns.send(from, &semtechudp.PushAckPacket{ProtocolVersion: p.ProtocolVersion, RandomToken: p.RandomToken})
			ns.mu.Lock()
			if p.Payload.Stat != nil {
				ns.stats++
			}
			for _, rx := range p.Payload.RXPK {
				ns.rxpks[p.GatewayMAC] = append(ns.rxpks[p.GatewayMAC], rx)
				ns.handle(p.GatewayMAC, rx)
			}
			ns.mu.Unlock()
		case *semtechudp.TxAckPacket:
			ns.mu.Lock()
			ns.txAcks[p.RandomToken] = *p
			ns.mu.Unlock()
		default:
			ns.t.Errorf("unexpected %s from simulator", p.Type())
		}
	}
}

func (ns *gwmpServer) send(to *net.UDPAddr, p interface{ MarshalBinary() ([]byte, error) }) {
	b, err := p.MarshalBinary()
	if err != nil {
		ns.t.Errorf("marshal: %v", err)
		return
	}
	_, _ = ns.conn.WriteToUDP(b, to)
}

// downlink sends a PULL_RESP to the gateway's PULL_DATA address; call
// with ns.mu held.
func (ns *testNS) downlink(gw lorawan.EUI64, rx semtechudp.RXPK, phy []byte) {
	token := uint16(len(ns.sentToken) + 0x100)
	ns.sentToken[token] = true
	ns.pullResp(gw, token, rx, phy)
}

// pullResp answers an rxpk in RX1; call with mu held.
func (ns *gwmpServer) pullResp(gw lorawan.EUI64, token uint16, rx semtechudp.RXPK, phy []byte) {
	to := ns.pullFrom[gw]
	if to == nil {
		ns.t.Errorf("downlink before PULL_DATA from %s", gw)
		return
	}
	tmst := rx.Tmst + 1_000_000
	ns.send(to, &semtechudp.PullRespPacket{ProtocolVersion: semtechudp.ProtocolVersion2, RandomToken: token,
		Payload: semtechudp.PullRespPayload{TXPK: semtechudp.TXPK{Tmst: &tmst, Freq: rx.Freq, Modu: "LORA",
			DatR: rx.DatR, CodR: "4/5", IPol: true, Powe: 14, Size: uint16(len(phy)), Data: phy}}})
}

func (ns *testNS) handleRX(gw lorawan.EUI64, rx semtechudp.RXPK) {
	var phy lorawan.PHYPayload
	if err := phy.UnmarshalBinary(rx.Data); err != nil {
		ns.t.Errorf("uplink PHYPayload: %v", err)
		return
	}
	switch phy.MHDR.MType {
	case lorawan.JoinRequest:
		jr := phy.MACPayload.(*lorawan.JoinRequestPayload)
		if ns.nonces[jr.DevNonce] {
			return // the same request through the other gateway
		}
		ns.nonces[jr.DevNonce] = true
		d, ok := ns.devices[jr.DevEUI]
		if !ok {
			ns.t.Errorf("join-request from unknown %s", jr.DevEUI)
			return
		}
		ns.nextAddr++
		addr, ja, s := joinSession(ns.t, d, rx.Data, ns.nextAddr)
		ns.sessions[addr] = s
		ns.downlink(gw, rx, ja)
	case lorawan.UnconfirmedDataUp, lorawan.ConfirmedDataUp:
		mp := phy.MACPayload.(*lorawan.MACPayload)
		s := ns.sessions[mp.FHDR.DevAddr]
		if s == nil {
			ns.t.Errorf("uplink from unknown DevAddr %s", mp.FHDR.DevAddr)
			return
		}
		if !s.verify(ns.t, phy) {
			return
		}
		if ns.seenFCnt[mp.FHDR.DevAddr] == nil {
			ns.seenFCnt[mp.FHDR.DevAddr] = map[uint32]bool{}
		}
		if ns.seenFCnt[mp.FHDR.DevAddr][mp.FHDR.FCnt] {
			return // deduplicated
		}
		ns.seenFCnt[mp.FHDR.DevAddr][mp.FHDR.FCnt] = true
		if err := phy.DecryptFRMPayload(s.app); err != nil {
			ns.t.Errorf("decrypt: %v", err)
			return
		}
		up := testUplink{fcnt: mp.FHDR.FCnt, confirmed: phy.MHDR.MType == lorawan.ConfirmedDataUp, ack: mp.FHDR.FCtrl.ACK}
		if rx.Time != nil {
			up.time = time.Time(*rx.Time)
		}
		if mp.FPort != nil {
			up.fport = *mp.FPort
			up.payload = mp.FRMPayload[0].(*lorawan.DataPayload).Bytes
		}
		ns.uplinks[s.dev.DevEUI] = append(ns.uplinks[s.dev.DevEUI], up)
		if up.confirmed {
			var fport uint8
			var data []byte
			if s.dev.Profile == ProfileValve && !ns.valveSent {
				ns.valveSent = true
				fport, data = FPortValve, []byte{ValveCmdClose}
			}
			ns.downlink(gw, rx, serverDownlink(ns.t, mp.FHDR.DevAddr, s.nwk, s.app, s.fCntDown, true, false, fport, data))
			s.fCntDown++
		}
	}
}

func TestGatewaysOverLoopback(t *testing.T) {
	devs := Devices("building-meters")
	ns := newTestNS(t, devs)
	start := time.Date(2026, 1, 12, 8, 0, 0, 0, cet)
	sim, err := New(Options{
		Target: ns.addr(), Config: Config{Scenario: "building-meters", Speed: 3600, Gateways: 2},
		Start: start, Duration: 3 * time.Hour,
		KeepaliveInterval: 100 * time.Millisecond, StatInterval: 300 * time.Millisecond,
		JoinTimeout: time.Second, Linger: 300 * time.Millisecond,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, sim.Run(ctx))
	require.NoError(t, ctx.Err(), "run ended by the scenario, not the timeout")

	ns.mu.Lock()
	defer ns.mu.Unlock()

	// Keepalives and stats from both gateways, on their own sockets.
	require.Len(t, ns.pullFrom, 2)
	for i := range 2 {
		gw := GatewayEUI(i)
		assert.GreaterOrEqual(t, ns.pulls[gw], 3, "PULL_DATA keepalives from %s", gw)
	}
	assert.NotEqual(t, ns.pullFrom[GatewayEUI(0)].String(), ns.pullFrom[GatewayEUI(1)].String())
	assert.Positive(t, ns.stats, "stat objects")

	// rxpk content: virtual time inside the scenario, tmst counting up per
	// gateway, consistent size and radio fields.
	end := start.Add(3 * time.Hour)
	for gw, rxs := range ns.rxpks {
		require.NotEmpty(t, rxs, gw)
		var lastTmst uint32
		for i, rx := range rxs {
			require.NotNil(t, rx.Time)
			vt := time.Time(*rx.Time)
			assert.False(t, vt.Before(start) || vt.After(end), "rxpk.time %s outside the virtual window", vt)
			assert.Equal(t, int(rx.Size), len(rx.Data))
			assert.Equal(t, int8(1), rx.Stat)
			assert.Equal(t, "LORA", rx.Modu)
			assert.NotEmpty(t, rx.DatR.LoRa)
			assert.Contains(t, []float64{868.1, 868.3, 868.5}, rx.Freq)
			assert.Less(t, rx.RSSI, int16(-60))
			if i > 0 {
				assert.Greater(t, rx.Tmst-lastTmst, uint32(0), "tmst counts up")
			}
			lastTmst = rx.Tmst
		}
	}

	// A frame heard by both gateways arrives twice, each with its own
	// signal report.
	rssiAt := map[string]int16{}
	for _, rx := range ns.rxpks[GatewayEUI(0)] {
		rssiAt[string(rx.Data)] = rx.RSSI
	}
	both, differ := 0, 0
	for _, rx := range ns.rxpks[GatewayEUI(1)] {
		if r0, ok := rssiAt[string(rx.Data)]; ok {
			both++
			if r0 != rx.RSSI {
				differ++
			}
		}
	}
	assert.Positive(t, both, "frames heard by both gateways")
	assert.Positive(t, differ, "gateways report their own RSSI")

	// Every PULL_RESP was answered with a TX_ACK carrying its token.
	require.NotEmpty(t, ns.sentToken)
	for tok := range ns.sentToken {
		ack, ok := ns.txAcks[tok]
		if assert.True(t, ok, "TX_ACK for token %d", tok) {
			assert.NoError(t, ack.Err())
		}
	}

	// Join-accepts reached the right devices: every OTAA device joined and
	// sent data that verified with the keys the test server derived.
	st := sim.Stats()
	otaa := 0
	for _, d := range devs {
		ds, ok := sim.DeviceState(d.DevEUI)
		require.True(t, ok)
		assert.True(t, ds.Joined, d.Name)
		if d.Activation == device.OTAA {
			otaa++
			assert.Equal(t, byte(0x02), ds.DevAddr[0], "DevAddr from our join-accept")
		}
		assert.NotEmpty(t, ns.uplinks[d.DevEUI], "uplinks from %s", d.Name)
	}
	assert.Equal(t, uint64(otaa), st.JoinsDone)
	assert.Positive(t, st.PushAcks)
	assert.Positive(t, st.PullAcks)
	assert.Equal(t, uint64(len(ns.sentToken)), st.TxAcks)

	// The valve got its close command and acknowledgements, and says so.
	valve := devs[3]
	require.Equal(t, ProfileValve, valve.Profile)
	vs, _ := sim.DeviceState(valve.DevEUI)
	require.NotNil(t, vs.ValveOpen)
	assert.False(t, *vs.ValveOpen, "valve closed by downlink")
	assert.Positive(t, st.AcksReceived)
	assert.Positive(t, st.AppDownlinks)
	ups := ns.uplinks[valve.DevEUI]
	require.GreaterOrEqual(t, len(ups), 2)
	assert.Equal(t, FPortValve, ups[0].fport)
	assert.Equal(t, []byte{1}, ups[0].payload[:1], "open before the command")
	last := ups[len(ups)-1]
	assert.Equal(t, []byte{0}, last.payload[:1], "reports closed after the command")

	// With the main valve shut, the water meter stops counting although
	// it is school time.
	water := ns.uplinks[devs[2].DevEUI]
	require.GreaterOrEqual(t, len(water), 3)
	pulses := func(u testUplink) uint32 { return binary.LittleEndian.Uint32(u.payload[len(u.payload)-4:]) }
	assert.Equal(t, pulses(water[len(water)-2]), pulses(water[len(water)-1]), "no flow behind a closed valve")
}
