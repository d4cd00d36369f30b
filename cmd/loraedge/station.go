package main

import (
	"context"
	"fmt"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/basicstation"
	"github.com/loraedge/loraedge/internal/network"
)

// buildStation creates the Basics Station LNS when basicstation.listen is
// set. Its frames join the GWMP frames in the network layer's one input,
// so the dedup window spans both transports.
func (d *daemon) buildStation() error {
	if !d.cfg.BasicStation.Enabled() {
		return nil
	}
	s, err := basicstation.NewServer(basicstation.Options{
		Config:     d.cfg.BasicStation,
		Band:       d.net.Band(),
		OnDntxed:   d.bridge.onDntxed,
		Logger:     d.log,
		Registerer: d.metrics,
	})
	if err != nil {
		return err
	}
	d.station, d.bridge.station = s, s
	return nil
}

// runStation feeds the routers' frames to the network layer until the LNS
// closes its frame channel.
func (b *bridge) runStation(ctx context.Context) error {
	for f := range b.station.Frames() {
		b.net.HandleFrame(ctx, network.Frame{PHYPayload: f.PHYPayload, RxInfo: f.RxInfo})
	}
	return nil
}

// sendStation hands a downlink to its router; the network layer's ID
// travels as diid and comes back in dntxed.
func (b *bridge) sendStation(d network.Downlink) error {
	err := b.station.Send(basicstation.Downlink{
		ID: d.ID, RouterID: d.GatewayID, DevEUI: d.DevEUI, PHYPayload: d.PHYPayload,
		Frequency: d.Frequency, DataRate: d.DataRate, Immediately: d.Immediately, Tmst: d.Tmst,
	})
	if err != nil {
		return fmt.Errorf("send to router %s: %w", d.GatewayID, err)
	}
	return nil
}

// onDntxed is the router's TX confirmation, GWMP's TX_ACK without error.
func (b *bridge) onDntxed(_ lorawan.EUI64, id uint64) { b.net.HandleTxAck(id, nil) }
