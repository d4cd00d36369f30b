// Package network is the LoRaWAN 1.0.x network layer: it merges the copies
// of a frame heard by several gateways, finds the device session, checks MIC
// and frame counters, decrypts, answers joins and MAC commands and schedules
// Class A and Class C downlinks (EU868 via brocaar/lorawan/band).
//
// One goroutine (Run) owns all session state; frames reach it through a
// bounded queue (HandleFrame) so packet receivers never block on crypto or
// disk. Counter and DevNonce updates are committed to bbolt before an uplink
// is handed on or a downlink is sent, so a crash cannot reopen a replay window.
// The ACK of a confirmed uplink waits until the handler reports the uplink
// durable (ackhold.go), so an ACK promises stored data.
package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/roaming"
	"github.com/loraedge/loraedge/internal/secret"
	"github.com/loraedge/loraedge/internal/uplink"
)

// Frame is one reception of a PHYPayload at one gateway.
type Frame struct {
	PHYPayload []byte
	RxInfo     uplink.RxInfo
	// Remote marks a reception at a peer's gateway, forwarded here as the
	// device's home (roaming.go); Late one that waited in the peer's queue
	// during an outage, whose receive windows have passed.
	Remote, Late bool
	// Peer names the peer whose gateway heard a Remote frame (frame log).
	Peer string
	// Done, when set, hears the frame's result once it is final
	// (ResultOK, ResultReplay, ...): in a county network an accepted
	// uplink's only when it is durable. It must not block.
	Done func(result string)
}

// Downlink is a frame to transmit through one gateway.
type Downlink struct {
	// ID identifies this transmission attempt; pass it back to
	// Server.HandleTxAck with the gateway's TX_ACK result.
	ID        uint64
	GatewayID lorawan.EUI64
	// DevEUI is the device the frame is for (zero when not known): Basics
	// Station routers need it to confirm the transmission, logs name it.
	DevEUI         lorawan.EUI64
	PHYPayload     []byte
	Frequency      uint32 // Hz
	DataRate       string // e.g. "SF12BW125"
	Power          int    // dBm EIRP
	Immediately    bool
	Tmst           uint32 // when !Immediately
	InvertPolarity bool   // true for downlinks to devices
	// RX2 is the same frame's RX2 transmission, set on a Class A RX1
	// downlink only for a sender that hands a gateway both windows at
	// once (RX2Carrier): the gateway falls back to it by itself.
	RX2 *Downlink
}

// DownlinkSender transmits downlinks; cmd wires it to semtechudp.
type DownlinkSender interface {
	SendDownlink(ctx context.Context, d Downlink) error
}

// DownlinkSenderFunc adapts a function to DownlinkSender.
type DownlinkSenderFunc func(ctx context.Context, d Downlink) error

// SendDownlink calls f.
func (f DownlinkSenderFunc) SendDownlink(ctx context.Context, d Downlink) error { return f(ctx, d) }

var _ DownlinkSender = DownlinkSenderFunc(nil)

// Options configures a Server. Zero values take the defaults noted.
type Options struct {
	// Config is the network section of the daemon's configuration, handed
	// over whole. Zero fields take defaults: DedupWindow 200ms, Band
	// "EU868", RX1Delay (RECEIVE_DELAY1 given to joining devices),
	// JoinAcceptDelay1 and RX2Frequency from the band, RX2DataRate DR0,
	// MaxFCntGap, QueueSize (input frames), DutyCycle (on) and
	// ConfirmedRetries (3) from DefaultConfig, DownlinkTXPower the band's
	// limit.
	Config

	Devices *device.Registry // required
	// State is the durable session store. When nil, StatePath is opened
	// and closed by Server.Close.
	State     *BoltState
	StatePath string
	// KEK, when set, keeps the session keys encrypted at rest.
	KEK *secret.KEK

	// ExtraChannels are sent in the join-accept CFList; nil means the
	// EU868 defaults 867.1 to 867.9 MHz. Use an empty non-nil slice for none.
	ExtraChannels []uint32

	// ADRPolicy gives each device's ADR switch and limits (its profile);
	// nil: ADR for every device within the band's range.
	ADRPolicy ADRPolicy

	// Roaming, when set, routes frames of devices homed at a peer there
	// (the county network); DevAddrBlocks are this instance's blocks, from
	// which OTAA joins draw DevAddrs; ForwardWindow (20ms) is how long the
	// copies of such a frame are collected before it is forwarded.
	Roaming       Roaming
	DevAddrBlocks []roaming.Block
	ForwardWindow time.Duration

	Sender  DownlinkSender // nil: downlinks are built and counted as failed
	Handler uplink.Handler // nil: uplinks are dropped after verification
	Frames  FrameObserver  // nil: no frame log
	// Outcomes learns what became of each queued application downlink;
	// nil: they are only counted.
	Outcomes DownlinkOutcomes

	DownlinkQueueSize int // per device, 16
	// TickInterval is how often the loop looks for dedup windows that have
	// closed; default DedupWindow/40 clamped to [1ms, 5ms].
	TickInterval time.Duration

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Errors returned by EnqueueDownlink.
var (
	ErrUnknownDevice = errors.New("network: unknown device")
	ErrQueueFull     = errors.New("network: downlink queue full")
	ErrPayloadSize   = errors.New("network: payload too large")
)

type inFrame struct {
	f  Frame
	at time.Time
}

type txAck struct {
	id     uint64
	err    error
	window Window // the window a gateway reports it sent in, if it does
}

// Server is the network layer. Create it with NewServer and run it with Run.
type Server struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	band    band.Band
	state   *BoltState
	ownsDB  bool
	m       *metrics
	dc      dutyCycle
	cfList  *lorawan.CFList
	adrAlg  adr.Algorithm
	adrBand adr.Band
	in      chan inFrame
	acks    chan txAck
	kick    chan struct{}
	dedup   dedup
	pending map[uint64]pendingTx
	nextID  uint64
	// The loop's record of confirmed uplinks and their held ACKs
	// (ackhold.go); durable carries the handler's reports to the loop.
	durable chan durableEvent
	marks   map[lorawan.EUI64]ackMark
	held    map[uint64]*heldAcks
	ackSeq  uint64
	// Accepted uplinks followed until durable (awaitdurable.go).
	awaiting map[uint64]*awaitDurable
	awaitBy  map[fcntKey]uint64
	settled  []*session

	lastClassC time.Time
	abpIndex   map[lorawan.DevAddr][]lorawan.EUI64
	abpIndexAt time.Time

	// mu guards sessions, byAddr, queues and joins: the loop writes them,
	// status and EnqueueDownlink read or append from other goroutines.
	mu       sync.RWMutex
	sessions map[lorawan.EUI64]*session
	prev     map[lorawan.EUI64]*session // sessions before the latest join
	byAddr   map[lorawan.DevAddr][]*session
	queues   map[lorawan.EUI64][]queueItem
	joins    map[lorawan.EUI64]*joinState
	dlq      downlinkQueue
}

// NewServer checks opts, fills defaults, opens or adopts the state and loads
// every stored session.
func NewServer(opts Options) (*Server, error) {
	if opts.Devices == nil {
		return nil, errors.New("network: Options.Devices is required")
	}
	b, err := opts.fill()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:     opts,
		log:      opts.Logger.With("component", "network"),
		now:      opts.Now,
		band:     b,
		in:       make(chan inFrame, opts.QueueSize),
		acks:     make(chan txAck, 256),
		kick:     make(chan struct{}, 1),
		pending:  make(map[uint64]pendingTx),
		durable:  make(chan durableEvent, 4096),
		marks:    make(map[lorawan.EUI64]ackMark),
		held:     make(map[uint64]*heldAcks),
		awaiting: make(map[uint64]*awaitDurable),
		awaitBy:  make(map[fcntKey]uint64),
		sessions: make(map[lorawan.EUI64]*session),
		prev:     make(map[lorawan.EUI64]*session),
		byAddr:   make(map[lorawan.DevAddr][]*session),
		queues:   make(map[lorawan.EUI64][]queueItem),
		joins:    make(map[lorawan.EUI64]*joinState),
	}
	if len(opts.ExtraChannels) > 0 {
		s.cfList = b.GetCFList("1.0.3")
	}
	if s.adrAlg, err = adr.New(opts.ADR.Algorithm); err != nil {
		return nil, fmt.Errorf("network.adr.algorithm: %w", err)
	}
	s.adrBand = adr.EU868()
	s.dedup.init()
	if s.m, err = newMetrics(opts.Registerer); err != nil {
		return nil, err
	}
	s.dc = newDutyCycle(&opts)
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(s.dc.refused); err != nil {
			return nil, fmt.Errorf("register network metrics: %w", err)
		}
	}
	if err := s.openState(); err != nil {
		return nil, err
	}
	return s, nil
}

// fill checks o and fills in the defaults; it returns the band with the
// extra channels added.
func (o *Options) fill() (band.Band, error) {
	d := DefaultConfig()
	if o.DedupWindow <= 0 {
		o.DedupWindow = d.DedupWindow
	}
	if o.ForwardWindow <= 0 {
		o.ForwardWindow = min(defaultForwardWindow, o.DedupWindow)
	}
	if o.Band == "" {
		o.Band = d.Band
	}
	b, err := band.GetConfig(band.Name(o.Band), false, lorawan.DwellTimeNoLimit)
	if err != nil {
		return nil, fmt.Errorf("network band: %w", err)
	}
	def := b.GetDefaults()
	if o.RX1Delay <= 0 {
		o.RX1Delay = def.ReceiveDelay1
	}
	if o.RX1Delay > 15*time.Second {
		return nil, errors.New("network: RX1Delay above 15s")
	}
	if o.JoinAcceptDelay1 <= 0 {
		o.JoinAcceptDelay1 = def.JoinAcceptDelay1
	}
	if o.RX2Frequency == 0 {
		o.RX2Frequency = def.RX2Frequency
	}
	if _, err := loraDataRate(b, o.RX2DataRate); err != nil {
		return nil, fmt.Errorf("network.rx2_data_rate: %w", err)
	}
	if o.RX1DROffset < 0 || o.RX1DROffset > 5 {
		return nil, errors.New("network: RX1DROffset outside 0..5")
	}
	if o.MaxFCntGap == 0 {
		o.MaxFCntGap = d.MaxFCntGap
	}
	if o.ExtraChannels == nil && b.Name() == "EU868" {
		o.ExtraChannels = []uint32{867100000, 867300000, 867500000, 867700000, 867900000}
	}
	for _, f := range o.ExtraChannels {
		if err := b.AddChannel(f, 0, 5); err != nil {
			return nil, fmt.Errorf("network extra channel %d: %w", f, err)
		}
	}
	if o.QueueSize <= 0 {
		o.QueueSize = d.QueueSize
	}
	if len(o.ExtraChannels) > 16-3 {
		return nil, errors.New("network: more than 13 extra channels")
	}
	if err := o.fillDownlinks(d); err != nil {
		return nil, err
	}
	if o.TickInterval <= 0 {
		// The tick adds up to its length to every uplink's latency (budget:
		// dedup window + 20 ms to stored); an idle tick costs microseconds.
		o.TickInterval = min(max(o.DedupWindow/40, time.Millisecond), 5*time.Millisecond)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return b, nil
}

// fillDownlinks fills the defaults of what the server sends: duty cycle,
// confirmed retries, ADR and MAC command retries, the downlink queue.
func (o *Options) fillDownlinks(d Config) error {
	if o.DutyCycle == "" {
		o.DutyCycle = d.DutyCycle
	}
	if o.DutyCycle != dutyCycleOn && o.DutyCycle != dutyCycleOff {
		return fmt.Errorf("network.duty_cycle: %q is neither on nor off", o.DutyCycle)
	}
	if o.ConfirmedRetries <= 0 {
		o.ConfirmedRetries = d.ConfirmedRetries
	}
	if o.ADR.Algorithm == "" {
		o.ADR.Algorithm = d.ADR.Algorithm
	}
	if o.ADR.MarginDB <= 0 {
		o.ADR.MarginDB = d.ADR.MarginDB
	}
	if o.MACRetries <= 0 {
		o.MACRetries = d.MACRetries
	}
	if o.DownlinkQueueSize <= 0 {
		o.DownlinkQueueSize = 16
	}
	return nil
}

// openState opens or adopts the state, seals it with the KEK and loads
// every stored session.
func (s *Server) openState() error {
	s.state = s.opts.State
	if s.state == nil {
		if s.opts.StatePath == "" {
			return errors.New("network: Options.State or Options.StatePath is required")
		}
		st, err := OpenState(s.opts.StatePath)
		if err != nil {
			return err
		}
		s.state, s.ownsDB = st, true
	}
	sessions, err := s.loadState()
	if err != nil {
		if s.ownsDB {
			_ = s.state.Close()
		}
		return err
	}
	s.index(sessions)
	return nil
}

func (s *Server) loadState() ([]*session, error) {
	if s.opts.KEK != nil {
		if err := s.state.SetKEK(s.opts.KEK); err != nil {
			return nil, err
		}
	}
	return s.loadSessionsAndQueues()
}

// Close closes the state if NewServer opened it. Call it after Run returned.
func (s *Server) Close() error {
	if s.ownsDB {
		return s.state.Close()
	}
	return nil
}

// HandleFrame queues one reception for deduplication. It never blocks: when
// the queue is full the frame is dropped and counted.
func (s *Server) HandleFrame(ctx context.Context, f Frame) {
	select {
	case s.in <- inFrame{f: f, at: s.now()}:
	default:
		s.m.uplinks.WithLabelValues(resultDropped).Inc()
		if f.Done != nil {
			f.Done(resultDropped)
		}
	}
}

// Band is the band the server plans with, its extra channels added; the
// Basics Station LNS tells routers their channel plan from it. Callers
// only read it.
func (s *Server) Band() band.Band { return s.band }

// HandleTxAck reports the gateway's TX_ACK for the downlink with the given
// ID (err nil means sent). A rejected RX1 transmission is retried in RX2.
// Safe for concurrent use; it never blocks.
func (s *Server) HandleTxAck(id uint64, err error) {
	select {
	case s.acks <- txAck{id: id, err: err}:
	default:
		s.m.txAckDropped.Inc()
	}
}

// Run deduplicates and processes frames until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.shutdown(ctx)
			return nil
		case f := <-s.in:
			s.dedup.add(f, s.window(f.f), s.m)
		case a := <-s.acks:
			s.handleTxAck(ctx, a)
		case ev := <-s.durable:
			s.handleDurable(ctx, ev)
		case <-s.kick:
			s.sendClassC(ctx)
		case <-t.C:
			s.tick(ctx)
		}
	}
}

// tick closes due dedup windows. The clock is read before draining the
// input so that every frame received before that instant is merged first.
func (s *Server) tick(ctx context.Context) {
	now := s.now()
	for {
		select {
		case f := <-s.in:
			s.dedup.add(f, s.window(f.f), s.m)
			continue
		default:
		}
		break
	}
	for {
		select {
		case a := <-s.acks:
			s.handleTxAck(ctx, a)
			continue
		case ev := <-s.durable:
			s.handleDurable(ctx, ev)
			continue
		default:
		}
		break
	}
	if due := s.dedup.due(now); len(due) > 0 {
		s.processBatch(ctx, due)
	}
	s.expirePending(now)
	s.expireHeld(now)
	s.expireAwaiting(now)
	s.flushSettled()
	if now.Sub(s.lastClassC) >= classCHoldoff/2 {
		s.lastClassC = now
		s.sendClassC(ctx)
	}
}

// shutdown processes the frames still in their dedup windows instead of
// dropping them: their counters are committed and they are handed on with
// a short deadline, as the handler may be stopping too.
func (s *Server) shutdown(parent context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 2*time.Second)
	defer cancel()
	for {
		select {
		case f := <-s.in:
			s.dedup.add(f, s.window(f.f), s.m)
			continue
		default:
		}
		break
	}
	if due := s.dedup.due(time.Unix(1<<62, 0)); len(due) > 0 {
		s.processBatch(ctx, due)
	}
}
