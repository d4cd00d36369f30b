package main

import (
	"context"
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
