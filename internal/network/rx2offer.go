package network

import (
	"time"

	"github.com/brocaar/lorawan"
)

// RX2 offered with RX1: a Basics Station router takes a Class A downlink
// with both windows in one message and sends in RX2 by itself when it
// cannot place the frame in RX1 (too late, channel busy). GWMP gateways
// get one window at a time and report a failure in TX_ACK instead, which
// transmit answers with the RX2 fallback.

// RX2Carrier is implemented by a DownlinkSender that can hand a gateway
// both receive windows of a Class A downlink at once (Downlink.RX2).
type RX2Carrier interface {
	CarriesRX2(gateway lorawan.EUI64) bool
}

// Window is the receive window a gateway reports a Class A downlink sent
// in.
type Window uint8

// Windows a gateway may report; WindowUnknown when it does not say.
const (
	WindowUnknown Window = iota
	WindowRX1
	WindowRX2
)

// resultRX2Fallback (label "result" of loraedge_network_downlinks_total)
// is a downlink sent in RX2 after RX1 failed: retried by the network
// layer (GWMP) or by the gateway itself (Basics Station).
const resultRX2Fallback = "rx2_fallback"

// HandleTxSent reports that the gateway transmitted the downlink with the
// given ID in window w, as a Basics Station dntxed does. It settles the
// downlink like a TX_ACK without error and returns the duty-cycle charge
// of the window not used. Safe for concurrent use; it never blocks.
func (s *Server) HandleTxSent(id uint64, w Window) {
	select {
	case s.acks <- txAck{id: id, window: w}:
	default:
		s.m.txAckDropped.Inc()
	}
}

// offerRX2 attaches p's RX2 transmission to its RX1 one when the sender
// hands this gateway both windows. Until the gateway says which it used,
// both are charged to the duty cycle, so its own fallback can never
// exceed the budget; without budget in RX2 only RX1 is offered. It
// returns both windows when RX2 was offered.
func (s *Server) offerRX2(p *txPlan) *offer {
	c, ok := s.opts.Sender.(RX2Carrier)
	if !ok || p.rx2 == nil || !c.CarriesRX2(p.rx1.GatewayID) {
		return nil
	}
	if !s.reserve(*p.rx2) {
		return nil
	}
	rx2 := *p.rx2
	p.rx1.RX2 = &rx2
	return &offer{rx1: p.rx1, rx2: rx2, at: s.now()}
}

// offer is a downlink sent with both windows, charged to the duty cycle
// at about at.
type offer struct {
	rx1, rx2 Downlink
	at       time.Time
}

// settleWindows returns the charge of the window the gateway did not use.
// A gateway that does not say keeps both charged: the budget errs on the
// side of the limit.
func (s *Server) settleWindows(p pendingTx, w Window) {
	if p.offered == nil {
		return
	}
	switch w {
	case WindowRX1:
		s.release(p.offered.rx2, p.offered.at)
	case WindowRX2:
		s.release(p.offered.rx1, p.offered.at)
		s.m.downlinks.WithLabelValues(p.kind, resultRX2Fallback).Inc()
	case WindowUnknown:
	}
}

// release takes back d's duty-cycle charge made at about at.
func (s *Server) release(d Downlink, at time.Time) {
	if s.dc.budget == nil {
		return
	}
	if dur, err := downlinkAirtime(d); err == nil {
		s.dc.budget.Release(d.GatewayID, d.Frequency, dur, at)
	}
}
