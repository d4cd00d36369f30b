package main

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/basicstation"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/semtechudp"
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
// travels as diid and comes back in dntxed. A Class A downlink carries its
// RX2 window too, which the router falls back to by itself.
func (b *bridge) sendStation(d network.Downlink) error {
	sd := basicstation.Downlink{
		ID: d.ID, RouterID: d.GatewayID, DevEUI: d.DevEUI, PHYPayload: d.PHYPayload,
		Frequency: d.Frequency, DataRate: d.DataRate, Immediately: d.Immediately, Tmst: d.Tmst,
	}
	if d.RX2 != nil {
		sd.RX2Frequency, sd.RX2DataRate = d.RX2.Frequency, d.RX2.DataRate
	}
	if err := b.station.Send(sd); err != nil {
		return fmt.Errorf("send to router %s: %w", d.GatewayID, err)
	}
	return nil
}

var _ network.RX2Carrier = (*bridge)(nil)

// CarriesRX2 implements network.RX2Carrier: a router connected to the LNS
// takes both windows of a Class A downlink in one dnmsg.
func (b *bridge) CarriesRX2(gw lorawan.EUI64) bool {
	return b.station != nil && b.station.Connected(gw)
}

// onDntxed is the router's TX confirmation, GWMP's TX_ACK without error,
// with the window the router used.
func (b *bridge) onDntxed(_ lorawan.EUI64, id uint64, w basicstation.Window) {
	nw := network.WindowUnknown
	switch w {
	case basicstation.WindowRX1:
		nw = network.WindowRX1
	case basicstation.WindowRX2:
		nw = network.WindowRX2
	case basicstation.WindowUnknown:
	}
	b.net.HandleTxSent(id, nw)
}

// gatewayList shows GWMP gateways and Basics Station routers side by side
// (API, web page, gateway alert): a router's dntxed counts as a TX_ACK and
// a missing one as a missing TX_ACK; its pongs and messages as polling.
type gatewayList struct {
	udp     *semtechudp.Server
	station *basicstation.Server // nil when off
}

// Gateways implements httpapi.GatewayLister.
func (g gatewayList) Gateways() []semtechudp.GatewayStatus {
	out := g.udp.Gateways()
	if g.station == nil {
		return out
	}
	for _, r := range g.station.Routers() {
		if r.LastSeen.IsZero() {
			continue // configured, never connected
		}
		st := semtechudp.GatewayStatus{ID: r.ID, Name: r.Name, LastSeen: r.LastSeen, RXReceived: r.Uplinks,
			RXOK: r.Uplinks, TXSent: r.Downlinks, TXAcked: r.Dntxed, TXAckMissing: r.DntxedMissing,
			TXAckMissingRun: r.DntxedMissingRun}
		if r.Connected {
			st.LastPullData = r.LastSeen
		}
		if ap, err := netip.ParseAddrPort(r.Remote); err == nil {
			st.Addr = ap
		}
		out = append(out, st)
	}
	return out
}
