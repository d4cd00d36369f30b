package alert

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/brocaar/lorawan"
)

// RemoteActions sends an alert action on a device homed at a peer to that
// home, which queues the command as it would locally; internal/roaming's
// link provides it. Result is "queued", "refused" or "failed" as the home
// answered; an error means no answer came.
type RemoteActions interface {
	Foreign(devEUI lorawan.EUI64) bool
	RemoteAction(ctx context.Context, alertID string, devEUI lorawan.EUI64, command string,
		args map[string]float64, confirmed bool) (result, detail string, err error)
}

// remoteActionTimeout bounds one peer's answer, as the evaluation waits
// for it.
const remoteActionTimeout = 5 * time.Second

// runRemoteActions sends the action to the homes of the devices it names
// that are not in the registry but homed at a peer, and returns their
// outcomes as "EUI:command:result".
func (e *Engine) runRemoteActions(a *Alert, act *ActionConfig, local []devInfo) []string {
	if e.opts.Remote == nil {
		return nil
	}
	var done []string
	for _, s := range act.Devices {
		if slices.ContainsFunc(local, func(d devInfo) bool { return strings.EqualFold(d.EUI, s) }) {
			continue
		}
		var eui lorawan.EUI64
		if eui.UnmarshalText([]byte(s)) != nil || !e.opts.Remote.Foreign(eui) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), remoteActionTimeout)
		res, detail, err := e.opts.Remote.RemoteAction(ctx, a.ID, eui, act.Command, act.Args, act.Confirmed)
		cancel()
		if err != nil {
			e.log.Error("alert action at the device's home", "alert_id", a.ID, "dev_eui", eui.String(), "command", act.Command, "err", err)
			res = "failed"
		} else {
			e.log.Info("alert action at the device's home", "alert_id", a.ID, "dev_eui", eui.String(), "command", act.Command,
				"result", res, "detail", detail)
		}
		done = append(done, eui.String()+":"+act.Command+":"+res)
	}
	return done
}
