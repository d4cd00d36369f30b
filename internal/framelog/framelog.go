// Package framelog keeps the last frames per device and per gateway in
// memory, with what became of each (stored, duplicate, bad MIC, join
// rejected and why, a downlink and its TX_ACK), and streams new ones: where
// an installer looks when a sensor "does not show up". Nothing is written
// to disk; the rings are bounded in length and number.
package framelog

import (
	"container/list"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/uplink"
)

// streamBuffer is the number of frames a subscriber may fall behind
// before frames are dropped for it.
const streamBuffer = 256

// Query selects frames: of one device, through one gateway, or both; empty
// fields select all.
type Query struct {
	Device  string
	Gateway string
	// Limit is the most frames returned (0: all kept).
	Limit int
}

func (q Query) match(ev *uplink.FrameEvent) bool {
	if q.Device != "" && ev.DevEUI != q.Device {
		return false
	}
	if q.Gateway != "" && !slices.ContainsFunc(ev.Gateways, func(g uplink.FrameGateway) bool { return g.ID == q.Gateway }) {
		return false
	}
	return true
}

// Log is the frame log. Its methods are safe for concurrent use and never
// block on a subscriber.
type Log struct {
	mu   sync.Mutex
	seq  uint64
	devs *rings
	gws  *rings
	subs map[*subscriber]struct{}
	// early holds forwarding outcomes that came before their frame, oldest
	// key first in earlyKeys.
	early     map[string]string
	earlyKeys []string

	dropped prometheus.Counter
	evicted *prometheus.CounterVec
}

type subscriber struct {
	q  Query
	ch chan uplink.FrameEvent
}

// New returns an empty log; reg may be nil.
func New(cfg Config, reg prometheus.Registerer) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Log{
		devs: newRings(cfg.MaxDevices, cfg.PerDevice),
		gws:  newRings(cfg.MaxGateways, cfg.PerGateway),
		subs: map[*subscriber]struct{}{},
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "loraedge_framelog_stream_dropped_total",
			Help: "Frames not streamed to a subscriber that fell behind."}),
		evicted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loraedge_framelog_rings_evicted_total",
			Help: "Device or gateway rings dropped to keep the frame log within its bounds, by kind."}, []string{"kind"}),
	}
	if reg != nil {
		if err := reg.Register(l.dropped); err != nil {
			return nil, err
		}
		if err := reg.Register(l.evicted); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// ObserveFrame adds one frame (the network layer's outcome of an uplink or
// join-request, or a downlink handed to a gateway).
func (l *Log) ObserveFrame(ev uplink.FrameEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	ev.Seq = l.seq
	p := &ev
	l.applyEarly(p)
	if ev.DevEUI != "" && l.devs.push(ev.DevEUI, p) {
		l.evicted.WithLabelValues("device").Inc()
	}
	for _, g := range ev.Gateways {
		if l.gws.push(g.ID, p) {
			l.evicted.WithLabelValues("gateway").Inc()
		}
	}
	l.publish(p)
}

// ObserveResult replaces the result of the device's accepted uplink fcnt
// with what the ingester made of it (stored, decode error and its
// message).
func (l *Log) ObserveResult(devEUI string, fcnt uint32, result, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.devs.m[devEUI]
	if r == nil {
		return
	}
	if p := r.find(func(ev *uplink.FrameEvent) bool {
		return ev.Direction == uplink.Up && ev.Result == uplink.ResultAccepted && ev.FCnt != nil && *ev.FCnt == fcnt
	}); p != nil {
		p.Result, p.Reason = result, reason
		l.publish(p)
	}
}

// ObserveTxAck records the gateway's answer to downlink id ("ok" when err
// is nil).
func (l *Log) ObserveTxAck(gateway string, id uint64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.gws.m[gateway]
	if r == nil {
		return
	}
	if p := r.find(func(ev *uplink.FrameEvent) bool { return ev.Direction == uplink.Down && ev.DownlinkID == id }); p != nil {
		p.TxAck = "ok"
		if err != nil {
			p.TxAck = err.Error()
		}
		l.publish(p)
	}
}

// Frames returns the kept frames that q selects, newest first.
func (l *Log) Frames(q Query) []uplink.FrameEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var src []*rings
	switch {
	case q.Device != "":
		src = []*rings{{m: map[string]*ring{q.Device: l.devs.m[q.Device]}}}
	case q.Gateway != "":
		src = []*rings{{m: map[string]*ring{q.Gateway: l.gws.m[q.Gateway]}}}
	default:
		src = []*rings{l.devs, l.gws}
	}
	seen := map[uint64]bool{}
	var out []uplink.FrameEvent
	for _, rs := range src {
		for _, r := range rs.m {
			if r == nil {
				continue
			}
			r.each(func(ev *uplink.FrameEvent) {
				if !seen[ev.Seq] && q.match(ev) {
					seen[ev.Seq] = true
					out = append(out, *ev)
				}
			})
		}
	}
	slices.SortFunc(out, func(a, b uplink.FrameEvent) int { return int(int64(b.Seq) - int64(a.Seq)) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

// Subscribe streams new and updated frames that q selects until cancel is
// called. A subscriber that falls behind by more than 256 frames misses
// frames (counted), it never slows the network layer.
func (l *Log) Subscribe(q Query) (frames <-chan uplink.FrameEvent, cancel func()) {
	s := &subscriber{q: q, ch: make(chan uplink.FrameEvent, streamBuffer)}
	l.mu.Lock()
	l.subs[s] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.subs, s)
			l.mu.Unlock()
		})
	}
}

// publish hands a copy of p to every matching subscriber; l.mu is held.
func (l *Log) publish(p *uplink.FrameEvent) {
	for s := range l.subs {
		if !s.q.match(p) {
			continue
		}
		select {
		case s.ch <- *p:
		default:
			l.dropped.Inc()
		}
	}
}

// Len reports the number of device and gateway rings and the frames kept
// (each frame once), for tests and the bound.
func (l *Log) Len() (devices, gateways, frames int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[uint64]bool{}
	for _, rs := range []*rings{l.devs, l.gws} {
		for _, r := range rs.m {
			r.each(func(ev *uplink.FrameEvent) { seen[ev.Seq] = true })
		}
	}
	return len(l.devs.m), len(l.gws.m), len(seen)
}

// rings are the rings of one kind by key, the least recently written
// dropped first beyond max.
type rings struct {
	max, size int
	m         map[string]*ring
	lru       *list.List // of keys, most recent in front
}

func newRings(max, size int) *rings {
	return &rings{max: max, size: size, m: map[string]*ring{}, lru: list.New()}
}

// push adds p to key's ring and reports whether another ring was evicted.
func (rs *rings) push(key string, p *uplink.FrameEvent) bool {
	r := rs.m[key]
	evicted := false
	if r == nil {
		if len(rs.m) >= rs.max {
			old := rs.lru.Back()
			delete(rs.m, rs.lru.Remove(old).(string))
			evicted = true
		}
		r = &ring{buf: make([]*uplink.FrameEvent, 0, min(rs.size, 16)), size: rs.size}
		r.elem = rs.lru.PushFront(key)
		rs.m[key] = r
	} else {
		rs.lru.MoveToFront(r.elem)
	}
	r.push(p)
	return evicted
}

// ring keeps the last size frames, oldest overwritten.
type ring struct {
	buf  []*uplink.FrameEvent
	size int
	next int
	elem *list.Element
}

func (r *ring) push(p *uplink.FrameEvent) {
	if len(r.buf) < r.size {
		r.buf = append(r.buf, p)
		return
	}
	r.buf[r.next] = p
	r.next = (r.next + 1) % r.size
}

func (r *ring) each(f func(*uplink.FrameEvent)) {
	for _, p := range r.buf {
		f(p)
	}
}

// find returns the newest frame for which ok is true, or nil.
func (r *ring) find(ok func(*uplink.FrameEvent) bool) *uplink.FrameEvent {
	var best *uplink.FrameEvent
	for _, p := range r.buf {
		if ok(p) && (best == nil || p.Seq > best.Seq) {
			best = p
		}
	}
	return best
}

// ObserveForward records what the home made of a frame this instance
// forwarded to it: the reason of the newest forwarded frame heard by
// gateway with the same header (type, DevAddr, FCnt) becomes outcome. The
// home may answer before the network layer reports the frame; the outcome
// then waits for it (the last 64 are kept).
func (l *Log) ObserveForward(gateway string, header uplink.FrameEvent, outcome string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := forwardKey(gateway, &header)
	if r := l.gws.m[gateway]; r != nil {
		if p := r.find(func(ev *uplink.FrameEvent) bool {
			return ev.Result == uplink.ResultForwarded && forwardKey(gateway, ev) == k
		}); p != nil {
			p.Reason = outcome
			l.publish(p)
			return
		}
	}
	if l.early == nil {
		l.early = map[string]string{}
	}
	if _, ok := l.early[k]; !ok {
		l.earlyKeys = append(l.earlyKeys, k)
		if len(l.earlyKeys) > maxEarly {
			delete(l.early, l.earlyKeys[0])
			l.earlyKeys = l.earlyKeys[1:]
		}
	}
	l.early[k] = outcome
}

// maxEarly bounds the forwarding outcomes that wait for their frame.
const maxEarly = 64

// forwardKey names a forwarded uplink heard by gateway.
func forwardKey(gateway string, ev *uplink.FrameEvent) string {
	k := gateway + "|" + ev.MType + "|" + ev.DevAddr
	if ev.FCnt != nil {
		k += "|" + strconv.FormatUint(uint64(*ev.FCnt), 10)
	}
	return k
}

// applyEarly gives a forwarded frame the outcome its home already sent;
// l.mu is held.
func (l *Log) applyEarly(p *uplink.FrameEvent) {
	if p.Result != uplink.ResultForwarded || len(l.early) == 0 {
		return
	}
	for _, g := range p.Gateways {
		k := forwardKey(g.ID, p)
		if o, ok := l.early[k]; ok {
			p.Reason = o
			delete(l.early, k)
			l.earlyKeys = slices.DeleteFunc(l.earlyKeys, func(x string) bool { return x == k })
			return
		}
	}
}
