package main

import (
	"context"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/roaming"
)

// remoteActions sends alert actions on devices homed at a peer over the
// peer link.
type remoteActions struct{ link *roaming.Link }

func (r remoteActions) Foreign(devEUI lorawan.EUI64) bool {
	_, ok := r.link.ForeignDevice(devEUI)
	return ok
}

func (r remoteActions) RemoteAction(ctx context.Context, alertID string, devEUI lorawan.EUI64, command string,
	args map[string]float64, confirmed bool,
) (string, string, error) {
	ans, err := r.link.SendAction(ctx, roaming.ActionReq{AlertID: alertID, DevEUI: devEUI, Command: command, Args: args, Confirmed: confirmed})
	if err != nil {
		return "", "", err
	}
	detail := ans.Description
	if ans.DownlinkID != "" {
		detail = "downlink " + ans.DownlinkID
	}
	return ans.Result, detail, nil
}

// remoteActioner is nil when roaming is off, so the engine treats devices
// outside the registry as no target.
func (d *daemon) remoteActioner() alert.RemoteActions {
	if d.fed == nil {
		return nil
	}
	return remoteActions{d.fed.Link()}
}

// handlePeerAction queues a peer's alert action on a device homed here,
// as a local action would be: the device's profile builds the command.
// The link has checked the sender and that the table makes this instance
// the device's home.
func (d *daemon) handlePeerAction(_ context.Context, from *roaming.Peer, req roaming.ActionReq) roaming.ActionAns {
	log := d.log.With("peer", from.Name, "alert_id", req.AlertID, "dev_eui", req.DevEUI.String(), "command", req.Command)
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
	id, err := d.net.EnqueueDownlink(req.DevEUI, dl.FPort, dl.Payload, req.Confirmed || dl.Confirmed)
	if err != nil {
		log.Warn("peer action failed", "err", err)
		return roaming.ActionAns{Result: roaming.ActionFailed, Description: err.Error()}
	}
	log.Info("peer action queued", "downlink_id", id)
	return roaming.ActionAns{Result: roaming.ActionQueued, DownlinkID: id}
}
