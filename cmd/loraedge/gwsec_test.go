package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/semtechudp"
)

// The alert engine learns from a real GWMP server that a polling gateway
// confirms none of its downlinks: three PULL_RESP without TX_ACK, then a
// keepalive PULL_DATA after the TX_ACK timeout.
func TestUDPGatewaysReportMissingTxAcks(t *testing.T) {
	var offset atomic.Int64 // the server's clock runs ahead of the wall clock by this
	srvNow := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	srv, err := semtechudp.NewServer(semtechudp.Options{Config: semtechudp.Config{Listen: "127.0.0.1:0"},
		Registerer: prometheus.NewRegistry(), Now: srvNow, TxAckTimeout: 5 * time.Second})
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	conn, err := net.DialUDP("udp", nil, srv.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	mac := lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0, 0, 1}
	buf := make([]byte, 65535)
	exchange := func(p semtechudp.Packet) {
		b, err := p.MarshalBinary()
		require.NoError(t, err)
		_, err = conn.Write(b)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(2*time.Second)))
		_, err = conn.Read(buf)
		require.NoError(t, err)
	}
	exchange(&semtechudp.PullDataPacket{ProtocolVersion: 2, RandomToken: 1, GatewayMAC: mac})
	for range 3 {
		_, err := srv.Send(mac, semtechudp.TXPK{Imme: true, Freq: 869.525, Powe: 14, Modu: "LORA",
			DatR: semtechudp.DatR{LoRa: "SF12BW125"}, CodR: "4/5", Size: 1, Data: []byte{1}})
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(2*time.Second)))
		_, err = conn.Read(buf) // the PULL_RESP, never acknowledged
		require.NoError(t, err)
	}
	offset.Store(int64(10 * time.Second))
	exchange(&semtechudp.PullDataPacket{ProtocolVersion: 2, RandomToken: 2, GatewayMAC: mac})

	daemonNow := time.Date(2026, 1, 12, 10, 0, 0, 0, time.UTC) // a simulation's virtual clock
	g := udpGateways{udp: srv, now: func() time.Time { return daemonNow }}
	h, ok := g.GatewaysTxAcks()[mac.String()]
	require.True(t, ok)
	assert.Equal(t, uint64(3), h.MissingRun)
	assert.WithinDuration(t, daemonNow.Add(10*time.Second), h.LastPullData, 2*time.Second,
		"the latest PULL_DATA is moved onto the daemon's clock")
	assert.Contains(t, g.GatewaysLastSeen(), mac.String())
}

// validate refuses GWMP beyond loopback without a gateway list, and the
// shipped configurations listen on loopback.
func TestValidateOpenGWMPNeedsGatewayList(t *testing.T) {
	file := filepath.Join(t.TempDir(), "loraedge.yaml")
	require.NoError(t, os.WriteFile(file, []byte("udp: {listen: \":1700\"}\n"), 0o600))
	_, _, err := runCmd(t, context.Background(), "validate", file)
	require.ErrorContains(t, err, `udp.listen: ":1700" is not a loopback address`)
	require.ErrorContains(t, err, "gateways list")

	require.NoError(t, os.WriteFile(file, []byte("udp: {listen: \":1700\"}\ngateways: [{id: \"b827ebfffe000001\", allowed_from: [\"10.0.0.0/24\"]}]\n"), 0o600))
	_, _, err = runCmd(t, context.Background(), "validate", file)
	require.NoError(t, err)

	for _, f := range []string{"../../configs/loraedge.yaml", "../../deploy/deb/loraedge.yaml"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Contains(t, string(b), `listen: "127.0.0.1:1700"`, f)
	}
	mk, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	assert.Contains(t, string(mk), "--listen 127.0.0.1:1700", "make run")
}

// Through the whole daemon with its default udp section: a spoofer on
// another address sends the gateway's PULL_DATA, yet the join-accept goes
// to the real forwarder, and the spoofer's attempts are counted.
func TestSpoofedPullDataDoesNotTakeJoinAccept(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "loraedge.yaml")
	appKey := lorawan.AES128Key{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	devEUI, joinEUI := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 0x33}, lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 0}
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`devices:
  - {dev_eui: "%s", activation: otaa, mac_version: "1.0.3", profile: elsys/ers-co2, join_eui: "%s", app_key: "%s"}
`, devEUI, joinEUI, appKey)), 0o600))
	d := startDaemon(t, file, dir)
	defer d.stop()
	mac := lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 9}
	server, err := net.ResolveUDPAddr("udp", d.udpAddr)
	require.NoError(t, err)
	dial := func(ip string) *net.UDPConn {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)}, server)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	real, spoofer := dial("127.0.0.1"), dial("127.0.0.2")
	send := func(c *net.UDPConn, p semtechudp.Packet) {
		b, err := p.MarshalBinary()
		require.NoError(t, err)
		_, err = c.Write(b)
		require.NoError(t, err)
	}
	recv := func(c *net.UDPConn, wait time.Duration) (semtechudp.Packet, error) {
		buf := make([]byte, 65535)
		_ = c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		return semtechudp.Unmarshal(buf[:n])
	}

	send(real, &semtechudp.PullDataPacket{ProtocolVersion: 2, RandomToken: 1, GatewayMAC: mac})
	p, err := recv(real, 2*time.Second)
	require.NoError(t, err)
	require.IsType(t, &semtechudp.PullAckPacket{}, p)
	for i := range 5 {
		send(spoofer, &semtechudp.PullDataPacket{ProtocolVersion: 2, RandomToken: uint16(100 + i), GatewayMAC: mac})
	}
	d.waitMetric(`loraedge_semtechudp_datagrams_refused_total{reason="pull_address_pinned"}`, 5)

	fwd := &gatewayConn{t: t, conn: real, mac: mac}
	fwd.push(joinRequest(t, appKey, joinEUI, devEUI, 0x4242))
	d.waitMetric(`loraedge_network_joins_total{result="ok"}`, 1)
	var resp *semtechudp.PullRespPacket
	for resp == nil { // skip the PUSH_ACK
		p, err := recv(real, 5*time.Second)
		require.NoError(t, err, "the join-accept did not reach the real forwarder")
		resp, _ = p.(*semtechudp.PullRespPacket)
	}
	assert.Equal(t, byte(0x20), resp.Payload.TXPK.Data[0], "MHDR of a join-accept")
	p, err = recv(spoofer, 300*time.Millisecond)
	assert.Error(t, err, "the spoofer received %#v", p)

	send(real, &semtechudp.TxAckPacket{ProtocolVersion: 2, RandomToken: resp.RandomToken, GatewayMAC: mac})
	d.waitMetric(`loraedge_semtechudp_tx_acks_total{error="none"}`, 1)
}
