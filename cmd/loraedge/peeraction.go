package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/roaming"
)

// remoteActions hands alert actions on devices homed at a peer to the
// durable per-peer outbox.
type remoteActions struct {
	link    *roaming.Link
	actions *roaming.Actions
}

func (r remoteActions) Home(devEUI lorawan.EUI64) (string, bool) {
	p, ok := r.link.ForeignDevice(devEUI)
	if !ok {
		return "", false
	}
	return p.Name, true
}

func (r remoteActions) SubmitAction(a alert.RemoteAction) error {
	return r.actions.Submit(roaming.ActionReq{ActionID: a.ID, AlertID: a.AlertID, DevEUI: a.DevEUI, Command: a.Command,
		Args: a.Args, Confirmed: a.Confirmed}, a.Expires)
}

// remoteActioner is nil when roaming is off, so the engine treats devices
// outside the registry as no target.
func (d *daemon) remoteActioner() alert.RemoteActions {
	if d.fed == nil {
		return nil
	}
	return remoteActions{d.fed.Link(), d.peerActions}
}

// openPeerActions opens the record of alert actions across the county
// network (DataDir/actions.db): the outbox of actions for peers and the
// ledger of actions peers sent here.
func (d *daemon) openPeerActions() error {
	var err error
	d.peerActions, err = roaming.OpenActions(roaming.ActionsOptions{Link: d.fed.Link(), Path: filepath.Join(d.cfg.DataDir, "actions.db"),
		Queue: d.handlePeerAction, OnUpdate: d.peerActionUpdate, Logger: d.log, Registerer: d.metrics, Now: d.now})
	return err
}

// servePeerAction is the link's action handler: the ledger answers
// resends and queues new actions through handlePeerAction.
func (d *daemon) servePeerAction(ctx context.Context, from *roaming.Peer, req roaming.ActionReq) roaming.ActionAns {
	return d.peerActions.Serve(ctx, from, req)
}

// peerActionUpdate records an outbox action's outcome on its alert.
func (d *daemon) peerActionUpdate(u roaming.ActionUpdate) {
	if d.alerts == nil {
		return
	}
	state, reason := u.State, u.Reason
	if state == roaming.ActionRefused {
		state, reason = notify.ActionFailed, "refused by "+u.Peer+": "+reason
	}
	d.alerts.ActionOutcome(alert.ActionUpdate{ID: u.ID, State: state, Reason: reason, At: u.At})
}

// downlinkOutcomes passes the network layer's downlink outcomes to the
// alert engine (local actions) and the peer action ledger (actions peers
// sent here). Both only queue them: this runs on the network loop.
type downlinkOutcomes struct{ d *daemon }

func (o downlinkOutcomes) DownlinkOutcome(x network.DownlinkOutcome) {
	if o.d.alerts != nil {
		o.d.alerts.ActionOutcome(alert.ActionUpdate{ID: x.ID, State: x.State, Reason: x.Reason, At: x.At})
	}
	if o.d.peerActions != nil {
		o.d.peerActions.DownlinkOutcome(x.ID, x.DevEUI, x.State, x.Reason, x.At)
	}
}

// handlePeerAction queues a peer's alert action on a device homed here,
// as a local action would be: the device's profile builds the command.
// The link has checked the sender and that the table makes this instance
// the device's home.
func (d *daemon) handlePeerAction(_ context.Context, from *roaming.Peer, req roaming.ActionReq) roaming.ActionAns {
	log := d.log.With("peer", from.Name, "alert_id", req.AlertID, "action_id", req.ActionID, "dev_eui", req.DevEUI.String(), "command", req.Command)
	dev, ok := d.devices.Get(req.DevEUI)
	if !ok {
		log.Warn("peer action refused", "reason", "device not registered here")
		return roaming.ActionAns{Result: roaming.ActionRefused, Description: "device not registered at its home"}
	}
	dl, err := d.profiles.Downlink(dev.Profile, req.Command, req.Args)
	if err != nil {
		log.Warn("peer action failed", "err", err)
		return roaming.ActionAns{Result: roaming.ActionFailed, Description: err.Error()}
	}
	confirmed := req.Confirmed || dl.Confirmed
	// The sender's expiry: the downlink is not sent after it.
	id, err := d.net.EnqueueDownlinkExpiring(req.DevEUI, dl.FPort, dl.Payload, confirmed, time.Duration(max(req.ExpirySeconds, 0))*time.Second)
	if err != nil {
		log.Warn("peer action failed", "err", err)
		return roaming.ActionAns{Result: roaming.ActionFailed, Description: err.Error()}
	}
	log.Info("peer action queued", "downlink_id", id)
	return roaming.ActionAns{Result: roaming.ActionQueued, DownlinkID: id, Confirmed: confirmed}
}
