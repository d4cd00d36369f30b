package network

import (
	"fmt"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/uplink"
)

// FrameObserver hears the outcome of every frame the server handled, with
// the reason of a rejection (the daemon's frame log). It is called on the
// network loop and must not block.
type FrameObserver interface {
	ObserveFrame(uplink.FrameEvent)
}

// observeFrame tells Options.Frames what became of entry e.
func (s *Server) observeFrame(e *dedupEntry, o outcome) {
	if s.opts.Frames == nil {
		return
	}
	ev := uplink.FrameEvent{Time: uplinkTime(e), Direction: uplink.Up, Size: len(e.phy), Gateways: make([]uplink.FrameGateway, 0, len(e.rx))}
	for _, r := range e.rx {
		ev.Gateways = append(ev.Gateways, uplink.FrameGateway{ID: r.GatewayID.String(), RSSI: r.RSSI, SNR: r.SNR, Peer: e.peers[r.GatewayID]})
	}
	if len(e.rx) > 0 {
		ev.DataRate, ev.Frequency = e.rx[0].DataRate, e.rx[0].Frequency
	}
	if o.devEUI != (lorawan.EUI64{}) {
		ev.DevEUI = o.devEUI.String()
	}
	ev.ReadHeader(e.phy)
	if o.up != nil {
		fcnt := o.up.FCnt
		ev.FCnt = &fcnt
	}
	ev.Result, ev.Reason = frameResult(o, ev)
	s.opts.Frames.ObserveFrame(ev)
}

// frameResult names the outcome as the frame log shows it, with the reason
// an installer needs.
func frameResult(o outcome, ev uplink.FrameEvent) (string, string) {
	fcnt := uint32(0)
	if ev.FCnt != nil {
		fcnt = *ev.FCnt
	}
	if o.result == ResultForwarded {
		return uplink.ResultForwarded, "forwarded to " + o.home + ", the device's home"
	}
	if o.join {
		switch o.result {
		case joinOK:
			return uplink.ResultJoinAccepted, ""
		case joinMICInvalid:
			return uplink.ResultJoinRejected, "the join-request's MIC does not match the device's AppKey"
		case joinUnknownDevice:
			return uplink.ResultJoinRejected, "DevEUI " + ev.DevEUI + " is not provisioned on this network server"
		case joinDevNonceReuse:
			return uplink.ResultJoinRejected, "DevNonce was used before: a replayed join-request, or a 1.0.4 device whose counter went back"
		case joinStoreError:
			return uplink.ResultJoinRejected, "the new session could not be saved"
		}
		return uplink.ResultJoinRejected, "the join-accept could not be built"
	}
	switch o.result {
	case resultOK:
		if o.up == nil {
			return uplink.ResultNoPayload, "no payload and no MAC answer to store"
		}
		return uplink.ResultAccepted, ""
	case resultRetransmission:
		return uplink.ResultDuplicate, fmt.Sprintf("FCnt %d was already received: a retransmission", fcnt)
	case resultMICInvalid:
		return uplink.ResultMICInvalid, "the MIC matches no session of DevAddr " + ev.DevAddr + ": wrong NwkSKey, or the device joined another network"
	case resultReplay:
		return uplink.ResultReplay, fmt.Sprintf("FCnt %d is not above the last one received: a replay, or a device that restarted without a new join", fcnt)
	case resultTooOld:
		return uplink.ResultReplay, fmt.Sprintf("FCnt %d came late through a peer and lies more than %d below the last one received: too old to tell from a replay", fcnt, fcntWindow)
	case resultFCntGap:
		return uplink.ResultFCntGap, fmt.Sprintf("FCnt %d jumped more than MAX_FCNT_GAP past the last one", fcnt)
	case resultUnknownDevAddr:
		return uplink.ResultUnknownDevAddr, "no session has DevAddr " + ev.DevAddr + ": the device has not joined here, or belongs to another network"
	case resultStoreError:
		return uplink.ResultStoreError, "the network state could not be saved; the frame was not handed on"
	}
	return uplink.ResultDecodeError, "not a LoRaWAN 1.0 uplink or join-request"
}
