package network

import (
	"time"

	"github.com/brocaar/lorawan"
)

// Outcomes of a queued application downlink, as DownlinkOutcome.State.
const (
	// OutcomeSent: transmitted; final for an unconfirmed downlink, a
	// confirmed one waits for the device's ACK.
	OutcomeSent = "sent"
	// OutcomeAcknowledged: the device ACKed the confirmed downlink.
	OutcomeAcknowledged = "acknowledged"
	// OutcomeNotAcknowledged: no ACK after the last retry; dropped.
	OutcomeNotAcknowledged = "not_acknowledged"
	// OutcomeFailed: the gateway refused the transmission (TX_ACK error)
	// and no fallback window was left; a confirmed downlink stays queued
	// and is tried again after the device's next uplink.
	OutcomeFailed = "failed"
	// OutcomeExpired: its expiry passed before it was sent, or before a
	// confirmed one was acknowledged; dropped, never sent (again).
	OutcomeExpired = "expired"
)

// DownlinkOutcome is what became of one queued application downlink, named
// by the id EnqueueDownlink returned.
type DownlinkOutcome struct {
	ID     string
	DevEUI lorawan.EUI64
	State  string
	Reason string // why it failed, empty otherwise
	At     time.Time
}

// DownlinkOutcomes receives the outcomes of queued downlinks. It is called
// on the network loop and must not block.
type DownlinkOutcomes interface {
	DownlinkOutcome(o DownlinkOutcome)
}

// itemRef names the queued item a transmission carries, so its TX_ACK can
// be reported against it.
type itemRef struct {
	id  string
	dev lorawan.EUI64
}

func refOf(it *queueItem) itemRef {
	if it == nil {
		return itemRef{}
	}
	return itemRef{id: it.ID, dev: it.dev}
}

// reportOutcome hands an item's outcome to Options.Outcomes.
func (s *Server) reportOutcome(ref itemRef, state, reason string) {
	if s.opts.Outcomes == nil || ref.id == "" {
		return
	}
	s.opts.Outcomes.DownlinkOutcome(DownlinkOutcome{ID: ref.id, DevEUI: ref.dev, State: state, Reason: reason, At: s.now()})
}
