package basicstation

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/gorilla/websocket"

	"github.com/loraedge/loraedge/internal/uplink"
)

// Downlink is a frame for a router to transmit: at Tmst, the low 32 bits
// of the router's xtime (the concentrator counter in µs, as GWMP's tmst),
// or at once for Class C.
type Downlink struct {
	ID          uint64 // sent as diid, returned in dntxed
	RouterID    lorawan.EUI64
	DevEUI      lorawan.EUI64
	PHYPayload  []byte
	Frequency   uint32 // Hz
	DataRate    string // "SF7BW125"
	Immediately bool
	Tmst        uint32
	// RX2Frequency and RX2DataRate, when set on a Class A downlink, are
	// its RX2 window: the router sends there by itself when it cannot
	// place the frame in the window above (RX1).
	RX2Frequency uint32 // Hz
	RX2DataRate  string
}

// routerConn is one router's WebSocket: a read loop on the handler's
// goroutine and a writer draining a bounded queue.
type routerConn struct {
	s    *Server
	id   lorawan.EUI64
	ws   *websocket.Conn
	out  chan []byte
	done chan struct{}
	once sync.Once

	// The read loop's own state.
	tokens float64
	last   time.Time

	mu         sync.Mutex
	configured bool
	recent     [64]upContext // ring of the latest uplinks' times
	next       int
}

// upContext is the router's time and antenna of one uplink, which a
// downlink answering it is scheduled from.
type upContext struct {
	xtime int64
	rctx  int64
}

// pingInterval is how often the LNS pings each router: the pongs show it
// alive between frames, and a router silent for three intervals (a dead
// link that TCP has not noticed) is dropped.
const pingInterval = 30 * time.Second

// outQueue bounds the messages waiting for a router; the network layer
// never waits for a slow one.
const outQueue = 64

func newRouterConn(s *Server, id lorawan.EUI64, ws *websocket.Conn) *routerConn {
	return &routerConn{s: s, id: id, ws: ws, out: make(chan []byte, outQueue), done: make(chan struct{}),
		tokens: float64(s.cfg.Burst), last: s.now()}
}

func (c *routerConn) close() { c.once.Do(func() { close(c.done) }) }

// run reads until the router goes or the connection is closed.
func (c *routerConn) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { c.write(ctx) })
	c.ws.SetReadLimit(int64(c.s.cfg.MaxMessageBytes))
	alive := func() { _ = c.ws.SetReadDeadline(c.s.now().Add(3 * pingInterval)) } //nolint:errcheck // a dead conn fails the read
	alive()
	c.ws.SetPongHandler(func(string) error { alive(); c.s.seen(c.id, false, ""); return nil })
	for {
		typ, b, err := c.ws.ReadMessage()
		alive()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.s.m.rejected.WithLabelValues(reasonTooLarge).Inc()
				c.s.log.Warn("router message too large, connection closed", "router", c.id.String(),
					"max_bytes", c.s.cfg.MaxMessageBytes)
			}
			break
		}
		if !c.allow() {
			c.s.m.rejected.WithLabelValues(reasonRate).Inc()
			continue
		}
		if typ != websocket.TextMessage {
			c.s.m.rejected.WithLabelValues(reasonBinary).Inc()
			continue
		}
		c.handle(b)
	}
	c.close()
	wg.Wait()
}

// write sends the queued messages and closes the socket when the
// connection ends, which also ends the read loop.
func (c *routerConn) write(ctx context.Context) {
	defer c.ws.Close() //nolint:errcheck // closing is all that is left
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, c.s.now().Add(5*time.Second)); err != nil {
				c.s.log.Warn("ping router", "router", c.id.String(), "err", err)
				return
			}
		case <-ctx.Done():
			c.closeFrame()
			return
		case <-c.done:
			c.closeFrame()
			return
		case b := <-c.out:
			_ = c.ws.SetWriteDeadline(c.s.now().Add(5 * time.Second)) //nolint:errcheck // a dead conn fails the write
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.s.log.Warn("write to router", "router", c.id.String(), "err", err)
				return
			}
		}
	}
}

func (c *routerConn) closeFrame() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, c.s.now().Add(time.Second)) //nolint:errcheck // best effort
}

// enqueue hands a message to the writer; false when the queue is full.
func (c *routerConn) enqueue(b []byte) bool {
	select {
	case c.out <- b:
		return true
	default:
		c.s.m.outboundDropped.Inc()
		return false
	}
}

// allow is the router's token bucket: MessagesPerSecond, Burst deep.
func (c *routerConn) allow() bool {
	now := c.s.now()
	c.tokens = min(float64(c.s.cfg.Burst), c.tokens+now.Sub(c.last).Seconds()*c.s.cfg.MessagesPerSecond)
	c.last = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

func (c *routerConn) handle(b []byte) {
	if c.s.log.Enabled(context.Background(), slog.LevelDebug) {
		// The router's own words, for troubleshooting a gateway.
		c.s.log.Debug("router message", "router", c.id.String(), "raw", string(b))
	}
	m, err := parseMessage(b)
	if err != nil {
		reason := reasonBadJSON
		var pe *parseError
		if errors.As(err, &pe) {
			reason = pe.reason
		}
		c.s.m.rejected.WithLabelValues(reason).Inc()
		c.s.log.Debug("router message refused", "router", c.id.String(), "err", err)
		return
	}
	c.s.m.messages.WithLabelValues(m.typ).Inc()
	switch {
	case m.version != nil:
		c.s.log.Info("router version", "router", c.id.String(), "station", m.version.Station,
			"firmware", m.version.Firmware, "model", m.version.Model, "protocol", m.version.Protocol)
		c.s.seen(c.id, false, m.version.Station)
		c.sendJSON(c.s.plan.routerConfig(muxTime(c.s.now())))
		c.mu.Lock()
		c.configured = true
		c.mu.Unlock()
	case m.up != nil:
		c.uplink(m.up)
	case m.dntxed != nil:
		p, ok := c.s.confirm(c.id, uint64(m.dntxed.DIID)) //nolint:gosec // diid is the ID we sent
		if !ok {
			c.s.m.dntxedUnknown.Inc()
			return
		}
		c.s.m.dntxed.Inc()
		if c.s.onDntxed != nil {
			c.s.onDntxed(c.id, uint64(m.dntxed.DIID), p.window(m.dntxed)) //nolint:gosec // as above
		}
	case m.timesync != "":
		c.sendJSON(map[string]any{"msgtype": msgTimesync, "txtime": m.timesync,
			"gpstime": gpsMicros(c.s.now()), "MuxTime": muxTime(c.s.now())})
	}
}

func (c *routerConn) sendJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.s.log.Error("encode message to router", "router", c.id.String(), "err", err)
		return
	}
	c.enqueue(b)
}

// uplink hands the frame on and keeps its time for the answer.
func (c *routerConn) uplink(u *upFrame) {
	dr, ok := c.s.plan.dataRate(u.DR)
	if !ok {
		c.s.m.rejected.WithLabelValues(reasonOutOfRange).Inc()
		return
	}
	now := c.s.now()
	c.mu.Lock()
	c.recent[c.next%len(c.recent)] = upContext{xtime: u.Info.XTime, rctx: u.Info.RCtx}
	c.next++
	c.mu.Unlock()
	c.s.seen(c.id, true, "")
	rx := uplink.RxInfo{
		GatewayID:  c.id,
		RSSI:       int(u.Info.RSSI),
		SNR:        u.Info.SNR,
		Frequency:  u.Freq,
		DataRate:   dr,
		Tmst:       uint32(u.Info.XTime), //nolint:gosec // the low 32 bits are GWMP's tmst
		ReceivedAt: now,
	}
	if u.Info.GPSTime > 0 {
		if t := gpsTime(u.Info.GPSTime); t.Sub(now).Abs() < 10*time.Minute {
			rx.Time = &t
		}
	}
	select {
	case c.s.frames <- Frame{RouterID: c.id, PHYPayload: u.PHYPayload, RxInfo: rx}:
	default:
		c.s.m.framesDropped.Inc()
	}
}

// dnmsg builds the downlink message. A Class A downlink names the uplink
// it answers by that uplink's xtime and the delay in whole seconds
// (RxDelay), with the window the network layer chose given as RX1 and,
// when it gives one, the RX2 window a second later;
// a Class C downlink goes at once in the given "RX2" parameters.
func (c *routerConn) dnmsg(d Downlink, now time.Time) ([]byte, error) {
	c.mu.Lock()
	configured := c.configured
	c.mu.Unlock()
	if !configured {
		c.s.m.downlinks.WithLabelValues(dnNotConnected).Inc()
		return nil, fmt.Errorf("basicstation: %s: %w (no router_config yet)", d.RouterID, errNotConnected)
	}
	dr, ok := c.s.plan.dataRateIndex(d.DataRate)
	if !ok {
		c.s.m.downlinks.WithLabelValues(dnBadDataRate).Inc()
		return nil, fmt.Errorf("basicstation: data rate %q is not in the router's plan", d.DataRate)
	}
	m := map[string]any{"msgtype": "dnmsg", "DevEui": formatEUI(d.DevEUI), "diid": d.ID,
		"pdu": hex.EncodeToString(d.PHYPayload), "priority": 0, "MuxTime": muxTime(now)}
	if d.Immediately {
		m["dC"], m["RxDelay"], m["RX2DR"], m["RX2Freq"] = 2, 1, dr, d.Frequency
		c.mu.Lock()
		if c.next > 0 {
			m["rctx"] = c.recent[(c.next-1)%len(c.recent)].rctx
		}
		c.mu.Unlock()
		return json.Marshal(m)
	}
	up, delay, err := c.answered(d.Tmst)
	if err != nil {
		return nil, err
	}
	m["dC"], m["xtime"], m["rctx"], m["RxDelay"], m["RX1DR"], m["RX1Freq"] = 0, up.xtime, up.rctx, delay, dr, d.Frequency
	if d.RX2Frequency != 0 {
		if err := c.addRX2(m, d); err != nil {
			return nil, err
		}
	}
	return json.Marshal(m)
}

// answered finds the latest uplink that tmst lies whole seconds (1..15)
// after, as every RX window does.
func (c *routerConn) answered(tmst uint32) (upContext, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 1; i <= min(c.next, len(c.recent)); i++ {
		up := c.recent[(c.next-i)%len(c.recent)]
		off := tmst - uint32(up.xtime) //nolint:gosec // modulo 2^32, as tmst wraps
		if off >= 1_000_000 && off <= 15_000_000 {
			if off%1_000_000 != 0 {
				c.s.m.downlinks.WithLabelValues(dnBadTiming).Inc()
				return upContext{}, 0, fmt.Errorf("basicstation: downlink %d µs after the uplink, not whole seconds", off)
			}
			return up, int(off / 1_000_000), nil
		}
	}
	c.s.m.downlinks.WithLabelValues(dnNoUplink).Inc()
	return upContext{}, 0, errors.New("basicstation: no recent uplink of the router that the downlink answers")
}

// gpsEpoch is the start of GPS time; GPS time runs ahead of UTC by the
// leap seconds since then (18 since 2017).
var gpsEpoch = time.Date(1980, 1, 6, 0, 0, 0, 0, time.UTC)

const gpsLeap = 18 * time.Second

func gpsMicros(t time.Time) int64 { return (t.Sub(gpsEpoch) + gpsLeap).Microseconds() }

func gpsTime(us int64) time.Time {
	return gpsEpoch.Add(time.Duration(us)*time.Microsecond - gpsLeap).UTC()
}

// muxTime is the LNS's clock in seconds, which the router uses to measure
// the round trip.
func muxTime(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }
