package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/semtechudp"
)

// bridge connects the packet forwarder protocol to the network layer: rxpk
// in, txpk out, and TX_ACK results back to the downlink that caused them.
// It is the only place that knows both packages' types.
type bridge struct {
	udp *semtechudp.Server
	net *network.Server
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
	return b.sendTXPK(d.GatewayID, tx, pendingID{id: d.ID})
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
	}
}
