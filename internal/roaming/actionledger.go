package roaming

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/brocaar/lorawan"
	bolt "go.etcd.io/bbolt"
)

// ledgerBucket holds, at a device's home, the actions peers sent: keyed
// by sender NSID and ActionID.
var ledgerBucket = []byte("home")

// ledgerKeep is how long a finished action is remembered for resends.
const ledgerKeep = 7 * 24 * time.Hour

// ledgerEntry is one action a peer sent here, and its outcome.
type ledgerEntry struct {
	Req        ActionReq `json:"req"`
	DownlinkID string    `json:"downlink_id,omitempty"`
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"`
	Confirmed  bool      `json:"confirmed,omitempty"`
	At         time.Time `json:"at"`
	// Lost: set by versions whose downlink queue did not survive a
	// restart; the next resend queues it again. The queue is durable now:
	// an entry waiting at a restart waits for its outcome.
	Lost bool `json:"lost,omitempty"`
}

func (e ledgerEntry) final() bool {
	switch e.State {
	case ActionAcknowledged, ActionNotAcknowledged, ActionRefused, ActionExpired:
		return true
	case ActionFailed:
		// A confirmed downlink stays queued after a refused transmission.
		return e.DownlinkID == "" || !e.Confirmed
	case ActionSent:
		return !e.Confirmed
	}
	return false
}

func (e ledgerEntry) answer() ActionAns {
	return ActionAns{Result: e.State, DownlinkID: e.DownlinkID, Description: e.Reason, Confirmed: e.Confirmed, Final: e.final()}
}

// downlinkOutcome is the network layer's word on a queued downlink.
type downlinkOutcome struct {
	id, state, reason string
	at                time.Time
}

// loadLedger forgets old entries and follows those still waiting for
// their downlink's outcome: the network layer's queue survives a restart,
// so its outcome comes after it.
func (a *Actions) loadLedger(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(ledgerBucket)
	if err != nil {
		return err
	}
	now := a.opts.Now()
	var drop [][]byte
	err = b.ForEach(func(k, v []byte) error {
		var e ledgerEntry
		if json.Unmarshal(v, &e) != nil || now.Sub(e.At) > ledgerKeep {
			drop = append(drop, k)
			return nil
		}
		if !e.final() && !e.Lost && e.DownlinkID != "" {
			a.byDownlink[e.DownlinkID] = string(k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Serve takes a peer's action at the device's home: a new ActionID is
// queued through Options.Queue and recorded; a resend is answered with
// the recorded outcome, and queued again only when an older version's
// restart lost it.
// The link has authenticated the sender.
func (a *Actions) Serve(ctx context.Context, from *Peer, req ActionReq) ActionAns {
	if req.ActionID == "" || a.opts.Queue == nil {
		if a.opts.Queue == nil {
			return ActionAns{Result: ActionRefused, Description: "this instance takes no actions"}
		}
		return a.opts.Queue(ctx, from, req)
	}
	key := []byte(from.NSID.String() + "/" + req.ActionID)
	a.mu.Lock()
	defer a.mu.Unlock()
	var e ledgerEntry
	found := false
	_ = a.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(ledgerBucket).Get(key); v != nil {
			found = json.Unmarshal(v, &e) == nil
		}
		return nil
	})
	kind := "new"
	switch {
	case found && !e.Lost:
		a.m.ledger.WithLabelValues(from.Name, "repeat").Inc()
		return e.answer()
	case found:
		kind = "requeued"
	}
	ans := a.opts.Queue(ctx, from, req)
	a.m.ledger.WithLabelValues(from.Name, kind).Inc()
	if ans.Result == ActionRefused {
		return ans // not recorded: a resend is judged afresh
	}
	e = ledgerEntry{Req: req, DownlinkID: ans.DownlinkID, State: ans.Result, Reason: ans.Description, Confirmed: ans.Confirmed, At: a.opts.Now()}
	if err := a.putLedger(key, e); err != nil {
		a.log.Error("record peer action", "peer", from.Name, "action_id", req.ActionID, "err", err)
	}
	if e.DownlinkID != "" && !e.final() {
		a.byDownlink[e.DownlinkID] = string(key)
	}
	return e.answer()
}

func (a *Actions) putLedger(key []byte, e ledgerEntry) error {
	v, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return a.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(ledgerBucket).Put(key, v) })
}

// DownlinkOutcome hands the network layer's outcome of a queued downlink
// to the ledger; it never blocks (it is called on the network loop) and
// counts what it cannot take.
func (a *Actions) DownlinkOutcome(id string, _ lorawan.EUI64, state, reason string, at time.Time) {
	select {
	case a.outcomes <- downlinkOutcome{id: id, state: state, reason: reason, at: at}:
	default:
		a.m.lost.Inc()
	}
}

// applyOutcome records a downlink's outcome on the peer action that
// queued it, for the sender's next resend to learn.
func (a *Actions) applyOutcome(o downlinkOutcome) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key, ok := a.byDownlink[o.id]
	if !ok {
		return
	}
	var e ledgerEntry
	err := a.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(ledgerBucket).Get([]byte(key))
		if v == nil {
			return fmt.Errorf("%s not in the ledger", key)
		}
		return json.Unmarshal(v, &e)
	})
	if err != nil || e.final() || e.DownlinkID != o.id {
		return
	}
	e.State, e.Reason, e.At = o.state, o.reason, o.at
	if e.final() {
		delete(a.byDownlink, o.id)
	}
	if err := a.putLedger([]byte(key), e); err != nil {
		a.log.Error("record peer action outcome", "action", key, "err", err)
	}
}
