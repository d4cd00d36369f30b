package alert

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// peerOutbox records the actions handed to the county network's outbox.
type peerOutbox struct {
	mu   sync.Mutex
	home map[lorawan.EUI64]string
	got  []RemoteAction
	err  error
}

func (p *peerOutbox) Home(dev lorawan.EUI64) (string, bool) {
	s, ok := p.home[dev]
	return s, ok
}

func (p *peerOutbox) SubmitAction(a RemoteAction) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.got = append(p.got, a)
	return nil
}

var foreignValve = lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0x00, 0x0b, 0x01}

func frostWithAction(valve string) Config {
	return Config{RepeatInterval: 100 * time.Hour, Receivers: []ReceiverConfig{{Name: "hook", Type: "webhook"}}, DefaultReceivers: []string{"hook"},
		Rules: []RuleConfig{{Name: "frost", Kind: KindThreshold, Quantity: "air_temperature", Direction: "below", On: ptr(0), Off: ptr(1), Level: "warnung",
			Action: &ActionConfig{Command: "close", Devices: []string{valve, foreignValve.String()}, Confirmed: true, Expiry: 10 * time.Minute}}}}
}

func actionsOf(h *harness) []notify.ActionTarget {
	as := h.e.List(Filter{Rule: "frost"})
	if len(as) != 1 {
		return nil
	}
	return as[0].Actions
}

// An action's targets go queued (local) and pending (at a peer, through
// the outbox, never waited for); outcomes by id move them to sent and
// acknowledged, are saved with the alert, ignored after a final one, and
// the texts say it in German and English; a final outcome is notified at
// once.
func TestActionOutcomesOnTheAlert(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	valve := eui(sim.Devices("building-meters")[3])
	out := &peerOutbox{home: map[lorawan.EUI64]string{foreignValve: "gw-b"}}
	h := newHarness(t, frostWithAction(valve), "winter-night,building-meters", start, func(o *Options) { o.Remote = out })
	station := eui(sim.Devices("winter-night")[0])
	h.feed(m(station, measurement.AirTemperature, -0.5, start))

	ts := actionsOf(h)
	require.Len(t, ts, 2)
	assert.Equal(t, notify.ActionTarget{Device: valve, Command: "close", ID: "dl-1", State: notify.ActionQueued, At: start}, ts[0])
	assert.Equal(t, notify.ActionPending, ts[1].State)
	assert.Equal(t, "gw-b", ts[1].Peer)
	require.Len(t, out.got, 1)
	assert.Equal(t, ts[1].ID, out.got[0].ID)
	assert.Equal(t, RemoteAction{ID: ts[1].ID, AlertID: "frost/" + station + ":air_temperature", DevEUI: foreignValve, Command: "close",
		Confirmed: true, Expires: start.Add(10 * time.Minute)}, out.got[0])

	at := start.Add(time.Minute)
	h.e.ActionOutcome(ActionUpdate{ID: "dl-1", State: notify.ActionSent, At: at})
	h.e.ActionOutcome(ActionUpdate{ID: "dl-1", State: notify.ActionAcknowledged, At: at})
	h.e.ActionOutcome(ActionUpdate{ID: "dl-1", State: notify.ActionFailed, Reason: "late", At: at})
	h.e.ActionOutcome(ActionUpdate{ID: ts[1].ID, State: notify.ActionQueued, At: at})
	h.e.ActionOutcome(ActionUpdate{ID: "dl-unknown", State: notify.ActionAcknowledged, At: at})
	require.Eventually(t, func() bool {
		ts := actionsOf(h)
		return len(ts) == 2 && ts[1].State == notify.ActionQueued
	}, 5*time.Second, 5*time.Millisecond)
	ts = actionsOf(h)
	assert.Equal(t, notify.ActionAcknowledged, ts[0].State, "the failure after the ACK is ignored")
	assert.Empty(t, ts[0].Reason)

	h.restart()
	ts = actionsOf(h)
	require.Len(t, ts, 2)
	assert.Equal(t, notify.ActionAcknowledged, ts[0].State, "saved with the alert")
	assert.Equal(t, notify.ActionQueued, ts[1].State, "the peer's outbox keeps its own: not ended by the restart")
	assert.Equal(t, valve+":close:acknowledged,"+foreignValve.String()+":close:queued", h.e.List(Filter{Rule: "frost"})[0].ActionDone)

	h.feed(m(station, measurement.AirTemperature, 2, start.Add(30*time.Minute)))
	h.drain()
	notes := byReceiver(h.hook, "hook")
	require.Len(t, notes, 3)
	assert.Contains(t, notes[0].Text, "close → "+foreignValve.String()+": wartet auf die Verbindung zum Heimat-Gateway (über gw-b)")
	assert.Equal(t, "firing", notes[1].Notification, "the valve's ACK is news")
	assert.Contains(t, notes[1].Text, "close → "+valve+": ausgeführt (vom Gerät bestätigt)")
	assert.Contains(t, notes[1].Text, "close → "+foreignValve.String()+": wartet auf die Verbindung zum Heimat-Gateway (über gw-b)",
		"the ACK was dispatched before the peer's answer came")
	assert.Equal(t, "resolved", notes[2].Notification)
	assert.Contains(t, notes[2].Text, "close → "+valve+": ausgeführt (vom Gerät bestätigt)")
	assert.Contains(t, notes[2].Text, "close → "+foreignValve.String()+": in der Warteschlange des Geräts (über gw-b)")
	en := (&notify.ActionTarget{Device: valve, Command: "close", State: notify.ActionAcknowledged}).Text("en")
	assert.Equal(t, "close → "+valve+": done (confirmed by the device)", en)
}

// A local target still waiting at a restart keeps its state and id: the
// network layer's queue survives the restart and reports its outcome
// after it. The local downlink carries the action's expiry. A target the
// outbox does not take is dropped, with the reason.
func TestActionsAfterRestartAndRefusedOutbox(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	valve := eui(sim.Devices("building-meters")[3])
	out := &peerOutbox{home: map[lorawan.EUI64]string{foreignValve: "gw-b"}, err: errors.New("outbox for gw-b full")}
	h := newHarness(t, frostWithAction(valve), "winter-night,building-meters", start, func(o *Options) { o.Remote = out })
	h.feed(m(eui(sim.Devices("winter-night")[0]), measurement.AirTemperature, -0.5, start))
	ts := actionsOf(h)
	require.Len(t, ts, 2)
	assert.Equal(t, notify.ActionDropped, ts[1].State)
	assert.Equal(t, "outbox for gw-b full", ts[1].Reason)
	h.dl.mu.Lock()
	assert.Equal(t, []time.Duration{10 * time.Minute}, h.dl.expiry, "the rule's action.expiry goes with the downlink")
	h.dl.mu.Unlock()

	h.clock.Set(start.Add(5 * time.Minute))
	h.restart()
	ts = actionsOf(h)
	require.Len(t, ts, 2)
	assert.Equal(t, notify.ActionQueued, ts[0].State, "still queued at the network layer")
	assert.Equal(t, "dl-1", ts[0].ID)
	assert.True(t, start.Equal(ts[0].At), "the queued time is kept")
	h.e.applyActionUpdate(ActionUpdate{ID: "", State: notify.ActionAcknowledged, At: start})
	assert.Equal(t, notify.ActionQueued, actionsOf(h)[0].State, "an update without id is not this one")
	h.e.applyActionUpdate(ActionUpdate{ID: "dl-1", State: notify.ActionExpired, Reason: "not sent before 2026-01-12T17:10:00Z", At: start.Add(10 * time.Minute)})
	ts = actionsOf(h)
	assert.Equal(t, notify.ActionExpired, ts[0].State, "the outcome after the restart reaches the alert")
	assert.Equal(t, "not sent before 2026-01-12T17:10:00Z", ts[0].Reason)
}

// A local target still waiting at a start well past its action's expiry
// lost its outcome with the process: it ends expired; one within its
// expiry keeps waiting.
func TestUnreportedLocalTargetsEndAtStart(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	valve := eui(sim.Devices("building-meters")[3])
	h := newHarness(t, frostWithAction(valve), "winter-night,building-meters", start, func(*Options) {})
	h.feed(m(eui(sim.Devices("winter-night")[0]), measurement.AirTemperature, -0.5, start))
	require.Equal(t, notify.ActionQueued, actionsOf(h)[0].State)

	h.clock.Set(start.Add(10*time.Minute + actionOutcomeGrace)) // the rule's expiry and the grace, not past
	h.restart()
	assert.Equal(t, notify.ActionQueued, actionsOf(h)[0].State)
	h.clock.Set(start.Add(10*time.Minute + actionOutcomeGrace + time.Second))
	h.restart()
	ts := actionsOf(h)
	assert.Equal(t, notify.ActionExpired, ts[0].State)
	assert.Equal(t, "no outcome reported by the action's expiry", ts[0].Reason)
	assert.Equal(t, "dl-1", ts[0].ID)
}

func TestRemoteActionID(t *testing.T) {
	f := time.Date(2026, 1, 12, 18, 0, 0, 0, time.UTC)
	a := remoteActionID("leak/x", f, "70B3D57ED0000B01", "close")
	assert.Len(t, a, 24)
	assert.Equal(t, a, remoteActionID("leak/x", f, "70b3d57ed0000b01", "close"), "the same action whatever the case of the EUI")
	assert.NotEqual(t, a, remoteActionID("leak/x", f.Add(time.Hour), "70b3d57ed0000b01", "close"), "a new firing is a new action")
	assert.NotEqual(t, a, remoteActionID("leak/x", f, "70b3d57ed0000b01", "open"))
}
