package network

import (
	"context"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/uplink"
)

// An ACK only for what is stored: the downlink answering a confirmed
// uplink (ACK bit set) waits until the handler reports the uplink's
// measurements durable. If that is too late for RX1 it goes in RX2; too
// late for both, it is not sent, the device retransmits the same FCnt, and
// the retransmission (never handed on again) is acknowledged once the first
// copy is durable. Unconfirmed uplinks and MAC-only answers do not wait:
// they promise nothing about stored data, and the session and MAC state
// they rest on are committed to bbolt before anything is sent.

// ackMargin is how long before the RX window a held downlink must leave:
// the packet forwarder's JIT queue refuses a frame less than about 40 ms
// ahead, and the window is reckoned from the server's arrival time of the
// first copy, which trails the gateway's tmst by the backhaul latency.
const ackMargin = 150 * time.Millisecond

// heldAckExpiry drops the record of a durability that never came (its
// report lost to a full queue); its downlinks are counted as too late.
const heldAckExpiry = 30 * time.Second

// Downlink results for a held ACK (label "result" of
// loraedge_network_downlinks_total).
const (
	// resultAckLate: the uplink became durable after the last window.
	resultAckLate = "ack_late"
	// resultNotStored: the uplink was not stored, so it is not acknowledged.
	resultNotStored = "not_stored"
)

// ackState is what the loop knows about the durability of a device's
// latest confirmed uplink.
type ackState uint8

const (
	ackPending ackState = iota + 1
	ackDurable
	ackFailed
)

// ackMark is the durability of the confirmed uplink fcnt of one device;
// token names its report while it is pending.
type ackMark struct {
	fcnt  uint32
	token uint64
	state ackState
}

// heldAcks are the downlinks waiting for one uplink's durability.
type heldAcks struct {
	eui     lorawan.EUI64
	plans   []txPlan
	expires time.Time
}

// durableEvent is a handler's report on the uplink held under token.
type durableEvent struct {
	token uint64
	err   error
}

// holdAck marks p as acknowledging the confirmed uplink fcnt received first
// at first: it must not leave before that uplink is durable, and not after
// the device's RX1 window (RX2 one second later) minus ackMargin.
func (p *txPlan) holdAck(fcnt uint32, first time.Time, rxDelay uint8) {
	p.ack, p.ackFCnt = true, fcnt
	p.rx1By = first.Add(time.Duration(max(rxDelay, 1))*time.Second - ackMargin)
}

// handOn hands o's uplink to the handler and records for a confirmed one
// when its ACK may go: at once when there is nothing to store (no payload,
// no handler, or a handler that cannot report durability), when the
// handler reports it durable, or never when the handler refused it.
func (s *Server) handOn(ctx context.Context, o outcome) {
	if o.up == nil && !o.confirmed {
		return
	}
	mark := ackMark{fcnt: o.fcnt, state: ackDurable}
	var err error
	dh, durable := s.opts.Handler.(uplink.DurableHandler)
	track := o.up != nil && s.tracksDurability()
	switch {
	case o.up == nil || s.opts.Handler == nil:
	case durable && (o.confirmed || track):
		s.ackSeq++
		mark.token = s.ackSeq
		if o.confirmed {
			mark.state = ackPending
			s.held[mark.token] = &heldAcks{eui: o.devEUI, expires: s.now().Add(heldAckExpiry)}
		}
		if track {
			s.await(mark.token, o)
		}
		err = dh.HandleUplinkDurable(ctx, *o.up, s.durableFunc(mark.token))
	default:
		err = s.opts.Handler.HandleUplink(ctx, *o.up)
	}
	if track && err != nil {
		s.settle(mark.token, err)
	}
	if err != nil {
		s.m.handlerErrors.Inc()
		s.log.Warn("uplink handler failed", "dev_eui", o.up.DevEUI.String(), "f_cnt", o.up.FCnt, "err", err)
		delete(s.held, mark.token)
		mark.state = ackFailed
	}
	if o.confirmed {
		s.marks[o.devEUI] = mark
	}
}

// durableFunc is the callback handed on with a confirmed uplink. It runs on
// the handler's goroutine (the store's commit), so it only queues the
// report for the loop; a full queue loses it, and the ACK with it.
func (s *Server) durableFunc(token uint64) func(error) {
	return func(err error) {
		select {
		case s.durable <- durableEvent{token: token, err: err}:
		default:
			s.m.durableDropped.Inc()
		}
	}
}

// ackable tells whether a retransmission of the confirmed uplink fcnt may
// still be acknowledged: only when its first copy was handed on in this
// process and not refused. After a restart nothing is known of it, so no
// ACK goes out; the device gives up rather than being told a lost uplink
// was stored.
func (s *Server) ackable(eui lorawan.EUI64, fcnt uint32) bool {
	m, ok := s.marks[eui]
	return ok && m.fcnt == fcnt && m.state != ackFailed
}

// sendAck transmits an acknowledging downlink when its uplink is durable,
// holds it while that is pending and drops it otherwise.
func (s *Server) sendAck(ctx context.Context, eui lorawan.EUI64, p txPlan) {
	m, ok := s.marks[eui]
	if !ok || m.fcnt != p.ackFCnt || m.state == ackFailed {
		s.dropAck(p, resultNotStored)
		return
	}
	if m.state == ackPending {
		if h := s.held[m.token]; h != nil {
			h.plans = append(h.plans, p)
			return
		}
		s.dropAck(p, resultNotStored) // never happens: pending is always held
		return
	}
	s.sendInTime(ctx, p)
}

// handleDurable releases or drops the downlinks held for a reported uplink.
func (s *Server) handleDurable(ctx context.Context, ev durableEvent) {
	s.settle(ev.token, ev.err)
	h, ok := s.held[ev.token]
	if !ok {
		return // expired, or the handler refused it when handed on
	}
	delete(s.held, ev.token)
	state := ackDurable
	if ev.err != nil {
		state = ackFailed
	}
	if m := s.marks[h.eui]; m.token == ev.token {
		m.state = state
		s.marks[h.eui] = m
	}
	for _, p := range h.plans {
		if state == ackFailed {
			s.dropAck(p, resultNotStored)
			continue
		}
		s.sendInTime(ctx, p)
	}
}

// sendInTime transmits p in RX1 if there is still time, else in RX2, else
// not at all.
func (s *Server) sendInTime(ctx context.Context, p txPlan) {
	now := s.now()
	switch {
	case !now.After(p.rx1By):
		s.transmit(ctx, p)
	case p.rx2 != nil && !now.After(p.rx1By.Add(time.Second)):
		p.rx1, p.rx2 = *p.rx2, nil
		s.transmit(ctx, p)
	default:
		s.dropAck(p, resultAckLate)
	}
}

// dropAck counts an acknowledging downlink that is not sent; a queued
// payload it carried waits for the next uplink.
func (s *Server) dropAck(p txPlan, result string) {
	s.m.downlinks.WithLabelValues(p.kind, result).Inc()
	s.log.Debug("confirmed uplink not acknowledged", "gateway_id", p.rx1.GatewayID.String(), "result", result)
	if p.item != nil {
		s.deferItem(*p.item)
	}
}

// expireHeld forgets durabilities never reported; their uplinks count as
// not stored.
func (s *Server) expireHeld(now time.Time) {
	for tok, h := range s.held {
		if !now.After(h.expires) {
			continue
		}
		delete(s.held, tok)
		if m := s.marks[h.eui]; m.token == tok {
			m.state = ackFailed
			s.marks[h.eui] = m
		}
		for _, p := range h.plans {
			s.dropAck(p, resultAckLate)
		}
	}
}
