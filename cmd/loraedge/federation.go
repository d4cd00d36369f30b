package main

import (
	"context"
	"fmt"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"

	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/roaming"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/uplink"
)

// buildFederation creates this instance's part of the county network when
// roaming is on, before the network layer that routes to it. Devices of
// the county need a longer RX1 delay than one second: a downlink through a
// peer's gateway waits for the home's dedup window and two peer hops.
func (d *daemon) buildFederation(netOpts *network.Options) error {
	rc := d.cfg.Roaming
	if !rc.Enabled {
		return nil
	}
	table, err := roaming.LoadTable(rc.PeersFile, rc.NSID)
	if err != nil {
		return fmt.Errorf("roaming.peers_file: %w", err)
	}
	opts := roaming.FederationOptions{
		Link:     roaming.LinkOptions{Config: rc, Table: table, Action: d.servePeerAction, Logger: d.log, Registerer: d.metrics},
		DataDir:  d.cfg.DataDir,
		Inject:   d.injectRemote,
		Transmit: d.bridge.transmit,
	}
	if d.frames != nil {
		opts.Forwarded = d.observeForwarded
	}
	fed, err := roaming.NewFederation(opts)
	if err != nil {
		return err
	}
	d.fed = fed
	if err := d.openPeerActions(); err != nil {
		return err
	}
	d.bridge.remote = d.sendRemote
	netOpts.Roaming = fed
	netOpts.DevAddrBlocks = fed.Link().Self().DevAddrBlocks
	netOpts.RX1Delay = max(netOpts.RX1Delay, rc.RXDelay)
	return nil
}

// injectRemote hands a peer's reception to the network layer as the
// device's home.
func (d *daemon) injectRemote(in roaming.Injected) {
	d.net.HandleFrame(context.Background(), network.Frame{PHYPayload: in.PHYPayload, RxInfo: in.RxInfo,
		Remote: true, Late: in.Late, Peer: in.Peer, Done: in.Done})
}

// observeForwarded shows in the frame log what a frame's home made of it.
func (d *daemon) observeForwarded(fr roaming.Frame, _, outcome string) {
	var h uplink.FrameEvent
	h.ReadHeader(fr.PHYPayload)
	for _, rx := range fr.RxInfo {
		d.frames.ObserveForward(rx.GatewayID.String(), h, outcome)
	}
}

// sendRemote sends a downlink through a peer's gateway when it names one;
// the forwarder's TX_ACK result comes back like a local gateway's.
func (d *daemon) sendRemote(dl network.Downlink) bool {
	id := dl.ID
	peer, ok := d.fed.RemotePeer(dl.GatewayID)
	if ok && d.frames != nil {
		ev := downlinkEvent(dl, time.Now())
		ev.Gateways[0].Peer = peer
		ev.Reason = "through " + peer + "'s gateway (XmitDataReq)"
		d.frames.ObserveFrame(ev)
	}
	return d.fed.SendRemote(roaming.RemoteDownlink{Gateway: dl.GatewayID, PHYPayload: dl.PHYPayload, Frequency: dl.Frequency,
		DataRate: dl.DataRate, Tmst: dl.Tmst, Immediately: dl.Immediately}, func(err error) {
		d.net.HandleTxAck(id, err)
		if d.frames != nil {
			d.frames.ObserveTxAck(dl.GatewayID.String(), id, err)
		}
	})
}

// txAckWait bounds the wait for a gateway's TX_ACK of a peer's downlink;
// a GWMP v1 forwarder sends none, and no answer counts as sent.
const txAckWait = time.Second

// transmit sends a peer's downlink on a local gateway and waits for its
// TX_ACK.
func (b *bridge) transmit(ctx context.Context, tx roaming.Transmission) error {
	pk := semtechudp.TXPK{
		Imme: tx.Immediately, Freq: float64(tx.Frequency) / 1e6, Powe: uint8(downlinkPower(b.txPower, tx.Frequency)),
		Modu: "LORA", DatR: semtechudp.DatR{LoRa: tx.DataRate}, CodR: "4/5", IPol: true,
		Size: uint16(len(tx.PHYPayload)), Data: tx.PHYPayload,
	}
	if !tx.Immediately {
		tmst := tx.Tmst
		pk.Tmst = &tmst
	}
	res := make(chan error, 1)
	if err := b.sendTXPK(tx.Gateway, pk, pendingID{cb: func(err error) { res <- err }}); err != nil {
		return err
	}
	t := time.NewTimer(txAckWait)
	defer t.Stop()
	select {
	case err := <-res:
		return err
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("transmit: %w", ctx.Err())
	}
}

// downlinkPower is the configured EIRP capped by the band's limit on freq
// (as the network layer reckons its own downlinks).
func downlinkPower(configured int, freq uint32) int {
	b, err := band.GetConfig(band.EU868, false, lorawan.DwellTimeNoLimit)
	if err != nil {
		return 14
	}
	limit := b.GetDownlinkTXPower(freq)
	if configured > 0 && configured < limit {
		return configured
	}
	return limit
}

// fedPeers is the API's view of the county network.
type fedPeers struct{ fed *roaming.Federation }

func (p fedPeers) PeerList() any { return p.fed.Peers() }

// peerLister is nil when roaming is off, so the API answers 501.
func (d *daemon) peerLister() httpapi.PeerLister {
	if d.fed == nil {
		return nil
	}
	return fedPeers{d.fed}
}
