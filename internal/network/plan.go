package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/uplink"
)

// Downlink planning: Class A answers in the RX1/RX2 windows after an
// uplink; Class C sends at once in RX2 parameters through the gateway that
// heard the device last.

// classCHoldoff keeps Class C sends clear of the RX windows after an uplink.
const classCHoldoff = 3 * time.Second

// answerClassA plans the downlink after a new uplink when the device needs
// an ACK, MAC answers or has queued data.
// An uplink that must be answered (confirmed, ADRACKReq) gets a downlink
// even with nothing in it.
func (s *Server) answerClassA(ss *session, rx []uplink.RxInfo, must, confirmed bool, answers []lorawan.Payload, acked bool, b *batch) (txPlan, bool) {
	item, fPending := s.queueHead(ss.DevEUI, acked, b)
	if !must && len(answers) == 0 && item == nil {
		return txPlan{}, false
	}
	p, ok := s.classAPlan(ss, rx, confirmed, answers, item, fPending, b)
	if ok && p.item != nil {
		s.afterItemSent(ss.DevEUI, *p.item, b)
	}
	return p, ok
}

// classAPlan builds a data downlink for the RX1 window after the uplink with
// an RX2 fallback, consuming one NFCntDown.
func (s *Server) classAPlan(ss *session, rx []uplink.RxInfo, ack bool, macs []lorawan.Payload, item *queueItem, fPending bool, b *batch) (txPlan, bool) {
	w, err := s.rxWindows(rx[0], rxParams{
		rx1DROffset: int(ss.RX1DROffset),
		rx2DR:       int(ss.RX2DR),
		rx2Freq:     s.rx2Freq(ss),
		rx1Delay:    time.Duration(max(ss.RXDelay, 1)) * time.Second,
	})
	if err != nil {
		if errors.Is(err, errUplinkDataRate) {
			s.log.Warn("no downlink: unknown uplink data rate", "dev_eui", ss.DevEUI.String(), "data_rate", rx[0].DataRate)
		}
		return txPlan{}, false
	}
	if item != nil {
		// The queued payload must fit the smaller of the RX1 and RX2 data
		// rates (FOpts included); otherwise it waits for a faster uplink.
		maxN := min(s.maxPayload(w.rx1DR), s.maxPayload(int(ss.RX2DR)))
		if _, n := fitFOpts(macs); len(item.Payload)+n > maxN {
			s.log.Info("queued downlink too large for this data rate, kept", "dev_eui", ss.DevEUI.String(), "id", item.ID, "max", maxN)
			item = nil
			if !ack && len(macs) == 0 {
				return txPlan{}, false
			}
		}
	}
	if !ack && item == nil && !s.mayTransmit(w) {
		// Only MAC commands to send and neither window's sub-band has room
		// for them: nothing is built, no NFCntDown is used and no command
		// counts as sent; they go with a later uplink.
		return txPlan{}, false
	}
	sel, packed, port0 := selectMAC(macs, item != nil, min(s.maxPayload(w.rx1DR), s.maxPayload(int(ss.RX2DR))))
	phy, err := s.dataDownlink(ss, ack, sel, packed, port0, item, fPending)
	if err != nil {
		s.log.Error("build downlink", "dev_eui", ss.DevEUI.String(), "err", err)
		return txPlan{}, false
	}
	s.markSent(ss, sel)
	b.touch(ss)
	return w.plan("data", ss.DevEUI, phy, item), true
}

// sendClassC transmits the head of each Class C device's queue immediately.
func (s *Server) sendClassC(ctx context.Context) {
	b := newBatch()
	var plans []txPlan
	now := s.now()
	s.mu.Lock()
	s.expireQueues(now, b)
	for eui, q := range s.queues {
		if p, ok := s.classCPlan(eui, q, now, b); ok {
			plans = append(plans, p)
		}
	}
	s.mu.Unlock()
	if !b.mutations {
		return
	}
	if err := s.state.commit(b.dirty, nil, nil, b.queue...); err != nil {
		s.log.Error("commit class c downlinks", "err", err)
		s.rollback(b)
		return
	}
	for _, p := range plans {
		s.transmit(ctx, p)
	}
}

// classCPlan builds the transmission of the head of q when the device is
// Class C, was heard and is past the RX windows of its last uplink.
func (s *Server) classCPlan(eui lorawan.EUI64, q []queueItem, now time.Time, b *batch) (txPlan, bool) {
	var zero lorawan.EUI64
	if len(q) == 0 || q[0].sent || now.Before(q[0].notBefore) {
		return txPlan{}, false
	}
	dev, ok := s.opts.Devices.Get(eui)
	ss := s.sessions[eui]
	if !ok || dev.Class != device.ClassC || ss == nil || ss.LastGateway == zero {
		return txPlan{}, false // waits for an uplink
	}
	if now.Sub(ss.LastSeen) < classCHoldoff {
		// The device may still listen in RX1/RX2 of its last uplink and
		// the gateway may have a downlink scheduled there; a later tick
		// sends this one.
		return txPlan{}, false
	}
	item := q[0]
	phy, err := s.dataDownlink(ss, false, nil, nil, false, &item, len(q) > 1)
	if err != nil {
		s.log.Error("build class c downlink", "dev_eui", eui.String(), "err", err)
		return txPlan{}, false
	}
	b.touch(ss)
	dl, err := s.classCWindow(ss, phy)
	if err != nil {
		return txPlan{}, false
	}
	s.afterItemSent(eui, item, b)
	return txPlan{kind: "data", item: &item, rx1: dl}, true
}

// dataDownlink encodes a LoRaWAN 1.0 data downlink with MAC commands in
// FOpts (clear text in 1.0), or, with port0, their packed bytes in an
// FPort 0 FRMPayload encrypted with the NwkSKey, and the queued
// application payload; it advances NFCntDown.
func (s *Server) dataDownlink(ss *session, ack bool, macs []lorawan.Payload, packed []byte, port0 bool, item *queueItem, fPending bool) ([]byte, error) {
	mtype := lorawan.UnconfirmedDataDown
	if item != nil && item.Confirmed {
		mtype = lorawan.ConfirmedDataDown
	}
	var fopts []lorawan.Payload
	if !port0 {
		fopts, _ = fitFOpts(macs)
	}
	mac := &lorawan.MACPayload{FHDR: lorawan.FHDR{
		DevAddr: ss.DevAddr,
		FCtrl:   lorawan.FCtrl{ACK: ack, FPending: fPending},
		FCnt:    ss.NFCntDown,
		FOpts:   fopts,
	}}
	phy := lorawan.PHYPayload{MHDR: lorawan.MHDR{MType: mtype, Major: lorawan.LoRaWANR1}, MACPayload: mac}
	if item != nil {
		fport := item.FPort
		mac.FPort = &fport
		mac.FRMPayload = []lorawan.Payload{&lorawan.DataPayload{Bytes: slices.Clone(item.Payload)}}
		if err := phy.EncryptFRMPayload(ss.AppSKey); err != nil {
			return nil, fmt.Errorf("encrypt frmpayload: %w", err)
		}
	} else if port0 {
		var zero uint8
		mac.FPort = &zero
		mac.FRMPayload = []lorawan.Payload{&lorawan.DataPayload{Bytes: slices.Clone(packed)}}
		if err := phy.EncryptFRMPayload(ss.NwkSKey); err != nil {
			return nil, fmt.Errorf("encrypt mac commands: %w", err)
		}
	}
	if err := phy.SetDownlinkDataMIC(lorawan.LoRaWAN1_0, 0, ss.NwkSKey); err != nil {
		return nil, fmt.Errorf("downlink mic: %w", err)
	}
	out, err := phy.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal downlink: %w", err)
	}
	ss.NFCntDown++
	return out, nil
}
