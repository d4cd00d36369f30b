package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/framelog"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/uplink"
)

// abpFrame builds a real, MICed and encrypted unconfirmed uplink.
func abpFrame(tb testing.TB, addr lorawan.DevAddr, nwk, app lorawan.AES128Key, fcnt uint32, payload []byte) []byte {
	fport := uint8(10)
	phy := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: lorawan.UnconfirmedDataUp, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.MACPayload{
			FHDR:       lorawan.FHDR{DevAddr: addr, FCnt: fcnt},
			FPort:      &fport,
			FRMPayload: []lorawan.Payload{&lorawan.DataPayload{Bytes: append([]byte(nil), payload...)}},
		},
	}
	require.NoError(tb, phy.EncryptFRMPayload(app))
	require.NoError(tb, phy.SetUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, nwk, nwk))
	b, err := phy.MarshalBinary()
	require.NoError(tb, err)
	return b
}

type countingHandler struct{ n atomic.Int64 }

func (c *countingHandler) HandleUplink(context.Context, uplink.Uplink) error {
	c.n.Add(1)
	return nil
}

// BenchmarkUplinkPipeline measures verified uplinks per second from real
// PUSH_DATA datagrams on a loopback socket through semtechudp, the bridge
// and the network layer (dedup, MIC, FCnt, durable session commit,
// decrypt) to the uplink handler. Each datagram carries one uplink of one
// of 1,000 ABP devices, as a busy gateway sends them.
func BenchmarkUplinkPipeline(b *testing.B) {
	b.Run("framelog=off", func(b *testing.B) { benchUplinkPipeline(b, false) })
	b.Run("framelog=on", func(b *testing.B) { benchUplinkPipeline(b, true) })
}

// benchUplinkPipeline runs the pipeline, with the frame log fed by the
// network layer when frames is set.
func benchUplinkPipeline(b *testing.B, frames bool) {
	const nDev = 1000
	devs := make([]device.Device, nDev)
	for i := range devs {
		var eui lorawan.EUI64
		binary.BigEndian.PutUint64(eui[:], 0x70b3d57ed0000000+uint64(i))
		devs[i] = device.Device{DevEUI: eui, Activation: device.ABP, Profile: "generic/road-station",
			DevAddr: lorawan.DevAddr{0x26, 0x01, byte(i >> 8), byte(i)},
			NwkSKey: lorawan.AES128Key{1, byte(i)}, AppSKey: lorawan.AES128Key{2, byte(i)}}
	}
	reg, err := device.NewRegistry(devs)
	require.NoError(b, err)
	handler := &countingHandler{}
	metrics := prometheus.NewRegistry()
	br := newBridge()
	udp, err := semtechudp.NewServer(semtechudp.Options{Config: semtechudp.Config{Listen: "127.0.0.1:0", QueueSize: 8192}, OnTxAck: br.onTxAck, Registerer: metrics})
	require.NoError(b, err)
	opts := network.Options{Devices: reg, StatePath: b.TempDir() + "/network.db",
		Sender: br, Handler: handler, Config: network.Config{QueueSize: 8192, DedupWindow: 50 * time.Millisecond}, Registerer: metrics}
	if frames {
		log, err := framelog.New(framelog.DefaultConfig(), nil)
		require.NoError(b, err)
		opts.Frames, br.frames, br.now = log, log, time.Now
	}
	ns, err := network.NewServer(opts)
	require.NoError(b, err)
	defer ns.Close()
	br.udp, br.net = udp, ns
	require.NoError(b, udp.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	go func() { _ = udp.Run(ctx); done <- struct{}{} }()
	go func() { _ = br.run(ctx); done <- struct{}{} }()
	go func() { _ = ns.Run(ctx); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done; <-done }()

	conn, err := net.DialUDP("udp", nil, udp.LocalAddr().(*net.UDPAddr))
	require.NoError(b, err)
	defer conn.Close()
	gw := lorawan.EUI64{0xaa, 0x55, 0, 0, 0, 0, 0, 1}
	// Datagrams are built before the clock starts: the benchmark measures
	// the daemon, not the gateway.
	datagrams := make([][]byte, b.N)
	for i := range datagrams {
		d := devs[i%nDev]
		phy := abpFrame(b, d.DevAddr, d.NwkSKey, d.AppSKey, uint32(i/nDev), []byte{0xff, 0x83, 0, 0x32, 0x23, 0x8c, 0x20, 0, 0, 0x96, 0x0e, 0x10})
		pd := semtechudp.PushDataPacket{ProtocolVersion: semtechudp.ProtocolVersion2, RandomToken: uint16(i), GatewayMAC: gw,
			Payload: semtechudp.PushDataPayload{RXPK: []semtechudp.RXPK{{Tmst: uint32(i), Freq: 868.1, Stat: 1, Modu: "LORA",
				DatR: semtechudp.DatR{LoRa: "SF7BW125"}, CodR: "4/5", RSSI: -80, LSNR: 7.5, Size: uint16(len(phy)), Data: phy}}}}
		datagrams[i], err = pd.MarshalBinary()
		require.NoError(b, err)
	}
	// PUSH_ACKs are not read: the kernel drops them when the buffer fills.
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i, dg := range datagrams {
		if _, err := conn.Write(dg); err != nil {
			b.Fatal(err)
		}
		// Keep at most ~500 uplinks in flight so that socket buffers,
		// not the daemon, never decide the result.
		for int64(i)-handler.n.Load() > 500 {
			time.Sleep(50 * time.Microsecond)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for handler.n.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	got := handler.n.Load()
	if got < int64(b.N) {
		mfs, _ := metrics.Gather()
		var sb strings.Builder
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if v := m.GetCounter().GetValue(); v > 0 {
					fmt.Fprintf(&sb, "%s%v=%v\n", mf.GetName(), m.GetLabel(), v)
				}
			}
		}
		b.Fatalf("only %d of %d uplinks arrived (loss %.3f %%)\n%s", got, b.N, 100*float64(int64(b.N)-got)/float64(b.N), sb.String())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "uplinks/s")
}
