package semtechudp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/uplink"
)

// Frame is one rxpk with a good CRC, as heard by one gateway.
type Frame struct {
	GatewayID lorawan.EUI64
	// RXPK is the rxpk as the gateway reported it; its Time is unchecked.
	RXPK       RXPK
	ReceivedAt time.Time // server clock when the datagram arrived
	// Time is the rxpk's GPS time when it passed the consistency check
	// (Config.GPSTime), nil when absent or rejected: then ReceivedAt is
	// the frame's time.
	Time *time.Time
}

// RxInfo is the frame's reception as the network layer takes it. Only a
// GPS time that passed the consistency check dates it; otherwise the
// network layer uses ReceivedAt.
func (f Frame) RxInfo() uplink.RxInfo {
	return uplink.RxInfo{
		GatewayID:  f.GatewayID,
		RSSI:       int(f.RXPK.RSSI),
		SNR:        f.RXPK.LSNR,
		Frequency:  f.RXPK.FrequencyHz(),
		DataRate:   f.RXPK.DatR.LoRa,
		Tmst:       f.RXPK.Tmst,
		ReceivedAt: f.ReceivedAt,
		Time:       f.Time,
		Channel:    f.RXPK.Chan,
		RFChain:    f.RXPK.RFCh,
	}
}

// TxAckEvent reports the gateway's answer to a PULL_RESP sent with Send.
type TxAckEvent struct {
	GatewayID lorawan.EUI64
	Token     uint16
	Err       error  // nil when the gateway accepted the downlink, else a TxAckError
	Warn      string // optional warning, e.g. "TX_POWER" when the power was lowered
}

// Options configure a Server. Zero values take the documented defaults;
// zero fields of Config take DefaultConfig's, except Listen, which is
// required.
type Options struct {
	Config     Config
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not registered
	Now        func() time.Time
	// OnTxAck is called from the receive goroutine for every TX_ACK that
	// matches a pending PULL_RESP. It must not block.
	OnTxAck func(TxAckEvent)

	// MaxGateways bounds the gateway table so that spoofed MACs cannot grow
	// it without limit; default 4096.
	MaxGateways int
	// TxAckTimeout is how long a PULL_RESP token waits for its TX_ACK;
	// default 30s. Forwarders answer as soon as they have scheduled the
	// packet, so a few seconds would do; the margin covers slow backhauls.
	TxAckTimeout time.Duration
	// Gateways is the configured gateway list. When it is non-empty, only
	// listed EUIs from their allowed_from networks are served, and they
	// never compete with unknown gateways for table space.
	Gateways []GatewayConfig
	// TrustGPSTime passes every rxpk time on unchecked. The daemon sets it
	// while its simulator runs: simulated gateways date frames by the
	// scenario's virtual clock, which runs faster than their tmst.
	TrustGPSTime bool
}

const (
	maxDatagram = 65535
	maxPending  = 4096
	warnEvery   = 10 * time.Second
)

// GatewayStatus is a snapshot of what the server knows about one gateway.
type GatewayStatus struct {
	ID              lorawan.EUI64
	Name            string         // from the gateways list, "" if unlisted
	Addr            netip.AddrPort // downlink address: source of the latest PULL_DATA (invalid if none yet)
	PushAddr        netip.AddrPort // source of the latest PUSH_DATA
	ProtocolVersion uint8
	LastSeen        time.Time // any datagram
	LastPullData    time.Time
	RXReceived      uint64 // rxpk objects reported and parsed (malformed ones count in RXRejected)
	RXOK            uint64 // rxpk with a good CRC
	TXSent          uint64 // PULL_RESP sent
	TXAcked         uint64 // TX_ACK without error
	TXErrors        uint64 // TX_ACK with an error
	TXAckMissing    uint64 // PULL_RESP (v2) whose TX_ACK did not come within the TX_ACK timeout
	// TXAckMissingRun counts the missing TX_ACKs since the last one that
	// came: a forwarder whose downlinks go elsewhere keeps raising it.
	TXAckMissingRun uint64
	LastTXAck       time.Time // latest matched TX_ACK
	PullRefused     uint64    // PULL_DATA from another IP refused by the move rule
	RXRejected      uint64    // malformed rxpk left out of their PUSH_DATA
	GPSTimeRejected uint64    // rxpk whose GPS time failed the check; their reception time was used
	Stat            *Stat     // last stat object, nil if none yet
	StatAt          time.Time
}

type gateway struct {
	GatewayStatus
	pullAddr netip.AddrPort // as received, for sending (may be 4-in-6)
	pullVer  uint8
	clock    gpsClock
	// pinnedPull is the latest PULL_DATA from the pinned IP; move counts
	// PULL_DATA from another IP after its silence (acceptPullAddr).
	pinnedPull time.Time
	move       pullMove
	prevSeen   time.Time // LastSeen before the datagram being handled
}

type pendingKey struct {
	gw    lorawan.EUI64
	token uint16
}

// Server is a GWMP server. Create it with NewServer and run it with Run.
type Server struct {
	opts   Options
	log    *slog.Logger
	m      *metrics
	frames chan Frame

	mu      sync.Mutex // guards conn and running
	conn    *net.UDPConn
	running bool

	gwMu      sync.Mutex // guards gateways, pending, nextToken, lastSweep
	gateways  map[lorawan.EUI64]*gateway
	pending   map[pendingKey]time.Time
	listed    map[lorawan.EUI64]GatewayConfig // nil without a gateways list; read-only
	nextToken uint16
	lastSweep time.Time

	// Receive-goroutine state (no locking).
	warnAt     map[string]time.Time
	suppressed map[string]int
}

// NewServer checks the options, fills in defaults and registers metrics.
// It does not bind the socket: call Listen or Run.
func NewServer(opts Options) (*Server, error) {
	if opts.Config.Listen == "" {
		return nil, errors.New("semtechudp: Listen is required")
	}
	def := DefaultConfig()
	if opts.Config.QueueSize <= 0 {
		opts.Config.QueueSize = def.QueueSize
	}
	if opts.Config.ReadBuffer <= 0 {
		opts.Config.ReadBuffer = def.ReadBuffer
	}
	if opts.Config.PullMoveAfter <= 0 {
		opts.Config.PullMoveAfter = def.PullMoveAfter
	}
	if opts.Config.PullMoveCount <= 0 {
		opts.Config.PullMoveCount = def.PullMoveCount
	}
	if opts.Config.GPSTime.MaxHostSkew <= 0 {
		opts.Config.GPSTime.MaxHostSkew = def.GPSTime.MaxHostSkew
	}
	if opts.Config.GPSTime.MaxTmstDrift <= 0 {
		opts.Config.GPSTime.MaxTmstDrift = def.GPSTime.MaxTmstDrift
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxGateways <= 0 {
		opts.MaxGateways = 4096
	}
	if opts.TxAckTimeout <= 0 {
		opts.TxAckTimeout = 30 * time.Second
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("semtechudp: %w", err)
	}
	var listed map[lorawan.EUI64]GatewayConfig
	if len(opts.Gateways) > 0 {
		listed = make(map[lorawan.EUI64]GatewayConfig, len(opts.Gateways))
		for _, g := range opts.Gateways {
			listed[g.ID] = g
		}
	}
	return &Server{
		opts:       opts,
		listed:     listed,
		log:        opts.Logger.With("component", "semtechudp"),
		m:          m,
		frames:     make(chan Frame, opts.Config.QueueSize),
		gateways:   make(map[lorawan.EUI64]*gateway),
		pending:    make(map[pendingKey]time.Time),
		nextToken:  uint16(rand.Uint32()),
		warnAt:     make(map[string]time.Time),
		suppressed: make(map[string]int),
	}, nil
}

// Listen binds the UDP socket. It is idempotent; Run calls it if needed.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		return nil
	}
	addr, err := net.ResolveUDPAddr("udp", s.opts.Config.Listen)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", s.opts.Config.Listen, err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.opts.Config.Listen, err)
	}
	if err := conn.SetReadBuffer(s.opts.Config.ReadBuffer); err != nil {
		s.log.Warn("set socket read buffer", "bytes", s.opts.Config.ReadBuffer, "err", err)
	}
	s.conn = conn
	s.log.Info("listening", "addr", conn.LocalAddr().String())
	return nil
}

// LocalAddr returns the bound address, or nil before Listen.
func (s *Server) LocalAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	return s.conn.LocalAddr()
}

// Frames returns the queue of received uplink frames. It is closed when Run
// returns. When the consumer falls behind, new frames are dropped and
// counted in loraedge_semtechudp_frames_dropped_total.
func (s *Server) Frames() <-chan Frame { return s.frames }

// Run serves until ctx is done, then closes the socket and Frames and
// returns nil. It can be called once.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("semtechudp: Run called twice")
	}
	s.running = true
	conn := s.conn
	s.mu.Unlock()

	// Closing the socket is the only way to interrupt a blocked read.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer func() {
		stop()
		_ = conn.Close()
		close(s.frames)
	}()

	buf := make([]byte, maxDatagram)
	for {
		n, addr, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				if ctx.Err() == nil {
					return fmt.Errorf("semtechudp: socket closed: %w", err)
				}
				return nil
			}
			s.m.readErrors.Inc()
			s.logLimited("read_error", "read udp", "error", err)
			// Avoid spinning if the socket keeps failing.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		s.handle(buf[:n], addr)
	}
}

// handle processes one datagram. buf is reused after it returns; everything
// kept (rxpk data) is copied by the JSON decoder.
func (s *Server) handle(b []byte, addr netip.AddrPort) {
	now := s.opts.Now()
	t, err := ParsePacketType(b)
	if err != nil {
		s.malformed(Reason(err), err, addr)
		return
	}
	switch t {
	case PushData:
		s.handlePushData(b, addr, now)
	case PullData:
		s.handlePullData(b, addr, now)
	case TxAck:
		s.handleTxAck(b, addr, now)
	default:
		// ACKs and PULL_RESP travel server-to-gateway only.
		s.malformed("unexpected_type", fmt.Errorf("%s from a gateway", t), addr)
	}
}

func (s *Server) handlePushData(b []byte, addr netip.AddrPort, now time.Time) {
	p, issues, err := ParsePushData(b)
	if err != nil && !errors.Is(err, ErrJSON) {
		s.malformed(Reason(err), err, addr)
		return
	}
	if !s.admitted(p.GatewayMAC, addr) {
		return
	}
	// A valid header is always acknowledged: the forwarder's ACK ratio
	// measures the backhaul, and whatever was wrong is counted here.
	s.reply(&PushAckPacket{ProtocolVersion: p.ProtocolVersion, RandomToken: p.RandomToken}, addr)
	if err != nil {
		s.malformed(Reason(err), err, addr)
		return
	}
	s.m.byType[PushData].Inc()
	s.countIssues(p.GatewayMAC, issues, addr)

	var ok uint64
	for i := range p.Payload.RXPK {
		if p.Payload.RXPK[i].Stat == 1 {
			ok++
		}
	}
	times := make([]*time.Time, len(p.Payload.RXPK))
	known := s.updateGateway(p.GatewayMAC, now, func(g *gateway) {
		g.PushAddr = addr
		if g.ProtocolVersion == 0 || g.pullVer == 0 {
			g.ProtocolVersion = p.ProtocolVersion
		}
		g.RXReceived += uint64(len(p.Payload.RXPK))
		g.RXRejected += uint64(len(issues.Rejected))
		g.RXOK += ok
		if p.Payload.Stat != nil {
			g.Stat, g.StatAt = p.Payload.Stat, now
		}
		for i, rx := range p.Payload.RXPK {
			if rx.Stat == 1 {
				times[i] = s.checkTime(g, rx, now)
			}
		}
	})
	if !known {
		return
	}
	for i, rx := range p.Payload.RXPK {
		switch rx.Stat {
		case 1:
		case 0:
			s.m.crcMissing.Inc()
			continue
		default:
			s.m.crcBad.Inc()
			continue
		}
		select {
		case s.frames <- Frame{GatewayID: p.GatewayMAC, RXPK: rx, ReceivedAt: now, Time: times[i]}:
			s.m.framesReceived.Inc()
		default:
			s.m.framesDropped.Inc()
			s.logLimited("queue_full", "frame queue full, dropping", "gateway_id", p.GatewayMAC.String())
		}
	}
}

// countIssues counts and logs what ParsePushData left out.
func (s *Server) countIssues(gw lorawan.EUI64, issues PushDataIssues, addr netip.AddrPort) {
	for _, err := range issues.Rejected {
		r := Reason(err)
		s.m.malformed.WithLabelValues(r).Inc()
		s.logLimited("rxpk_"+r, "malformed rxpk left out, the rest of the datagram is used",
			"reason", r, "gateway_id", gw.String(), "addr", addr.String(), "err", err)
	}
	for _, d := range issues.Dropped {
		s.m.fieldsDropped.WithLabelValues(d.Field).Inc()
		s.logLimited("field_"+d.Field, "malformed rxpk field dropped, the frame is used",
			"field", d.Field, "gateway_id", gw.String(), "addr", addr.String(), "err", d.Err)
	}
}

// checkTime returns the rxpk's GPS time if it is to be trusted, else nil
// (counted); gwMu held.
func (s *Server) checkTime(g *gateway, rx RXPK, now time.Time) *time.Time {
	if rx.Time == nil {
		return nil
	}
	t := time.Time(*rx.Time)
	if s.opts.TrustGPSTime {
		return &t
	}
	reason := g.clock.check(s.opts.Config.GPSTime, t, rx.Tmst, now)
	if reason == "" {
		return &t
	}
	g.GPSTimeRejected++
	s.m.timeRejected.WithLabelValues(reason).Inc()
	s.log.Debug("gateway GPS time not used", "gateway_id", g.ID.String(), "reason", reason, "time", t, "tmst", rx.Tmst)
	return nil
}

func (s *Server) handlePullData(b []byte, addr netip.AddrPort, now time.Time) {
	var p PullDataPacket
	if err := p.UnmarshalBinary(b); err != nil {
		s.malformed(Reason(err), err, addr)
		return
	}
	s.m.byType[PullData].Inc()
	if !s.admitted(p.GatewayMAC, addr) {
		return
	}
	var accepted bool
	known := s.updateGateway(p.GatewayMAC, now, func(g *gateway) {
		s.sweepLocked(now)
		old := g.pullAddr
		var moved bool
		if accepted, moved = s.acceptPullAddr(g, addr, now); !accepted {
			// A refused PULL_DATA must not keep a silent gateway "seen".
			g.LastSeen = g.prevSeen
			g.PullRefused++
			return
		}
		switch {
		case moved:
			s.m.pullMoves.Inc()
			s.log.Warn("gateway downlink address moved to another IP after the old one fell silent",
				"gateway_id", p.GatewayMAC.String(), "old_addr", old.String(), "addr", addr.String())
		case old != addr:
			s.log.Info("gateway downlink address", "gateway_id", p.GatewayMAC.String(), "addr", addr.String())
		}
		g.pullAddr, g.pullVer = addr, p.ProtocolVersion
		g.Addr = unmap(addr)
		g.ProtocolVersion = p.ProtocolVersion
		g.LastPullData = now
	})
	if known && !accepted {
		s.refuse(refusedPullMove, p.GatewayMAC, addr)
		return
	}
	if known {
		s.reply(&PullAckPacket{ProtocolVersion: p.ProtocolVersion, RandomToken: p.RandomToken}, addr)
	}
}

func (s *Server) handleTxAck(b []byte, addr netip.AddrPort, now time.Time) {
	var p TxAckPacket
	if err := p.UnmarshalBinary(b); err != nil {
		s.malformed(Reason(err), err, addr)
		return
	}
	s.m.byType[TxAck].Inc()
	if !s.admitted(p.GatewayMAC, addr) {
		return
	}
	ackErr := p.Err()
	key := pendingKey{gw: p.GatewayMAC, token: p.RandomToken}

	s.gwMu.Lock()
	g := s.gateways[p.GatewayMAC]
	if g != nil && g.pullAddr.IsValid() && g.pullAddr.Addr().Unmap() != addr.Addr().Unmap() {
		// Only the forwarder the downlink went to can confirm it.
		s.gwMu.Unlock()
		s.refuse(refusedTxAckAddr, p.GatewayMAC, addr)
		return
	}
	_, matched := s.pending[key]
	if matched {
		delete(s.pending, key)
	}
	if g != nil {
		g.LastSeen = now
		if matched {
			g.LastTXAck, g.TXAckMissingRun = now, 0
			if ackErr == nil {
				g.TXAcked++
			} else {
				g.TXErrors++
			}
		}
	}
	s.gwMu.Unlock()

	if !matched {
		s.m.txAckUnmatched.Inc()
		s.log.Debug("tx ack without pending downlink", "gateway_id", p.GatewayMAC.String(), "token", p.RandomToken)
		return
	}
	s.m.txAcks.WithLabelValues(txAckLabel(ackErr)).Inc()
	ev := TxAckEvent{GatewayID: p.GatewayMAC, Token: p.RandomToken, Err: ackErr}
	if p.Payload != nil {
		ev.Warn = p.Payload.TXPKACK.Warn
	}
	if ackErr != nil {
		s.log.Warn("downlink rejected by gateway", "gateway_id", p.GatewayMAC.String(), "token", p.RandomToken, "err", ackErr)
	}
	if s.opts.OnTxAck != nil {
		s.opts.OnTxAck(ev)
	}
}

// updateGateway applies fn to the gateway's record under the lock, creating
// the record if there is room. It reports false if the gateway is new and
// the table is full.
func (s *Server) updateGateway(id lorawan.EUI64, now time.Time, fn func(*gateway)) bool {
	s.gwMu.Lock()
	g := s.gateways[id]
	if g == nil {
		lc, listed := s.listed[id]
		// Listed gateways are admitted before anything else, so they
		// never compete with unknown EUIs for table space.
		if !listed && len(s.gateways) >= s.opts.MaxGateways {
			s.gwMu.Unlock()
			s.m.gwRejected.Inc()
			s.logLimited("gateways_full", "gateway table full, ignoring new gateway", "gateway_id", id.String())
			return false
		}
		g = &gateway{GatewayStatus: GatewayStatus{ID: id, Name: lc.Name}}
		s.gateways[id] = g
		s.log.Info("new gateway", "gateway_id", id.String())
	}
	g.prevSeen, g.LastSeen = g.LastSeen, now
	fn(g)
	s.gwMu.Unlock()
	return true
}

func (s *Server) reply(p Packet, addr netip.AddrPort) {
	b, err := p.MarshalBinary()
	if err == nil {
		_, err = s.conn.WriteToUDPAddrPort(b, addr)
	}
	if err != nil {
		s.m.sendErrors.Inc()
		s.logLimited("ack_error", "send ack", "addr", addr.String(), "error", err)
	}
}

// malformed counts a rejected datagram and logs it without flooding: one
// warning per reason every warnEvery, the rest at debug level.
func (s *Server) malformed(reason string, err error, addr netip.AddrPort) {
	s.m.malformed.WithLabelValues(reason).Inc()
	s.logLimited("malformed_"+reason, "malformed datagram", "reason", reason, "addr", addr.String(), "error", err)
}

// logLimited must only be called from the receive goroutine.
func (s *Server) logLimited(key, msg string, args ...any) {
	now := time.Now() // wall clock on purpose: rate limiting is not domain time
	if now.Sub(s.warnAt[key]) >= warnEvery {
		s.warnAt[key] = now
		if n := s.suppressed[key]; n > 0 {
			args = append(args, "suppressed", n)
			s.suppressed[key] = 0
		}
		s.log.Warn(msg, args...)
		return
	}
	s.suppressed[key]++
	s.log.Debug(msg, args...)
}

// Send transmits txpk to the gateway as a PULL_RESP, addressed to the source
// of the gateway's latest PULL_DATA and in that PULL_DATA's protocol
// version. It returns the token that the gateway's TX_ACK will carry (0 for
// version 1 gateways, which have no TX_ACK). Send is safe for concurrent use.
func (s *Server) Send(gatewayID lorawan.EUI64, txpk TXPK) (uint16, error) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return 0, errors.New("semtechudp: send: not listening")
	}
	now := s.opts.Now()

	s.gwMu.Lock()
	g := s.gateways[gatewayID]
	if g == nil || !g.pullAddr.IsValid() {
		s.gwMu.Unlock()
		return 0, fmt.Errorf("send to %s: %w", gatewayID, ErrGatewayUnknown)
	}
	addr, ver := g.pullAddr, g.pullVer
	s.sweepLocked(now)
	var token uint16
	if ver >= ProtocolVersion2 {
		token = s.newTokenLocked(gatewayID, now)
	} else if len(s.pending) < maxPending {
		// Version 1 has no token; a forwarder that still sends TX_ACK
		// echoes 0, so all of a v1 gateway's downlinks share one entry.
		s.pending[pendingKey{gatewayID, 0}] = now
	}
	g.TXSent++
	s.gwMu.Unlock()

	b, err := (&PullRespPacket{ProtocolVersion: ver, RandomToken: token, Payload: PullRespPayload{TXPK: txpk}}).MarshalBinary()
	if err == nil {
		_, err = conn.WriteToUDPAddrPort(b, addr)
	}
	if err != nil {
		s.m.sendErrors.Inc()
		s.gwMu.Lock()
		if token != 0 {
			delete(s.pending, pendingKey{gatewayID, token})
		}
		if g := s.gateways[gatewayID]; g != nil {
			g.TXSent--
		}
		s.gwMu.Unlock()
		return 0, fmt.Errorf("send to %s: %w", gatewayID, err)
	}
	s.m.downlinks.Inc()
	return token, nil
}

// sweepLocked forgets tokens whose TX_ACK is overdue and counts them per
// gateway, at most once a second. Send and every PULL_DATA call it, so a
// missing TX_ACK is counted while the gateway keeps polling.
func (s *Server) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < time.Second {
		return
	}
	s.lastSweep = now
	for k, at := range s.pending {
		if now.Sub(at) > s.opts.TxAckTimeout {
			delete(s.pending, k)
			if k.token != 0 { // v1 forwarders normally never answer
				s.m.txAckExpired.Inc()
				if g := s.gateways[k.gw]; g != nil {
					g.TXAckMissing++
					g.TXAckMissingRun++
				}
			}
		}
	}
}

// newTokenLocked picks a non-zero token not pending for the gateway and
// records it before the datagram leaves, so a fast TX_ACK finds it.
func (s *Server) newTokenLocked(gw lorawan.EUI64, now time.Time) uint16 {
	for {
		s.nextToken++
		if s.nextToken == 0 {
			continue
		}
		k := pendingKey{gw, s.nextToken}
		if _, busy := s.pending[k]; busy {
			continue
		}
		// When the table is full of live tokens the downlink still goes
		// out; only its TX_ACK goes unmatched (and is counted).
		if len(s.pending) < maxPending {
			s.pending[k] = now
		}
		return s.nextToken
	}
}

// Gateways returns a snapshot of every known gateway, sorted by ID.
func (s *Server) Gateways() []GatewayStatus {
	s.gwMu.Lock()
	out := make([]GatewayStatus, 0, len(s.gateways))
	for _, g := range s.gateways {
		out = append(out, g.GatewayStatus)
	}
	s.gwMu.Unlock()
	slices.SortFunc(out, func(a, b GatewayStatus) int {
		for i := range a.ID {
			if c := cmp.Compare(a.ID[i], b.ID[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	return out
}

// Gateway returns the status of one gateway.
func (s *Server) Gateway(id lorawan.EUI64) (GatewayStatus, bool) {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	g, ok := s.gateways[id]
	if !ok {
		return GatewayStatus{}, false
	}
	return g.GatewayStatus, true
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}
