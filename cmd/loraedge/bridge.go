package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/basicstation"
	"github.com/loraedge/loraedge/internal/framelog"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/uplink"
)

// bridge connects the packet forwarder protocol to the network layer: rxpk
// in, txpk out, and TX_ACK results back to the downlink that caused them.
// It is the only place that knows both packages' types.
type bridge struct {
	udp *semtechudp.Server
	net *network.Server
	// station is the Basics Station LNS, nil when off; a downlink for a
	// router connected there goes there.
	station *basicstation.Server
	// frames hears each downlink handed to a gateway and its TX_ACK (the
	// frame log), dated by now (the daemon's clock); nil: nobody.
	frames *framelog.Log
	now    func() time.Time
	// remote, when set, takes downlinks through a peer's gateway (county
	// network); txPower is network.downlink_tx_power for peers' downlinks.
	remote  func(network.Downlink) bool
	txPower int

	mu      sync.Mutex
	pending map[tokenKey]pendingID
}

type tokenKey struct {
	gw    lorawan.EUI64
	token uint16
}

type pendingID struct {
	id   uint64
	sent time.Time
	cb   func(error) // instead of the network layer: a peer's downlink
}

func newBridge() *bridge { return &bridge{pending: map[tokenKey]pendingID{}} }

// run feeds every received frame to the network layer until the UDP
// server closes its frame channel.
func (b *bridge) run(ctx context.Context) error {
	for f := range b.udp.Frames() {
		b.net.HandleFrame(ctx, rxFrame(f))
	}
	return nil
}

func rxFrame(f semtechudp.Frame) network.Frame {
	return network.Frame{PHYPayload: f.RXPK.Data, RxInfo: f.RxInfo()}
}

// SendDownlink implements network.DownlinkSender.
func (b *bridge) SendDownlink(_ context.Context, d network.Downlink) error {
	if b.remote != nil && b.remote(d) {
		return nil
	}
	if b.station != nil && b.station.Connected(d.GatewayID) {
		return b.sendStation(d)
	}
	tx := semtechudp.TXPK{
		Imme: d.Immediately,
		Freq: float64(d.Frequency) / 1e6,
		Powe: uint8(d.Power),
		Modu: "LORA",
		DatR: semtechudp.DatR{LoRa: d.DataRate},
		CodR: "4/5",
		IPol: d.InvertPolarity,
		Size: uint16(len(d.PHYPayload)),
		Data: d.PHYPayload,
	}
	if !d.Immediately {
		tmst := d.Tmst
		tx.Tmst = &tmst
	}
	if err := b.sendTXPK(d.GatewayID, tx, pendingID{id: d.ID}); err != nil {
		return err
	}
	if b.frames != nil {
		b.frames.ObserveFrame(downlinkEvent(d, b.now()))
	}
	return nil
}

// sendTXPK sends a PULL_RESP and remembers whom its TX_ACK is for.
func (b *bridge) sendTXPK(gw lorawan.EUI64, tx semtechudp.TXPK, p pendingID) error {
	token, err := b.udp.Send(gw, tx)
	if err != nil {
		return fmt.Errorf("send to gateway %s: %w", gw, err)
	}
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, p := range b.pending {
		if now.Sub(p.sent) > time.Minute {
			delete(b.pending, k)
		}
	}
	p.sent = now
	b.pending[tokenKey{gw, token}] = p
	return nil
}

// downlinkEvent is the frame log's record of a downlink handed to its
// gateway.
func downlinkEvent(d network.Downlink, at time.Time) uplink.FrameEvent {
	ev := uplink.FrameEvent{Time: at, Direction: uplink.Down, Gateways: []uplink.FrameGateway{{ID: d.GatewayID.String()}},
		DataRate: d.DataRate, Frequency: d.Frequency, Size: len(d.PHYPayload), Result: uplink.ResultSent, DownlinkID: d.ID}
	if d.DevEUI != (lorawan.EUI64{}) {
		ev.DevEUI = d.DevEUI.String()
	}
	ev.ReadHeader(d.PHYPayload)
	return ev
}

// onTxAck runs on the UDP receive goroutine; network.HandleTxAck never blocks.
func (b *bridge) onTxAck(ev semtechudp.TxAckEvent) {
	b.mu.Lock()
	p, ok := b.pending[tokenKey{ev.GatewayID, ev.Token}]
	delete(b.pending, tokenKey{ev.GatewayID, ev.Token})
	b.mu.Unlock()
	switch {
	case ok && p.cb != nil:
		p.cb(ev.Err)
	case ok:
		b.net.HandleTxAck(p.id, ev.Err)
		if b.frames != nil {
			b.frames.ObserveTxAck(ev.GatewayID.String(), p.id, ev.Err)
		}
	}
}
