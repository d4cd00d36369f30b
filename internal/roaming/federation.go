package roaming

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/backend"

	"github.com/loraedge/loraedge/internal/uplink"
)

// Injected is a reception at a peer's gateway, handed to this instance's
// network layer as the device's home.
type Injected struct {
	PHYPayload []byte
	RxInfo     uplink.RxInfo
	// Late: it waited in the peer's queue; its receive windows passed.
	Late bool
	// Peer names the peer whose gateway heard it.
	Peer string
	// Done hears the network layer's result.
	Done func(result string)
}

// Transmission is a downlink to send through one of this instance's
// gateways for a peer (XmitDataReq).
type Transmission struct {
	Gateway     lorawan.EUI64
	PHYPayload  []byte
	Frequency   uint32 // Hz
	DataRate    string
	Tmst        uint32
	Immediately bool
}

// RemoteDownlink is a downlink the home's network layer planned through a
// peer's gateway; Tmst is as the network layer computed it from the
// reception's Tmst that Federation gave it.
type RemoteDownlink struct {
	Gateway     lorawan.EUI64
	PHYPayload  []byte
	Frequency   uint32
	DataRate    string
	Tmst        uint32
	Immediately bool
}

// FederationOptions configures a Federation.
type FederationOptions struct {
	Link LinkOptions
	// DataDir holds the durable queue (roaming.db).
	DataDir string
	// Inject hands a peer's reception to the network layer; it must not
	// block.
	Inject func(Injected)
	// Transmit sends a downlink on a local gateway and returns its TX_ACK
	// result (nil: sent).
	Transmit func(ctx context.Context, tx Transmission) error
	// RetryInterval is the first wait before a queued frame is tried again
	// (1s), doubling up to MaxRetryInterval (30s).
	RetryInterval, MaxRetryInterval time.Duration
	// Forwarded, when set, hears what became of a frame sent to its home
	// (forwarded.go); it must not block.
	Forwarded func(fr Frame, home, outcome string)
}

// Federation is this instance in the county network: it forwards frames of
// peers' devices to their homes (durably queued while a home is
// unreachable), takes peers' frames of its own devices, sends its
// downlinks through peers' gateways and transmits theirs.
type Federation struct {
	opts  FederationOptions
	link  *Link
	table *Table
	self  *Peer
	log   *slog.Logger
	q     *queue
	homes map[lorawan.EUI64]*home

	mu      sync.Mutex
	remotes map[lorawan.EUI64]*remoteGateway
	xmits   chan xmit

	closeOnce sync.Once
	closeErr  error
}

// home is the forwarding state of one peer.
type home struct {
	peer *Peer
	in   chan Frame
	kick chan struct{}
}

// remoteGateway is a peer's gateway that heard one of this instance's
// devices: the ULTokens of its latest receptions, by slot.
type remoteGateway struct {
	peer  *Peer
	slots [slotCount][]byte
	next  uint32
	last  []byte
}

// A remote reception gets RxInfo.Tmst = slot << slotShift: the network
// layer adds the RX delay (under 16 s < 2^25 µs) and the downlink's Tmst
// names the reception it answers. slotCount receptions per gateway can be
// answered at once, far more than a gateway's downlink duty cycle allows.
const (
	slotShift = 25
	slotCount = 1 << (32 - slotShift)
)

// maxRemoteGateways bounds the peers' gateways remembered for downlinks:
// far more than a county has.
const maxRemoteGateways = 4096

type xmit struct {
	d    RemoteDownlink
	gw   *remoteGateway
	tok  []byte
	done func(error)
}

// Sizes of the in-memory queues; beyond them frames go to the durable
// queue (uplinks) or are dropped and counted (downlinks).
const (
	homeQueue  = 1024
	xmitQueue  = 256
	xmitWorker = 4
)

// NewFederation opens the durable queue and builds the link.
func NewFederation(opts FederationOptions) (*Federation, error) {
	if opts.Inject == nil || opts.Transmit == nil {
		return nil, errors.New("roaming: Inject and Transmit are required")
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = time.Second
	}
	if opts.MaxRetryInterval <= 0 {
		opts.MaxRetryInterval = 30 * time.Second
	}
	f := &Federation{opts: opts, table: opts.Link.Table, homes: map[lorawan.EUI64]*home{},
		remotes: map[lorawan.EUI64]*remoteGateway{}, xmits: make(chan xmit, xmitQueue)}
	opts.Link.Handler = f
	l, err := NewLink(opts.Link)
	if err != nil {
		return nil, err
	}
	f.link, f.self, f.log = l, l.Self(), l.log
	for i := range f.table.Peers {
		p := &f.table.Peers[i]
		if p != f.self {
			f.homes[p.NSID] = &home{peer: p, in: make(chan Frame, homeQueue), kick: make(chan struct{}, 1)}
		}
	}
	f.q, err = openQueue(filepath.Join(opts.DataDir, "roaming.db"), opts.Link.Config.QueueSize)
	if err != nil {
		return nil, err
	}
	for _, h := range f.homes {
		l.m.queue.WithLabelValues(h.peer.Name).Set(float64(f.q.depth(h.peer.NSID.String())))
	}
	return f, nil
}

// Link is the federation's peer link (its address, metrics).
func (f *Federation) Link() *Link { return f.link }

// Run serves peers and forwards frames until ctx is done, then closes the
// durable queue.
func (f *Federation) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", f.opts.Link.Config.Listen)
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("roaming: listen: %w", err)
	}
	return f.Serve(ctx, ln)
}

// Serve is Run on a listener the caller bound.
func (f *Federation) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	for _, h := range f.homes {
		wg.Go(func() { f.forwardLoop(ctx, h) })
	}
	for range xmitWorker {
		wg.Go(func() { f.xmitLoop(ctx) })
	}
	err := f.link.Serve(ctx, ln)
	wg.Wait()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close closes the durable queue; Run does it when it returns, and a
// daemon that never ran does it itself. It may be called more than once.
func (f *Federation) Close() error {
	f.closeOnce.Do(func() { f.closeErr = f.q.close() })
	return f.closeErr
}

// ForeignDevAddr implements the network layer's Roaming: a DevAddr in a
// peer's block.
func (f *Federation) ForeignDevAddr(a lorawan.DevAddr) bool {
	p, ok := f.table.HomeOfDevAddr(a)
	return ok && p != f.self
}

// ForeignJoin implements the network layer's Roaming: a device homed at a
// peer by the table.
func (f *Federation) ForeignJoin(joinEUI, devEUI lorawan.EUI64) bool {
	p, ok := f.table.HomeOfDevice(devEUI, joinEUI)
	return ok && p != f.self
}

// Forward implements the network layer's Roaming: the frame is queued for
// its home's forwarding loop. It never blocks; a full queue drops the frame
// and counts it.
func (f *Federation) Forward(fr Frame) string {
	h := f.homeOf(fr)
	if h == nil {
		return ""
	}
	select {
	case h.in <- fr:
	default:
		f.link.m.dropped.WithLabelValues(h.peer.Name).Inc()
		f.forwarded(fr, h.peer.Name, "dropped: the queue for "+h.peer.Name+" is full")
	}
	return h.peer.Name
}

func (f *Federation) homeOf(fr Frame) *home {
	tg, ok := ReadTarget(fr.PHYPayload)
	if !ok {
		return nil
	}
	p, ok := f.table.Home(tg)
	if !ok {
		return nil
	}
	return f.homes[p.NSID]
}

// prStartReq builds the stateless PRStartReq of a frame: ULMetaData with
// every local gateway's reception and a ULToken to answer through it.
func prStartReq(fr Frame, dlAllowed bool) *PRStartReq {
	req := &PRStartReq{}
	req.MessageType = backend.PRStartReq
	req.PHYPayload = fr.PHYPayload
	md := &req.ULMetaData
	// RecvTime has whole seconds on the wire; each gateway's FineRecvTime
	// carries the rest, so the home stores the reading at its own time.
	base := fr.First.UTC().Truncate(time.Second)
	md.RFRegion = "EU868"
	if len(fr.RxInfo) > 0 {
		best := fr.RxInfo[0]
		freq := float64(best.Frequency) / 1e6
		md.ULFreq = &freq
		if dr, ok := dataRateIndex(best.DataRate); ok {
			md.DataRate = &dr
		}
		base = receivedAt(fr, best).UTC().Truncate(time.Second)
	}
	md.RecvTime = backend.ISO8601Time(base)
	n := len(fr.RxInfo)
	md.GWCnt = &n
	for _, rx := range fr.RxInfo {
		rssi, snr := rx.RSSI, rx.SNR
		at := rx.ReceivedAt
		if at.IsZero() {
			at = fr.First
		}
		fine := int(receivedAt(fr, rx).Sub(base))
		md.GWInfo = append(md.GWInfo, backend.GWInfoElement{
			ID: backend.HEXBytes(rx.GatewayID[:]), RFRegion: "EU868", RSSI: &rssi, SNR: &snr, FineRecvTime: &fine,
			ULToken: ulToken{gateway: rx.GatewayID, tmst: rx.Tmst, at: at}.marshal(), DLAllowed: dlAllowed,
		})
	}
	return req
}

// receivedAt is when a gateway heard the frame: its GPS time if it has
// one, else when the forwarder got it.
func receivedAt(fr Frame, rx uplink.RxInfo) time.Time {
	switch {
	case rx.Time != nil:
		return *rx.Time
	case !rx.ReceivedAt.IsZero():
		return rx.ReceivedAt
	}
	return fr.First
}

// maxFineRecvTime bounds a gateway's FineRecvTime offset from RecvTime
// that the home takes; beyond it RecvTime alone is used.
const maxFineRecvTime = int64(time.Minute)

// enqueue keeps a data frame for the home; a join request is not kept (a
// late join-accept would reach no one; the device asks again).
func (f *Federation) enqueue(h *home, bucket string, fr Frame) {
	if fr.Join {
		f.link.m.dropped.WithLabelValues(h.peer.Name).Inc()
		f.forwarded(fr, h.peer.Name, "not forwarded: "+h.peer.Name+" does not answer (a join request is not queued; the device asks again)")
		return
	}
	b, err := json.Marshal(prStartReq(fr, false))
	if err == nil {
		err = f.q.push(bucket, b)
	}
	if err != nil {
		f.link.m.dropped.WithLabelValues(h.peer.Name).Inc()
		f.forwarded(fr, h.peer.Name, "dropped: the queue for "+h.peer.Name+" cannot take it: "+err.Error())
		if !errors.Is(err, errQueueFull) {
			f.log.Error("roaming queue write failed", "peer", h.peer.Name, "err", err)
		}
		return
	}
	f.forwarded(fr, h.peer.Name, "queued for "+h.peer.Name+", which does not answer: sent when it is back")
	f.link.m.queue.WithLabelValues(h.peer.Name).Set(float64(f.q.depth(bucket)))
}

// flushToQueue keeps what is still in memory when the daemon stops.
func (f *Federation) flushToQueue(h *home, bucket string) {
	for {
		select {
		case fr := <-h.in:
			f.enqueue(h, bucket, fr)
		default:
			return
		}
	}
}

// HandlePRStart takes a peer's frame of a device homed here: every
// reception goes to the network layer, which merges them with local ones
// in its dedup window and checks MIC and frame counter as for any frame.
// The answer waits for the frame's final outcome (an accepted uplink's:
// durable in the store), so the forwarder drops it only then; the result
// is counted per peer.
func (f *Federation) HandlePRStart(ctx context.Context, from *Peer, req *PRStartReq) *PRStartAns {
	ans := &PRStartAns{}
	if code := f.checkHome(req.PHYPayload); code != "" {
		ans.Result = backend.Result{ResultCode: code, Description: "not homed at " + f.self.Name}
		return ans
	}
	md := req.ULMetaData
	if len(md.GWInfo) == 0 {
		ans.Result = backend.Result{ResultCode: ResultMalformedMessage, Description: "ULMetaData has no GWInfo"}
		return ans
	}
	dr := ""
	if md.DataRate != nil {
		dr, _ = dataRateName(*md.DataRate)
	}
	var freq uint32
	if md.ULFreq != nil && *md.ULFreq > 0 && *md.ULFreq < 1e4 {
		freq = uint32(math.Round(*md.ULFreq * 1e6))
	}
	if dr == "" || freq == 0 {
		ans.Result = backend.Result{ResultCode: ResultMalformedMessage, Description: "ULMetaData needs DataRate and ULFreq"}
		return ans
	}
	result := make(chan string, 1)
	count := func(r string) {
		f.link.m.frames.WithLabelValues(from.Name, r).Inc()
		select {
		case result <- r:
		default:
		}
	}
	f.log.Debug("frame via a peer's gateways", "peer", from.Name, "gateways", len(md.GWInfo), "late", !md.GWInfo[0].DLAllowed)
	for i, g := range md.GWInfo {
		rx := uplink.RxInfo{Frequency: freq, DataRate: dr, ReceivedAt: time.Time(md.RecvTime)}
		if g.FineRecvTime != nil && int64(*g.FineRecvTime) > -maxFineRecvTime && int64(*g.FineRecvTime) < maxFineRecvTime {
			rx.ReceivedAt = rx.ReceivedAt.Add(time.Duration(*g.FineRecvTime))
		}
		if g.RSSI != nil {
			rx.RSSI = *g.RSSI
		}
		if g.SNR != nil {
			rx.SNR = *g.SNR
		}
		copy(rx.GatewayID[:], g.ID)
		if len(g.ID) != 8 {
			rx.GatewayID = from.NSID // a 1.0 peer that hides its gateways
			rx.GatewayID[7] ^= byte(i)
		}
		if g.DLAllowed && len(g.ULToken) > 0 {
			rx.Tmst = f.remember(rx.GatewayID, from, g.ULToken)
		}
		in := Injected{PHYPayload: req.PHYPayload, RxInfo: rx, Late: !g.DLAllowed, Peer: from.Name}
		if i == 0 {
			in.Done = count
		}
		f.opts.Inject(in)
	}
	lifetime := 0 // stateless: no session is kept for the forwarder
	ans.Lifetime = &lifetime
	ans.Result = f.awaitOutcome(ctx, result)
	return ans
}

// checkHome refuses a frame this instance is not the home of.
func (f *Federation) checkHome(phy []byte) backend.ResultCode {
	tg, ok := ReadTarget(phy)
	if !ok {
		return ResultMalformedMessage
	}
	if p, ok := f.table.Home(tg); !ok || p != f.self {
		if tg.Join {
			return ResultUnknownDevEUI
		}
		return ResultUnknownDevAddr
	}
	return ""
}

// remember keeps a reception's ULToken under a slot of its gateway and
// returns the Tmst that names the slot.
func (f *Federation) remember(gw lorawan.EUI64, from *Peer, tok []byte) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.remotes[gw]
	if !ok && len(f.remotes) >= maxRemoteGateways {
		// A peer naming ever new gateways must not grow this without
		// bound; such a reception just gets no downlink.
		return 0
	}
	if !ok || r.peer != from {
		r = &remoteGateway{peer: from}
		f.remotes[gw] = r
	}
	slot := r.next % slotCount
	r.next++
	r.slots[slot] = append([]byte(nil), tok...)
	r.last = r.slots[slot]
	return slot << slotShift
}

// SendRemote sends a downlink through a peer's gateway, if gw is one: it
// is queued for an XmitDataReq and done hears the forwarder's TX_ACK
// result. false means gw is not a peer's gateway.
func (f *Federation) SendRemote(d RemoteDownlink, done func(error)) bool {
	f.mu.Lock()
	r, ok := f.remotes[d.Gateway]
	var tok []byte
	if ok {
		tok = r.last
		if !d.Immediately {
			tok = r.slots[d.Tmst>>slotShift]
		}
	}
	f.mu.Unlock()
	if !ok {
		return false
	}
	select {
	case f.xmits <- xmit{d: d, gw: r, tok: tok, done: done}:
	default:
		done(errors.New("roaming: downlink queue full"))
	}
	return true
}

func (f *Federation) xmitLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case x := <-f.xmits:
			x.done(f.xmit(ctx, x))
		}
	}
}

// xmit asks the forwarder to transmit. DLMetaData carries the window the
// home chose: its frequency and data rate, and RXDelay1 as the whole
// seconds from the uplink to that window (for RX2 that is RX1's delay plus
// one), which a loraedge forwarder adds to the reception's counter.
func (f *Federation) xmit(ctx context.Context, x xmit) error {
	req := &XmitDataReq{}
	req.MessageType = backend.XmitDataReq
	req.PHYPayload = x.d.PHYPayload
	freq := float64(x.d.Frequency) / 1e6
	md := &backend.DLMetaData{DLFreq1: &freq, GWInfo: []backend.GWInfoElement{{ID: backend.HEXBytes(x.d.Gateway[:]), ULToken: x.tok}}}
	if dr, ok := dataRateIndex(x.d.DataRate); ok {
		md.DataRate1 = &dr
	}
	class := "A"
	if x.d.Immediately {
		class = "C"
	} else {
		delay := int(math.Round(float64(x.d.Tmst&(1<<slotShift-1)) / 1e6))
		md.RXDelay1 = &delay
	}
	md.ClassMode = &class
	req.DLMetaData = md
	_, err := f.link.Send(ctx, x.gw.peer, req)
	return err
}

// errTooLate refuses a downlink whose reception is too old to answer.
var errTooLate = errors.New("TOO_LATE: the reception is too old")

// HandleXmitData transmits a peer's downlink through the gateway its
// ULToken names and answers with the gateway's TX_ACK result.
func (f *Federation) HandleXmitData(ctx context.Context, _ *Peer, req *XmitDataReq) *XmitDataAns {
	ans := &XmitDataAns{}
	md := req.DLMetaData
	tx, err := f.transmission(req.PHYPayload, md)
	if err == nil {
		err = f.opts.Transmit(ctx, tx)
	}
	if err != nil {
		ans.Result = backend.Result{ResultCode: ResultXmitFailed, Description: err.Error()}
		return ans
	}
	ans.DLFreq1 = md.DLFreq1
	ans.Result.ResultCode = ResultSuccess
	return ans
}

func (f *Federation) transmission(phy []byte, md *backend.DLMetaData) (Transmission, error) {
	tok, err := parseULToken(md.GWInfo[0].ULToken)
	if err != nil {
		return Transmission{}, err
	}
	tx := Transmission{Gateway: tok.gateway, PHYPayload: phy}
	freq, drIdx := md.DLFreq1, md.DataRate1
	if freq == nil {
		freq, drIdx = md.DLFreq2, md.DataRate2
	}
	if freq == nil || drIdx == nil || *freq <= 0 || *freq > 1e4 {
		return Transmission{}, errors.New("DLMetaData needs a frequency and data rate")
	}
	tx.Frequency = uint32(math.Round(*freq * 1e6))
	var ok bool
	if tx.DataRate, ok = dataRateName(*drIdx); !ok {
		return Transmission{}, fmt.Errorf("data rate %d is not EU868 LoRa", *drIdx)
	}
	if md.ClassMode != nil && *md.ClassMode == "C" {
		tx.Immediately = true
		return tx, nil
	}
	if md.RXDelay1 == nil || *md.RXDelay1 < 1 || *md.RXDelay1 > 16 {
		return Transmission{}, errors.New("class A DLMetaData needs RXDelay1 of 1..16 s")
	}
	delay := time.Duration(*md.RXDelay1) * time.Second
	if md.DLFreq1 == nil {
		delay += time.Second // RX2
	}
	if f.link.now().Sub(tok.at) > delay {
		return Transmission{}, errTooLate
	}
	tx.Tmst = tok.tmst + uint32(delay/time.Microsecond)
	return tx, nil
}
