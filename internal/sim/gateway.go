package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/semtechudp"
)

// GatewayEUI returns the EUI of the i-th simulated gateway (0-based):
// "LESIGW" + index, e.g. 4c45534947570001 for the first.
func GatewayEUI(i int) lorawan.EUI64 {
	return lorawan.EUI64{0x4c, 0x45, 0x53, 0x49, 0x47, 0x57, byte((i + 1) >> 8), byte(i + 1)}
}

// gateway is one virtual packet forwarder with its own UDP socket, as a
// real forwarder has: the daemon learns its downlink address from the
// PULL_DATA keepalives.
type gateway struct {
	idx       int
	id        lorawan.EUI64
	conn      *net.UDPConn
	clock     *Clock
	air       *air
	stats     *counters
	log       *slog.Logger
	version   uint8
	keepalive time.Duration
	statEvery time.Duration
	lat, lon  float64

	realStart time.Time
	tmstBase  uint32

	mu  sync.Mutex
	rng *rand.Rand

	rxnb, rxfw, dwnb, txnb, pushSent, pushAcked atomic.Uint32
}

func newGateway(idx int, target *net.UDPAddr, o *Options, clock *Clock, a *air, st *counters, seed uint64) (*gateway, error) {
	conn, err := net.DialUDP("udp", nil, target)
	if err != nil {
		return nil, fmt.Errorf("gateway %d: dial %s: %w", idx, target, err)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(idx)+1))
	id := GatewayEUI(idx)
	return &gateway{
		idx: idx, id: id, conn: conn, clock: clock, air: a, stats: st,
		log:     o.Logger.With("gateway_id", id.String()),
		version: semtechudp.ProtocolVersion2, keepalive: o.KeepaliveInterval, statEvery: o.StatInterval,
		lat: 49.85 + 0.01*float64(idx), lon: 8.95 + 0.015*float64(idx),
		realStart: time.Now(), tmstBase: rng.Uint32(), rng: rng,
	}, nil
}

func (g *gateway) token() uint16 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return uint16(g.rng.Uint32())
}

// tmst is the concentrator's free-running microsecond counter. It runs in
// real time (it wraps every 71 minutes like the real one) so that the
// daemon's "uplink tmst + 1 s" arithmetic for RX1 stays meaningful.
func (g *gateway) tmst() uint32 {
	return g.tmstBase + uint32(time.Since(g.realStart).Microseconds())
}

// run serves the socket until ctx is done: reader, keepalive and stats.
func (g *gateway) run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		g.tick(ctx, g.keepalive, g.sendPullData)
	}()
	go func() {
		defer wg.Done()
		g.tick(ctx, g.statEvery, g.sendStat)
	}()
	stop := context.AfterFunc(ctx, func() { g.conn.Close() })
	defer stop()
	err := g.readLoop(ctx)
	g.conn.Close()
	wg.Wait()
	return err
}

func (g *gateway) tick(ctx context.Context, every time.Duration, f func()) {
	f()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

func (g *gateway) write(p interface{ MarshalBinary() ([]byte, error) }) {
	b, err := p.MarshalBinary()
	if err != nil {
		g.log.Error("marshal gwmp packet", "err", err)
		return
	}
	if _, err := g.conn.Write(b); err != nil {
		// The daemon may not be up yet; a forwarder keeps trying.
		g.stats.writeErrors.Add(1)
		g.log.Debug("send gwmp datagram", "err", err)
	}
}

func (g *gateway) sendPullData() {
	g.stats.pullData.Add(1)
	g.write(&semtechudp.PullDataPacket{ProtocolVersion: g.version, RandomToken: g.token(), GatewayMAC: g.id})
}

func (g *gateway) sendStat() {
	lat, lon := g.lat, g.lon
	alt := int32(180)
	sent, acked := g.pushSent.Load(), g.pushAcked.Load()
	ackr := 100.0
	if sent > 0 {
		ackr = 100 * float64(acked) / float64(sent)
	}
	st := &semtechudp.Stat{
		Time: semtechudp.ExpandedTime(g.clock.Now()),
		Lati: &lat, Long: &lon, Alti: &alt,
		RXNb: g.rxnb.Load(), RXOK: g.rxnb.Load(), RXFW: g.rxfw.Load(), ACKR: ackr,
		DWNb: g.dwnb.Load(), TXNb: g.txnb.Load(),
		Desc: "loraedge simulated gateway",
	}
	g.push(semtechudp.PushDataPayload{Stat: st})
}

func (g *gateway) push(pl semtechudp.PushDataPayload) {
	g.pushSent.Add(1)
	g.stats.pushData.Add(1)
	g.write(&semtechudp.PushDataPacket{ProtocolVersion: g.version, RandomToken: g.token(), GatewayMAC: g.id, Payload: pl})
}

// forward sends one reception as an rxpk. rxpk.time is the virtual time so
// the daemon dates the measurement by the scenario's clock.
func (g *gateway) forward(rx radioRx) {
	g.rxnb.Add(1)
	g.rxfw.Add(1)
	vt := semtechudp.CompactTime(rx.virtualTime)
	g.push(semtechudp.PushDataPayload{RXPK: []semtechudp.RXPK{{
		Time: &vt,
		Tmst: g.tmst(),
		Freq: rx.freqMHz,
		Chan: rx.channel,
		RFCh: 0,
		Stat: 1,
		Modu: "LORA",
		DatR: semtechudp.DatR{LoRa: rx.dataRate},
		CodR: "4/5",
		RSSI: rx.rssi,
		LSNR: rx.snr,
		Size: uint16(len(rx.phy)),
		Data: rx.phy,
	}}})
}

func (g *gateway) readLoop(ctx context.Context) error {
	buf := make([]byte, 65535)
	for {
		n, err := g.conn.Read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// ICMP port unreachable while the daemon is down shows up
			// here; keep serving.
			g.log.Debug("read gwmp datagram", "err", err)
			if err := sleepReal(ctx, 100*time.Millisecond); err != nil {
				return nil
			}
			continue
		}
		g.handle(buf[:n])
	}
}

func (g *gateway) handle(b []byte) {
	p, err := semtechudp.Unmarshal(b)
	if err != nil {
		g.stats.malformed.Add(1)
		g.log.Warn("malformed datagram from daemon", "err", err)
		return
	}
	switch p := p.(type) {
	case *semtechudp.PushAckPacket:
		g.pushAcked.Add(1)
		g.stats.pushAcks.Add(1)
	case *semtechudp.PullAckPacket:
		g.stats.pullAcks.Add(1)
	case *semtechudp.PullRespPacket:
		g.dwnb.Add(1)
		g.stats.pullResps.Add(1)
		g.write(&semtechudp.TxAckPacket{
			ProtocolVersion: p.ProtocolVersion, RandomToken: p.RandomToken, GatewayMAC: g.id,
			Payload: &semtechudp.TxAckPayload{TXPKACK: semtechudp.TXPKACK{Error: semtechudp.TxAckNone}},
		})
		g.stats.txAcks.Add(1)
		g.txnb.Add(1)
		// Delivered at once rather than at txpk.tmst: the device side
		// does not model the RX1 delay, only that it is listening.
		g.air.deliver(g, p.Payload.TXPK)
	default:
		g.stats.malformed.Add(1)
		g.log.Warn("unexpected datagram from daemon", "type", p.Type().String())
	}
}
