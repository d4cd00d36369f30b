package roaming

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
)

// ActionsOptions configure the durable record of alert actions across the
// county network. Link is required.
type ActionsOptions struct {
	Link *Link
	// Path is the bbolt file (DataDir/actions.db).
	Path string
	// Limit bounds each peer's outbox; more actions are refused, counted
	// and shown on the alert as dropped. Default 1000.
	Limit int
	// Queue queues an action a peer sent on a device homed here (the
	// daemon builds the downlink through the device's profile).
	Queue ActionHandler
	// OnUpdate learns each change of an outbox action's outcome; it must
	// not block.
	OnUpdate func(ActionUpdate)
	// RetryMin and RetryMax bound the backoff while a home does not answer
	// (1s, 1m); Poll is how often an action the home has queued is asked
	// about again until its outcome is final (5s).
	RetryMin, RetryMax, Poll time.Duration
	Logger                   *slog.Logger
	Registerer               prometheus.Registerer
	Now                      func() time.Time
}

// ActionUpdate is a change of an outbox action's outcome: the home's
// answer (queued, sent, acknowledged, not_acknowledged, failed), pending
// with the reason while the home is unreachable, or expired.
type ActionUpdate struct {
	ID     string
	Peer   string
	State  string
	Reason string
	At     time.Time
}

// Outbox-only states of an action (the rest are the home's answers).
const (
	ActionPending = "pending" // not yet answered by the home
	ActionExpired = "expired" // not delivered before its expiry
)

// answerGrace is how long after its expiry an action the home has already
// queued is still asked about: the device takes it at its next uplink.
const answerGrace = 24 * time.Hour

// ErrOutboxFull is returned by Submit at the outbox's bound.
var ErrOutboxFull = errors.New("roaming: action outbox full")

// Actions is this instance's durable record of alert actions in the county
// network: per peer an outbox of actions on devices homed there, worked by
// one goroutine per peer that resends with backoff while the home is
// unreachable and asks again until the outcome is final; and the ledger
// of actions peers sent here, so that a resend is queued once.
type Actions struct {
	opts ActionsOptions
	db   *bolt.DB
	log  *slog.Logger
	m    actionsMetrics
	kick map[lorawan.EUI64]chan struct{}
	// outcomes carries the network layer's downlink outcomes to Run.
	outcomes chan downlinkOutcome

	mu         sync.Mutex
	depth      map[lorawan.EUI64]int
	byDownlink map[string]string // ledger: downlink id -> ledger key
}

// outboxEntry is one action in a peer's outbox.
type outboxEntry struct {
	Req      ActionReq `json:"req"`
	Expires  time.Time `json:"expires"`
	Attempts int       `json:"attempts"`
	NextTry  time.Time `json:"next_try"`
	State    string    `json:"state"`
	Reason   string    `json:"reason,omitempty"`
	// Queued: the home has taken it; from then on expiry does not end
	// the asking (see answerGrace).
	Queued bool `json:"queued,omitempty"`
}

// OpenActions opens the record.
func OpenActions(opts ActionsOptions) (*Actions, error) {
	if opts.Link == nil {
		return nil, errors.New("roaming actions: no link")
	}
	if opts.Limit <= 0 {
		opts.Limit = 1000
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(10*time.Second, opts.RetryMin)
	}
	if opts.Poll <= 0 {
		opts.Poll = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db, err := bolt.Open(opts.Path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("roaming actions: %w", err)
	}
	a := &Actions{opts: opts, db: db, log: opts.Logger.With("component", "peer_actions"), m: newActionsMetrics(opts.Registerer),
		kick: map[lorawan.EUI64]chan struct{}{}, outcomes: make(chan downlinkOutcome, 256),
		depth: map[lorawan.EUI64]int{}, byDownlink: map[string]string{}}
	for _, p := range opts.Link.opts.Table.Peers {
		if p.NSID != opts.Link.self.NSID {
			a.kick[p.NSID] = make(chan struct{}, 1)
		}
	}
	if err := a.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return a, nil
}

// Close closes the bbolt file; call it after Run has returned.
func (a *Actions) Close() error { return a.db.Close() }

func outboxBucket(peer lorawan.EUI64) []byte { return []byte("out/" + peer.String()) }

// load counts the outboxes and prepares the ledger after a restart.
func (a *Actions) load() error {
	err := a.db.Update(func(tx *bolt.Tx) error {
		for nsid := range a.kick {
			if b := tx.Bucket(outboxBucket(nsid)); b != nil {
				a.depth[nsid] = b.Stats().KeyN
			}
		}
		return a.loadLedger(tx)
	})
	if err != nil {
		return fmt.Errorf("roaming actions: load: %w", err)
	}
	for nsid, n := range a.depth {
		if p, ok := a.opts.Link.opts.Table.Peer(nsid); ok {
			a.m.outbox.WithLabelValues(p.Name).Set(float64(n))
		}
	}
	return nil
}

// Submit puts an action on a device homed at a peer into that peer's
// outbox; it never waits for the peer. A resubmitted ActionID is kept
// once.
func (a *Actions) Submit(req ActionReq, expires time.Time) error {
	peer, ok := a.opts.Link.ForeignDevice(req.DevEUI)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotForeign, req.DevEUI)
	}
	if req.ActionID == "" {
		return errors.New("roaming actions: an action needs its ActionID")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.depth[peer.NSID] >= a.opts.Limit {
		a.m.dropped.WithLabelValues(peer.Name).Inc()
		return fmt.Errorf("%w: %d actions for %s", ErrOutboxFull, a.opts.Limit, peer.Name)
	}
	e := outboxEntry{Req: req, Expires: expires, State: ActionPending, NextTry: a.opts.Now()}
	added := false
	err := a.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(outboxBucket(peer.NSID))
		if err != nil {
			return err
		}
		if b.Get([]byte(req.ActionID)) != nil {
			return nil
		}
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		added = true
		return b.Put([]byte(req.ActionID), v)
	})
	if err != nil {
		return fmt.Errorf("roaming actions: save: %w", err)
	}
	if added {
		a.depth[peer.NSID]++
		a.m.outbox.WithLabelValues(peer.Name).Set(float64(a.depth[peer.NSID]))
	}
	select {
	case a.kick[peer.NSID] <- struct{}{}:
	default:
	}
	return nil
}

// Run works every peer's outbox and applies the network layer's outcomes
// to the ledger until ctx is done.
func (a *Actions) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for nsid := range a.kick {
		peer, _ := a.opts.Link.opts.Table.Peer(nsid)
		wg.Go(func() { a.work(ctx, peer) })
	}
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case o := <-a.outcomes:
				a.applyOutcome(o)
			}
		}
	})
	wg.Wait()
	return nil
}

// work sends one peer's outbox whenever an action is due.
func (a *Actions) work(ctx context.Context, peer *Peer) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.kick[peer.NSID]:
		case <-t.C:
		}
		next := a.pass(ctx, peer)
		t.Stop()
		t.Reset(next)
	}
}

// pass handles the due actions of one outbox and returns when to look
// again.
func (a *Actions) pass(ctx context.Context, peer *Peer) time.Duration {
	var due []outboxEntry
	next := a.opts.RetryMax
	now := a.opts.Now()
	_ = a.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(outboxBucket(peer.NSID))
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var e outboxEntry
			if json.Unmarshal(v, &e) != nil {
				return nil
			}
			if wait := e.NextTry.Sub(now); wait > 0 {
				next = min(next, wait)
				return nil
			}
			due = append(due, e)
			return nil
		})
	})
	for _, e := range due {
		if ctx.Err() != nil {
			break
		}
		if w := a.try(ctx, peer, e); w > 0 {
			next = min(next, w)
		}
	}
	return max(next, 10*time.Millisecond)
}

// try sends one action (or asks about it again) and records the answer;
// it returns when to try next, 0 when the action left the outbox.
func (a *Actions) try(ctx context.Context, peer *Peer, e outboxEntry) time.Duration {
	now := a.opts.Now()
	if (!e.Queued && now.After(e.Expires)) || now.After(e.Expires.Add(answerGrace)) {
		reason := "not delivered to " + peer.Name + " before its expiry"
		if e.Queued {
			reason = "no outcome from " + peer.Name
		}
		if e.Reason != "" {
			reason += " (" + e.Reason + ")"
		}
		a.finish(peer, e, ActionExpired, reason)
		return 0
	}
	req := e.Req
	// Rounded up: an action sent in its last second still expires.
	req.ExpirySeconds = int((e.Expires.Sub(now) + time.Second - 1) / time.Second)
	ans, err := a.opts.Link.sendActionTo(ctx, peer, req)
	if err != nil && ctx.Err() != nil {
		return 0 // shutting down: not the peer's fault, nothing to record
	}
	if err != nil {
		e.Attempts++
		wait := min(a.opts.RetryMin<<min(e.Attempts-1, 16), a.opts.RetryMax)
		e.NextTry = now.Add(wait)
		reason := peer.Name + " unreachable"
		if e.Reason != reason || e.Attempts == 1 {
			a.log.Warn("action not delivered, retrying", "peer", peer.Name, "action_id", e.Req.ActionID, "attempts", e.Attempts, "err", err)
			a.update(peer, e.Req.ActionID, e.State, reason)
		}
		e.Reason = reason
		a.save(peer, e)
		return wait
	}
	if ans.Final || ans.Result == ActionRefused {
		a.finish(peer, e, ans.Result, ans.Description)
		return 0
	}
	// Queued at the home (or sent, or a transmission the gateway refused,
	// tried again after the device's next uplink): ask again later.
	e.Queued, e.Attempts, e.NextTry = true, 0, now.Add(a.opts.Poll)
	if e.State != ans.Result || e.Reason != ans.Description {
		e.State, e.Reason = ans.Result, ans.Description
		a.update(peer, e.Req.ActionID, e.State, e.Reason)
	}
	a.save(peer, e)
	return a.opts.Poll
}

func (a *Actions) update(peer *Peer, id, state, reason string) {
	a.m.outcomes.WithLabelValues(peer.Name, state).Inc()
	if a.opts.OnUpdate != nil {
		a.opts.OnUpdate(ActionUpdate{ID: id, Peer: peer.Name, State: state, Reason: reason, At: a.opts.Now()})
	}
}

// finish reports the final outcome and removes the action.
func (a *Actions) finish(peer *Peer, e outboxEntry, state, reason string) {
	a.log.Info("action done", "peer", peer.Name, "action_id", e.Req.ActionID, "dev_eui", e.Req.DevEUI.String(),
		"command", e.Req.Command, "state", state, "reason", reason)
	a.mu.Lock()
	err := a.db.Update(func(tx *bolt.Tx) error {
		if b := tx.Bucket(outboxBucket(peer.NSID)); b != nil && b.Get([]byte(e.Req.ActionID)) != nil {
			a.depth[peer.NSID]--
			return b.Delete([]byte(e.Req.ActionID))
		}
		return nil
	})
	a.m.outbox.WithLabelValues(peer.Name).Set(float64(a.depth[peer.NSID]))
	a.mu.Unlock()
	if err != nil {
		a.log.Error("remove action from the outbox", "peer", peer.Name, "action_id", e.Req.ActionID, "err", err)
	}
	a.update(peer, e.Req.ActionID, state, reason)
}

func (a *Actions) save(peer *Peer, e outboxEntry) {
	v, err := json.Marshal(e)
	if err == nil {
		err = a.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(outboxBucket(peer.NSID))
			if b == nil || b.Get([]byte(e.Req.ActionID)) == nil {
				return nil // finished meanwhile
			}
			return b.Put([]byte(e.Req.ActionID), v)
		})
	}
	if err != nil {
		a.log.Error("save outbox action", "peer", peer.Name, "action_id", e.Req.ActionID, "err", err)
	}
}

type actionsMetrics struct {
	outbox   *prometheus.GaugeVec
	dropped  *prometheus.CounterVec
	outcomes *prometheus.CounterVec
	ledger   *prometheus.CounterVec
	lost     prometheus.Counter
}

func newActionsMetrics(reg prometheus.Registerer) actionsMetrics {
	m := actionsMetrics{
		outbox: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "loraedge_roaming_action_outbox",
			Help: "Alert actions waiting in the outbox for a peer: undelivered, or waiting for their outcome."}, []string{"peer"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loraedge_roaming_action_outbox_dropped_total",
			Help: "Alert actions not taken because the peer's outbox was full."}, []string{"peer"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loraedge_roaming_action_outcomes_total",
			Help: "Outcome changes of outbox actions, by peer and state (pending, queued, sent, acknowledged, not_acknowledged, failed, refused, expired)."},
			[]string{"peer", "state"}),
		ledger: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loraedge_roaming_action_requests_total",
			Help: "Action requests from peers at the device's home: new (queued), repeat (answered from the ledger), requeued (a resend of an action an older version lost at its restart)."},
			[]string{"peer", "kind"}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "loraedge_roaming_action_outcomes_dropped_total",
			Help: "Downlink outcomes for the action ledger dropped because its queue was full."}),
	}
	if reg != nil {
		reg.MustRegister(m.outbox, m.dropped, m.outcomes, m.ledger, m.lost)
	}
	return m
}
