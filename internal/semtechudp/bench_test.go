package semtechudp

import (
	"net"
	"testing"
	"time"
)

// BenchmarkPushData measures PUSH_DATA datagrams (one rxpk each) through a
// real loopback socket into Frames(). The sender keeps a bounded window in
// flight so that the kernel's socket buffer never overflows: a lost datagram
// would show up as a timeout, not as a fast benchmark.
func BenchmarkPushData(b *testing.B) {
	s := startServer(b, Options{Config: Config{QueueSize: 4096}})
	conn, err := net.DialUDP("udp", nil, s.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })

	rx := sampleRXPK()
	rx.Size, rx.Data = 23, []byte("\x40\x04\x03\x02\x26\x80\x01\x00\x01\xc5\xda\x93\xe9\xc7\x4f\x3c\xfb\x63\x94\xfb\x96\x86\x38")
	dgram, err := (&PushDataPacket{ProtocolVersion: 2, RandomToken: 1, GatewayMAC: testMAC,
		Payload: PushDataPayload{RXPK: []RXPK{rx}}}).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}

	const window = 256
	got := make(chan struct{}, window)
	go func() {
		for range s.Frames() {
			got <- struct{}{}
		}
	}()
	wait := func() {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			b.Fatal("frame lost")
		}
	}

	b.ReportAllocs()
	b.SetBytes(int64(len(dgram)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if i >= window {
			wait()
		}
		if _, err := conn.Write(dgram); err != nil {
			b.Fatal(err)
		}
	}
	for i := max(0, b.N-window); i < b.N; i++ {
		wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
}
