package network

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
)

// queueItem is one application downlink waiting for its device.
type queueItem struct {
	ID        string
	dev       lorawan.EUI64
	seq       uint64 // its place in the device's stored queue
	FPort     uint8
	Payload   []byte
	Confirmed bool
	sent      bool // confirmed and sent, waiting for the device's ACK
	attempts  int
	notBefore time.Time // Class C: refused by the duty cycle, next try
	expires   time.Time // zero: never
}

// pendingTx is an RX1 transmission waiting for its TX_ACK.
type pendingTx struct {
	kind    string
	rx2     *Downlink
	expires time.Time
	// offered holds both windows when the gateway got RX2 along with RX1
	// and both are charged to the duty cycle until it says which it used.
	offered *offer
	item    itemRef // the queued item carried, if any
}

// maxAppPayload is the largest FRMPayload any EU868 data rate carries
// (DR5-7 without FOpts); smaller data rates are not checked here.
const maxAppPayload = 242

// PayloadSizeError is a downlink payload too large to queue; it matches
// ErrPayloadSize with errors.Is. Where names the data rate Max is for; the
// text is worded for the operator, who gets it through the API or MQTT.
type PayloadSizeError struct {
	Size, Max int
	Where     string
}

func (e *PayloadSizeError) Error() string {
	return fmt.Sprintf("payload: %d bytes at most at %s, got %d", e.Max, e.Where, e.Size)
}

// Is makes errors.Is(err, ErrPayloadSize) hold.
func (e *PayloadSizeError) Is(target error) bool { return target == ErrPayloadSize }

// EnqueueDownlink queues an application payload for the device. Class A
// devices get it in RX1 after their next uplink; Class C devices at once in
// RX2 parameters through the gateway that heard them last. The returned id
// names the item in logs and outcomes; it stays unique across restarts.
// The item is stored when this returns and never expires.
func (s *Server) EnqueueDownlink(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool) (string, error) {
	return s.EnqueueDownlinkExpiring(devEUI, fport, payload, confirmed, 0)
}

// checkDownlink checks what EnqueueDownlink is given.
func (s *Server) checkDownlink(devEUI lorawan.EUI64, fport uint8, payload []byte) error {
	if _, ok := s.opts.Devices.Get(devEUI); !ok {
		return fmt.Errorf("enqueue downlink %s: %w", devEUI, ErrUnknownDevice)
	}
	if fport == 0 || fport > 223 {
		return fmt.Errorf("enqueue downlink %s: fport %d not in 1..223", devEUI, fport)
	}
	if len(payload) > maxAppPayload {
		return fmt.Errorf("enqueue downlink %s: %w", devEUI, &PayloadSizeError{Size: len(payload), Max: maxAppPayload, Where: "the fastest data rate"})
	}
	return nil
}

// kickClassC wakes the loop to send a Class C device's new item at once.
func (s *Server) kickClassC(devEUI lorawan.EUI64) {
	if dev, ok := s.opts.Devices.Get(devEUI); ok && dev.Class == device.ClassC {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// queueHead returns the queued item to send after an uplink and whether
// more wait behind it. A confirmed downlink stays at the head until the
// device acknowledges it (acked: the ACK bit of the uplink), for at most
// 1 + ConfirmedRetries transmissions; then it is dropped and counted as
// failed (result not_acknowledged). Expired items are dropped first (an
// ACK still counts). The changes go into b, to be committed with the
// session.
func (s *Server) queueHead(eui lorawan.EUI64, acked bool, b *batch) (item *queueItem, more bool) {
	q := s.queues[eui]
	if len(q) > 0 && q[0].sent && acked {
		s.reportOutcome(refOf(&q[0]), OutcomeAcknowledged, "")
		b.queueOp(q[0], false)
		q = q[1:]
		s.queues[eui] = q
	}
	s.dropExpired(eui, s.now(), b)
	q = s.queues[eui]
	if len(q) > 0 && q[0].sent && q[0].attempts >= s.opts.ConfirmedRetries {
		s.m.downlinks.WithLabelValues("data", resultNotAcknowledged).Inc()
		s.log.Warn("confirmed downlink not acknowledged, dropped", "dev_eui", eui.String(), "id", q[0].ID, "transmissions", q[0].attempts+1)
		s.reportOutcome(refOf(&q[0]), OutcomeNotAcknowledged, "")
		b.queueOp(q[0], false)
		q = q[1:]
		s.queues[eui] = q
	}
	if len(q) > 0 {
		head := q[0]
		if head.sent {
			head.attempts++
		}
		item = &head
	}
	return item, len(q) > 1
}

// resultNotAcknowledged (label "result" of loraedge_network_downlinks_total)
// is a confirmed downlink the device did not ACK after its last retry.
const resultNotAcknowledged = "not_acknowledged"

// afterItemSent pops an unconfirmed item or marks a confirmed one as waiting
// for the device's ACK.
func (s *Server) afterItemSent(eui lorawan.EUI64, it queueItem, b *batch) {
	q := s.queues[eui]
	if len(q) == 0 || q[0].ID != it.ID {
		return
	}
	s.reportOutcome(refOf(&it), OutcomeSent, "")
	if it.Confirmed {
		q[0].sent = true
		q[0].attempts = it.attempts
		b.queueOp(q[0], true)
		return
	}
	// Popped: put back if the batch's commit fails and nothing is sent.
	b.requeue = append(b.requeue, requeue{eui: eui, item: q[0]})
	b.queueOp(q[0], false)
	s.queues[eui] = q[1:]
}

// transmit sends the RX1 downlink; when the sender refuses it at once the
// RX2 fallback goes out, otherwise the fallback waits for HandleTxAck.
func (s *Server) transmit(ctx context.Context, p txPlan) {
	admitted, ok := s.admit(p)
	if !ok {
		s.m.downlinks.WithLabelValues(p.kind, resultDeferred).Inc()
		if p.item != nil {
			s.deferItem(*p.item)
		}
		return
	}
	p = admitted
	s.nextID++
	p.rx1.ID = s.nextID
	offered := s.offerRX2(&p)
	if err := s.send(ctx, p.rx1); err != nil {
		s.m.downlinks.WithLabelValues(p.kind, "failed").Inc()
		s.log.Warn("downlink rejected", "gateway_id", p.rx1.GatewayID.String(), "err", err)
		if offered != nil {
			s.release(offered.rx2, offered.at) // reserved again by the fallback
		}
		if p.rx2 != nil {
			s.sendFallback(ctx, p.kind, *p.rx2, refOf(p.item))
		} else {
			s.reportOutcome(refOf(p.item), OutcomeFailed, err.Error())
		}
		return
	}
	s.m.downlinks.WithLabelValues(p.kind, "sent").Inc()
	pt := pendingTx{kind: p.kind, rx2: p.rx2, expires: s.now().Add(30 * time.Second), offered: offered, item: refOf(p.item)}
	if offered != nil {
		pt.rx2 = nil // the gateway falls back by itself
	}
	s.pending[p.rx1.ID] = pt
}

func (s *Server) sendFallback(ctx context.Context, kind string, d Downlink, ref itemRef) {
	if !s.reserve(d) {
		s.m.downlinks.WithLabelValues(kind, resultDeferred).Inc()
		return
	}
	s.nextID++
	d.ID = s.nextID
	if err := s.send(ctx, d); err != nil {
		s.m.downlinks.WithLabelValues(kind, "failed").Inc()
		s.log.Warn("rx2 downlink rejected", "gateway_id", d.GatewayID.String(), "err", err)
		s.reportOutcome(ref, OutcomeFailed, err.Error())
		return
	}
	s.m.downlinks.WithLabelValues(kind, resultRX2Fallback).Inc()
	s.pending[d.ID] = pendingTx{kind: kind, expires: s.now().Add(30 * time.Second), item: ref}
}

var errNoSender = errors.New("no downlink sender configured")

func (s *Server) send(ctx context.Context, d Downlink) error {
	if s.opts.Sender == nil {
		return errNoSender
	}
	return s.opts.Sender.SendDownlink(ctx, d)
}

func (s *Server) handleTxAck(ctx context.Context, a txAck) {
	p, ok := s.pending[a.id]
	if !ok {
		return
	}
	delete(s.pending, a.id)
	if a.err == nil {
		s.settleWindows(p, a.window)
		return
	}
	if p.offered != nil {
		s.release(p.offered.rx2, p.offered.at) // neither window was sent; RX1 stays charged, as for GWMP
	}
	s.m.downlinks.WithLabelValues(p.kind, "failed").Inc()
	s.log.Warn("gateway rejected downlink", "id", a.id, "err", a.err)
	if p.rx2 != nil {
		s.sendFallback(ctx, p.kind, *p.rx2, p.item)
	} else {
		s.reportOutcome(p.item, OutcomeFailed, a.err.Error())
	}
}

func (s *Server) expirePending(now time.Time) {
	for id, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, id)
		}
	}
}
