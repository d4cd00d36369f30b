package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/alert/notify"
)

// RemoteActions takes alert actions on devices homed at a peer of the
// county network; the daemon wires internal/roaming's action outbox. It
// never waits for the peer: SubmitAction only records the action
// durably, and its outcome comes back through Engine.ActionOutcome.
type RemoteActions interface {
	// Home names the peer that is home of devEUI; false for a device of
	// this instance or of no one.
	Home(devEUI lorawan.EUI64) (peer string, ok bool)
	// SubmitAction puts the action into the peer's outbox; an error means
	// it was not taken (outbox full, not foreign).
	SubmitAction(a RemoteAction) error
}

// RemoteAction is one action on a device homed at a peer.
type RemoteAction struct {
	// ID is the same for every resend of this action, so the home queues
	// it once: alert, firing, device and command.
	ID        string
	AlertID   string
	DevEUI    lorawan.EUI64
	Command   string
	Args      map[string]float64
	Confirmed bool
	// Expires ends the outbox's tries: a valve close must not come a day
	// late.
	Expires time.Time
}

// remoteActionID names one action across the county network.
func remoteActionID(alertID string, firing time.Time, dev, command string) string {
	h := sha256.Sum256([]byte(alertID + "\x00" + strconv.FormatInt(firing.UnixNano(), 10) + "\x00" +
		strings.ToLower(dev) + "\x00" + command))
	return hex.EncodeToString(h[:12])
}

// runRemoteActions submits the action for the devices it names that are
// not in the registry but homed at a peer, and returns their targets.
func (e *Engine) runRemoteActions(a *Alert, act *ActionConfig, local []devInfo, at time.Time) []notify.ActionTarget {
	if e.opts.Remote == nil {
		return nil
	}
	var out []notify.ActionTarget
	for _, s := range act.Devices {
		if slices.ContainsFunc(local, func(d devInfo) bool { return strings.EqualFold(d.EUI, s) }) {
			continue
		}
		var eui lorawan.EUI64
		if eui.UnmarshalText([]byte(s)) != nil {
			continue
		}
		peer, ok := e.opts.Remote.Home(eui)
		if !ok {
			continue
		}
		t := notify.ActionTarget{Device: eui.String(), Command: act.Command, Peer: peer,
			ID: remoteActionID(a.ID, a.FiringSince, eui.String(), act.Command), State: notify.ActionPending, At: at}
		err := e.opts.Remote.SubmitAction(RemoteAction{ID: t.ID, AlertID: a.ID, DevEUI: eui, Command: act.Command,
			Args: act.Args, Confirmed: act.Confirmed, Expires: at.Add(act.expiry())})
		if err != nil {
			e.log.Error("alert action for a peer not taken", "alert_id", a.ID, "dev_eui", t.Device, "peer", peer, "command", act.Command, "err", err)
			t.State, t.Reason = notify.ActionDropped, err.Error()
			e.am.outcomes.WithLabelValues(t.State).Inc()
		} else {
			e.log.Info("alert action in the outbox of the device's home", "alert_id", a.ID, "dev_eui", t.Device, "peer", peer,
				"command", act.Command, "action_id", t.ID)
		}
		out = append(out, t)
	}
	return out
}
