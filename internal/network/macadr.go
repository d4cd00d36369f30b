package network

import (
	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/uplink"
)

// ADRPolicy gives a device's ADR switch and limits, e.g. from its profile
// (adr: on|off, min/max DR, margin). Without one every device uses ADR with
// the band's full range and the network's margin.
type ADRPolicy interface {
	ADRLimits(d device.Device, def adr.Limits) (on bool, l adr.Limits)
}

// adrLimits returns whether ADR steers the device and within which limits.
func (s *Server) adrLimits(d device.Device) (bool, adr.Limits) {
	l := adr.DefaultLimits(s.adrBand)
	l.Margin = s.opts.ADR.MarginDB
	if s.opts.ADRPolicy == nil {
		return true, l
	}
	return s.opts.ADRPolicy.ADRLimits(d, l)
}

// adrUplink feeds the uplink to the device's ADR state and, when the
// device asked for ADR (FCtrl.ADR) and the policy allows it, queues the
// LinkADRReq for the setting the algorithm decides on.
func (s *Server) adrUplink(ss *session, d device.Device, up *uplink.Uplink) {
	dr, err := dataRateIndex(s.band, up.DataRate)
	if err != nil || dr >= len(s.adrBand.RequiredSNR) {
		return // not a LoRa 125 kHz rate ADR moves between
	}
	ss.MAC.ADRBit = up.ADR
	st := &ss.MAC.ADR
	pending := ss.MAC.pendingOf(lorawan.LinkADRReq) >= 0
	switch {
	case !ss.MAC.ADRKnown:
		*st = adr.NewState(adr.Setting{DR: dr, NbTrans: 1})
		ss.MAC.ADRKnown = true
	case dr != st.Setting.DR && !pending:
		// The device changed its rate itself (ADR backoff, or ADR off).
		set := st.Setting
		set.DR = dr
		st.Apply(set, up.FCnt)
	}
	st.Observe(adr.Uplink{
		FCnt: up.FCnt, DR: dr, TXPowerIndex: st.Setting.TXPowerIndex,
		SNR: up.RxInfo[0].SNR + float64(st.Setting.TXPowerIndex)*s.adrBand.TXPowerStepDB,
	})
	on, limits := s.adrLimits(d)
	if !up.ADR || !on || pending {
		return
	}
	if n := ss.MAC.ADRNack; n != nil && up.FCnt-n.FCnt < adr.HistoryLen {
		return // a device that just refused is not asked again at once
	}
	dec, ok := s.adrAlg.Decide(st, s.adrBand, limits)
	if !ok || dec.Setting == st.Setting || (ss.MAC.ADRNack != nil && ss.MAC.ADRNack.Setting == dec.Setting) {
		return
	}
	s.log.Debug("adr", "dev_eui", ss.DevEUI.String(), "dr", dec.DR, "tx_power", dec.TXPowerIndex, "nb_trans", dec.NbTrans, "reason", dec.Reason)
	s.queueReq(ss, lorawan.MACCommand{CID: lorawan.LinkADRReq, Payload: &lorawan.LinkADRReqPayload{
		DataRate:   uint8(dec.DR),
		TXPower:    uint8(dec.TXPowerIndex),
		ChMask:     s.chMask(ss),
		Redundancy: lorawan.Redundancy{NbRep: uint8(max(dec.NbTrans, 1))},
	}})
}

// chMask enables the band's default channels and the extra channels the
// device has: a channel it does not know would make it refuse the mask.
func (s *Server) chMask(ss *session) lorawan.ChMask {
	bits := uint32(1)<<firstExtraChannel - 1
	for i, f := range ss.MAC.Channels {
		if f != 0 {
			bits |= 1 << (firstExtraChannel + i)
		}
	}
	var m lorawan.ChMask
	for i := range m {
		m[i] = bits&(1<<i) != 0
	}
	return m
}

// linkADRAns commits the requested setting only when the device accepted
// channel mask, data rate and power; a refused setting is remembered so
// ADR does not ask for it again and again.
func (s *Server) linkADRAns(ss *session, sent lorawan.MACCommand, a *lorawan.LinkADRAnsPayload, fcnt uint32) string {
	r := nackResult(ackBit{a.ChannelMaskACK, "ch_mask"}, ackBit{a.DataRateACK, "dr"}, ackBit{a.PowerACK, "power"})
	p, ok := sent.Payload.(*lorawan.LinkADRReqPayload)
	if !ok {
		return r
	}
	set := adr.Setting{DR: int(p.DataRate), TXPowerIndex: int(p.TXPower), NbTrans: max(int(p.Redundancy.NbRep), 1)}
	if r != macACK {
		ss.MAC.ADRNack = &adrNack{Setting: set, FCnt: fcnt}
		return r
	}
	ss.MAC.ADR.Apply(set, fcnt)
	ss.MAC.ADRNack = nil
	var bits uint16
	for i, on := range p.ChMask {
		if on {
			bits |= 1 << i
		}
	}
	ss.MAC.ChMask = bits
	return r
}
