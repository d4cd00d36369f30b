package network

import (
	"context"
	"slices"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/uplink"
)

// batch collects the state changes and outputs of the frames whose dedup
// windows closed in one tick, so their durable writes share one bbolt
// transaction (group commit) that completes before anything is handed on.
type batch struct {
	dirty     []*session
	dirtySet  map[*session]struct{}
	joins     map[lorawan.EUI64]*joinState
	outs      []outcome
	requeue   []requeue
	queue     []queueOp // stored downlink queue changes
	dropPrev  []lorawan.EUI64
	mutations bool
}

func newBatch() *batch {
	return &batch{dirtySet: make(map[*session]struct{}), joins: make(map[lorawan.EUI64]*joinState)}
}

type requeue struct {
	eui  lorawan.EUI64
	item queueItem
}

type outcome struct {
	join   bool
	result string
	up     *uplink.Uplink
	tx     []txPlan
	devEUI lorawan.EUI64
	home   string // the peer a foreign frame went to
	// confirmed and fcnt name a new confirmed uplink, whose ACK waits
	// until it is durable (ackhold.go).
	confirmed bool
	fcnt      uint32
	// past: a late frame below the session's counter, or a re-send of an
	// uplink not known durable (fcntwindow.go): stored, never answered.
	// waits: its waiters hear the result of an earlier copy's storing.
	past, waits bool
	// dones are the waiters of an uplink followed until durable.
	dones []func(string)
}

type txPlan struct {
	item *queueItem // the queued payload carried, if any
	kind string     // "join_accept" or "data"
	rx1  Downlink
	rx2  *Downlink // fallback when RX1 is rejected
	// ack marks a downlink acknowledging the confirmed uplink ackFCnt: it
	// leaves only once that uplink is durable, by rx1By (RX2: a second
	// later) at the latest.
	ack     bool
	ackFCnt uint32
	rx1By   time.Time
}

// forDevice names the device in the plan's downlinks (for the frame log).
func (p *txPlan) forDevice(eui lorawan.EUI64) {
	p.rx1.DevEUI = eui
	if p.rx2 != nil {
		rx2 := *p.rx2
		rx2.DevEUI = eui
		p.rx2 = &rx2
	}
}

// done tells the frame's waiters (a peer's forwarded reception) its result.
func (e *dedupEntry) done(result string) {
	for _, d := range e.dones {
		d(result)
	}
}

func (b *batch) touch(ss *session) {
	b.mutations = true
	if _, ok := b.dirtySet[ss]; ok {
		return
	}
	b.dirtySet[ss] = struct{}{}
	b.dirty = append(b.dirty, ss)
}

func (s *Server) processBatch(ctx context.Context, due []*dedupEntry) {
	b := newBatch()
	s.mu.Lock()
	for _, e := range due {
		b.outs = append(b.outs, s.processEntry(e, b))
	}
	s.mu.Unlock()

	if b.mutations {
		start := time.Now()
		err := s.state.commit(b.dirty, b.joins, b.dropPrev, b.queue...)
		s.m.commitSeconds.Observe(time.Since(start).Seconds())
		if err != nil {
			s.log.Error("commit failed, frames of this batch are not handed on", "err", err, "frames", len(due))
			s.rollback(b)
			for i, o := range b.outs {
				if o.up != nil || len(o.tx) > 0 || o.result == resultOK {
					o.result, o.up, o.tx = resultStoreError, nil, nil
				}
				s.count(o)
				s.observeFrame(due[i], o)
				if !o.waits {
					due[i].done(o.result)
				}
			}
			return
		}
	}
	for i, o := range b.outs {
		s.count(o)
		s.observeFrame(due[i], o)
		switch {
		case o.waits:
		case o.up != nil && s.tracksDurability():
			o.dones = due[i].dones // they hear it once it is durable
		default:
			due[i].done(o.result)
		}
		if due[i].late || o.past {
			// Its receive windows passed while it waited in a peer's queue.
			o.tx = nil
		}
		s.handOn(ctx, o)
		for _, p := range o.tx {
			p.forDevice(o.devEUI)
			if p.ack {
				s.sendAck(ctx, o.devEUI, p)
			} else {
				s.transmit(ctx, p)
			}
		}
	}
}

func (s *Server) count(o outcome) {
	if o.join {
		s.m.joins.WithLabelValues(o.result).Inc()
		return
	}
	s.m.uplinks.WithLabelValues(o.result).Inc()
}

// rollback makes memory match the store again after a failed commit: the
// sessions are reloaded and the join cache dropped. If even the reload fails
// the advanced counters stay, which errs on the side of rejecting frames.
func (s *Server) rollback(b *batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range b.requeue {
		s.requeueItem(r.item)
	}
	clear(s.joins)
	sessions, err := s.state.loadSessions()
	if err != nil {
		s.log.Error("reload sessions after failed commit", "err", err)
		return
	}
	clear(s.sessions)
	clear(s.prev)
	clear(s.byAddr)
	s.index(sessions)
}

// processEntry decodes one deduplicated frame and hands it to the join or
// the data path.
func (s *Server) processEntry(e *dedupEntry, b *batch) outcome {
	// Best SNR first: the downlink goes through rx[0].
	slices.SortStableFunc(e.rx, func(x, y uplink.RxInfo) int {
		switch {
		case x.SNR > y.SNR:
			return -1
		case x.SNR < y.SNR:
			return 1
		}
		return 0
	})
	if o, ok := s.forwardForeign(e); ok {
		return o
	}
	var phy lorawan.PHYPayload
	if err := phy.UnmarshalBinary(e.phy); err != nil {
		return outcome{result: resultDecodeError}
	}
	if phy.MHDR.Major != lorawan.LoRaWANR1 {
		return outcome{result: resultDecodeError}
	}
	switch phy.MHDR.MType {
	case lorawan.JoinRequest:
		return s.processJoin(e, &phy, b)
	case lorawan.UnconfirmedDataUp, lorawan.ConfirmedDataUp:
		return s.processData(e, &phy, b)
	default:
		return outcome{result: resultDecodeError}
	}
}
