package roaming

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// actionNode is one instance's link and action record.
type actionNode struct {
	link    *Link
	actions *Actions
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	queued  []ActionReq    // what the home queued
	updates []ActionUpdate // what the sender learned
}

func (n *actionNode) seen() ([]ActionReq, []ActionUpdate) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]ActionReq(nil), n.queued...), append([]ActionUpdate(nil), n.updates...)
}

func (n *actionNode) last() ActionUpdate {
	_, us := n.seen()
	if len(us) == 0 {
		return ActionUpdate{}
	}
	return us[len(us)-1]
}

// stop stops serving and working and closes the record, as a shutdown
// does.
func (n *actionNode) stop(t *testing.T) {
	n.cancel()
	<-n.done
	require.NoError(t, n.actions.Close())
}

type actionCounty struct {
	table string
	ca    *pki
	dir   string
	addr  map[lorawan.EUI64]string
}

// start runs the instance nsid: its link on its address and its action
// record in its directory, with fast retries.
func (c *actionCounty) start(t *testing.T, nsid lorawan.EUI64, token string) *actionNode {
	t.Helper()
	ln, err := net.Listen("tcp", c.addr[nsid])
	require.NoError(t, err)
	tab, err := LoadTable(c.table, nsid)
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.Enabled, cfg.NSID, cfg.Token, cfg.RequestTimeout = true, nsid, token, 500*time.Millisecond
	cert := issue(t, c.ca, nsid)
	n := &actionNode{done: make(chan struct{})}
	reg := prometheus.NewRegistry()
	n.link, err = NewLink(LinkOptions{Config: cfg, Table: tab, Certificate: &cert, Registerer: reg,
		Action: func(ctx context.Context, from *Peer, req ActionReq) ActionAns { return n.actions.Serve(ctx, from, req) }})
	require.NoError(t, err)
	n.actions, err = OpenActions(ActionsOptions{Link: n.link, Path: filepath.Join(c.dir, nsid.String()+".db"), Limit: 2,
		RetryMin: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond, Poll: 20 * time.Millisecond, Registerer: reg,
		Queue: func(_ context.Context, _ *Peer, req ActionReq) ActionAns {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.queued = append(n.queued, req)
			return ActionAns{Result: ActionQueued, DownlinkID: fmt.Sprintf("%s-%d", req.DevEUI, len(n.queued)), Confirmed: req.Confirmed}
		},
		OnUpdate: func(u ActionUpdate) {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.updates = append(n.updates, u)
		}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() {
		defer close(n.done)
		var wg sync.WaitGroup
		wg.Go(func() { _ = n.link.Serve(ctx, ln) })
		wg.Go(func() { _ = n.actions.Run(ctx) })
		wg.Wait()
	}()
	return n
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// An action for a home that is down waits in the sender's outbox, retried
// with backoff, and survives the sender's restart; once the home is up it
// is queued there once, however often it is resent, and its outcome
// (sent, then acknowledged by the device) comes back to the sender, which
// then empties its outbox. A restart of the home while the action waits
// for the device queues nothing again: the home's downlink queue survives
// it, and the outcome reported after the restart reaches the sender. The
// home learns how long the action may still be tried.
func TestActionOutboxDeliversOnceAndReportsOutcome(t *testing.T) {
	valve, meter := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x0b, 1}, lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x0a, 1}
	c := &actionCounty{dir: t.TempDir(), addr: map[lorawan.EUI64]string{nsidA: freeAddr(t), nsidB: freeAddr(t)}}
	c.table, c.ca = actionTable(t, c.addr[nsidA], c.addr[nsidB], meter, valve)
	a := c.start(t, nsidA, "token-a")
	req := ActionReq{ActionID: "act-1", AlertID: "leak/x", DevEUI: valve, Command: "close", Confirmed: true}
	require.NoError(t, a.actions.Submit(req, time.Now().Add(time.Hour)))
	require.NoError(t, a.actions.Submit(req, time.Now().Add(time.Hour)), "a resubmission is kept once")
	require.Eventually(t, func() bool { return a.last().Reason == "b unreachable" }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, ActionPending, a.last().State)
	assert.Equal(t, 1.0, testutil.ToFloat64(a.actions.m.outbox.WithLabelValues("b")))

	// Bounded: two fit, the third is refused and counted.
	require.NoError(t, a.actions.Submit(ActionReq{ActionID: "act-2", DevEUI: valve, Command: "open"}, time.Now().Add(-time.Second)))
	require.ErrorIs(t, a.actions.Submit(ActionReq{ActionID: "act-3", DevEUI: valve, Command: "open"}, time.Now().Add(time.Hour)), ErrOutboxFull)
	assert.Equal(t, 1.0, testutil.ToFloat64(a.actions.m.dropped.WithLabelValues("b")))
	// act-2 expired before b answered.
	require.Eventually(t, func() bool {
		_, us := a.seen()
		for _, u := range us {
			if u.ID == "act-2" && u.State == ActionExpired {
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)
	require.ErrorIs(t, a.actions.Submit(ActionReq{ActionID: "x", DevEUI: meter, Command: "close"}, time.Now()), ErrNotForeign)

	a.stop(t)
	a = c.start(t, nsidA, "token-a")
	assert.Equal(t, 1.0, testutil.ToFloat64(a.actions.m.outbox.WithLabelValues("b")), "the outbox survives a restart")

	b := c.start(t, nsidB, "token-b")
	require.Eventually(t, func() bool { return a.last().State == ActionQueued }, 5*time.Second, 5*time.Millisecond)
	b.actions.DownlinkOutcome(valve.String()+"-1", valve, ActionSent, "", time.Now())
	require.Eventually(t, func() bool { return a.last().State == ActionSent }, 5*time.Second, 5*time.Millisecond)

	q, _ := b.seen()
	require.Len(t, q, 1, "queued once, however often resent")
	assert.Equal(t, "act-1", q[0].ActionID)
	assert.Equal(t, nsidA.String(), q[0].SenderNSID)
	assert.InDelta(t, 3600, q[0].ExpirySeconds, 60, "the time left of the action's hour")
	b.stop(t)
	b = c.start(t, nsidB, "token-b")
	require.Eventually(t, func() bool { return testutil.ToFloat64(b.actions.m.ledger.WithLabelValues("a", "repeat")) > 0 }, 5*time.Second, 5*time.Millisecond,
		"the restarted home answers the resend from its ledger")
	b.actions.DownlinkOutcome(valve.String()+"-1", valve, ActionAcknowledged, "", time.Now())
	require.Eventually(t, func() bool { return a.last().State == ActionAcknowledged }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return testutil.ToFloat64(a.actions.m.outbox.WithLabelValues("b")) == 0 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // five poll intervals: nothing is sent again
	q, _ = b.seen()
	assert.Empty(t, q, "not queued again at the restarted home")
	assert.Zero(t, testutil.ToFloat64(b.actions.m.ledger.WithLabelValues("a", "requeued")))
	assert.Positive(t, testutil.ToFloat64(b.actions.m.ledger.WithLabelValues("a", "repeat")), "resends answered from the ledger")
	a.stop(t)
	b.stop(t)
}

// The home's ledger answers with the downlink's outcome and whether it is
// final: sent is final for an unconfirmed downlink only, a refused
// transmission of a confirmed one is not (it is tried again), and nothing
// moves an acknowledged action. An action without ActionID (an older
// sender) is queued every time.
func TestActionLedgerOutcomes(t *testing.T) {
	valve, meter := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x0b, 1}, lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x0a, 1}
	c := &actionCounty{dir: t.TempDir(), addr: map[lorawan.EUI64]string{nsidA: freeAddr(t), nsidB: freeAddr(t)}}
	c.table, c.ca = actionTable(t, c.addr[nsidA], c.addr[nsidB], meter, valve)
	b := c.start(t, nsidB, "token-b")
	defer b.stop(t)
	from, ok := b.link.Table().Peer(nsidA)
	require.True(t, ok)
	serve := func(id string, confirmed bool) ActionAns {
		return b.actions.Serve(t.Context(), from, ActionReq{ActionID: id, DevEUI: valve, Command: "close", Confirmed: confirmed})
	}
	now := time.Now()
	assert.Equal(t, ActionAns{Result: ActionQueued, DownlinkID: valve.String() + "-1"}, serve("u", false))
	b.actions.applyOutcome(downlinkOutcome{id: valve.String() + "-1", state: ActionSent, at: now})
	assert.Equal(t, ActionAns{Result: ActionSent, DownlinkID: valve.String() + "-1", Final: true}, serve("u", false))

	assert.Equal(t, ActionAns{Result: ActionQueued, DownlinkID: valve.String() + "-2", Confirmed: true}, serve("c", true))
	b.actions.applyOutcome(downlinkOutcome{id: valve.String() + "-2", state: ActionFailed, reason: "TOO_LATE", at: now})
	assert.Equal(t, ActionAns{Result: ActionFailed, DownlinkID: valve.String() + "-2", Description: "TOO_LATE", Confirmed: true}, serve("c", true))
	b.actions.applyOutcome(downlinkOutcome{id: valve.String() + "-2", state: ActionAcknowledged, at: now})
	b.actions.applyOutcome(downlinkOutcome{id: valve.String() + "-2", state: ActionNotAcknowledged, at: now})
	assert.Equal(t, ActionAns{Result: ActionAcknowledged, DownlinkID: valve.String() + "-2", Confirmed: true, Final: true}, serve("c", true))

	q, _ := b.seen()
	require.Len(t, q, 2, "each ActionID queued once")
	b.actions.Serve(t.Context(), from, ActionReq{DevEUI: valve, Command: "open"})
	b.actions.Serve(t.Context(), from, ActionReq{DevEUI: valve, Command: "open"})
	q, _ = b.seen()
	assert.Len(t, q, 4)
	assert.Equal(t, 2.0, testutil.ToFloat64(b.actions.m.ledger.WithLabelValues("a", "new")))
	assert.Equal(t, 3.0, testutil.ToFloat64(b.actions.m.ledger.WithLabelValues("a", "repeat")))
}
