package notify

import (
	"fmt"
	"time"
)

// Action target states. A local target starts queued; one homed at a peer
// starts pending in the sender's outbox until its home answers.
const (
	ActionPending         = "pending"          // in the outbox, the home not reached yet
	ActionQueued          = "queued"           // in the device's downlink queue
	ActionSent            = "sent"             // transmitted; a confirmed one waits for the ACK
	ActionAcknowledged    = "acknowledged"     // the device ACKed the confirmed downlink
	ActionNotAcknowledged = "not_acknowledged" // no ACK after the last retry
	ActionFailed          = "failed"           // refused or not transmitted; Reason says why
	ActionExpired         = "expired"          // not delivered before the action's expiry
	ActionDropped         = "dropped"          // the outbox was full
)

// ActionTarget is one device an alert's action goes to, and what became of
// it.
type ActionTarget struct {
	Device  string `json:"device"`
	Command string `json:"command"`
	// Peer names the device's home when it is homed at a peer.
	Peer string `json:"peer,omitempty"`
	// ID is the local downlink id, or the county-wide action id for a
	// target at a peer; outcomes are matched by it.
	ID     string    `json:"id,omitempty"`
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Final reports whether no later outcome is expected. Failed is not final:
// the network layer tries a confirmed downlink again after the device's
// next uplink.
func (t ActionTarget) Final() bool {
	switch t.State {
	case ActionAcknowledged, ActionNotAcknowledged, ActionExpired, ActionDropped:
		return true
	}
	return false
}

var actionTexts = map[string][2]string{
	ActionPending:         {"wartet auf die Verbindung zum Heimat-Gateway", "waiting for the link to the device's home"},
	ActionQueued:          {"in der Warteschlange des Geräts", "queued for the device"},
	ActionSent:            {"gesendet", "sent"},
	ActionAcknowledged:    {"ausgeführt (vom Gerät bestätigt)", "done (confirmed by the device)"},
	ActionNotAcknowledged: {"vom Gerät nicht bestätigt", "not confirmed by the device"},
	ActionFailed:          {"fehlgeschlagen", "failed"},
	ActionExpired:         {"verfallen, nicht zugestellt", "expired, not delivered"},
	ActionDropped:         {"verworfen (Warteschlange voll)", "dropped (queue full)"},
}

// Text describes the target in German ("de") or English.
func (t ActionTarget) Text(lang string) string {
	i := 1
	if lang == "de" {
		i = 0
	}
	state := t.State
	if tx, ok := actionTexts[t.State]; ok {
		state = tx[i]
	}
	s := fmt.Sprintf("%s → %s: %s", t.Command, t.Device, state)
	if t.Peer != "" {
		s += [2]string{" (über " + t.Peer + ")", " (via " + t.Peer + ")"}[i]
	}
	if t.Reason != "" {
		s += " – " + t.Reason
	}
	return s
}
