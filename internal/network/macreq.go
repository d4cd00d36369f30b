package network

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/network/mac"
)

// firstExtraChannel is the index of the first channel beyond the band's
// three default channels (EU868): the CFList and NewChannelReq fill 3..7.
const firstExtraChannel = 3

// wantRequests queues the server-initiated commands whose target differs
// from what the device has acknowledged: DevStatusReq when its interval is
// up, RX parameters and timing, the configured extra channels and the duty
// cycle limit.
func (s *Server) wantRequests(ss *session, now time.Time) {
	if iv := s.opts.DevStatusInterval; iv > 0 && now.Sub(ss.MAC.DevStatusAsked) >= iv {
		if s.queueReq(ss, lorawan.MACCommand{CID: lorawan.DevStatusReq}) {
			ss.MAC.DevStatusAsked = now
		}
	}
	rx2Freq := s.opts.RX2Frequency
	if uint8(s.opts.RX1DROffset) != ss.RX1DROffset || uint8(s.opts.RX2DataRate) != ss.RX2DR || rx2Freq != s.rx2Freq(ss) {
		s.queueReq(ss, lorawan.MACCommand{CID: lorawan.RXParamSetupReq, Payload: &lorawan.RXParamSetupReqPayload{
			Frequency: rx2Freq,
			DLSettings: lorawan.DLSettings{
				RX2DataRate: uint8(s.opts.RX2DataRate),
				RX1DROffset: uint8(s.opts.RX1DROffset),
			},
		}})
	}
	// RxDelay 0 means 1 s for the device, so both stand for one second.
	if delay := uint8(s.opts.RX1Delay / time.Second); delay != max(ss.RXDelay, 1) {
		s.queueReq(ss, lorawan.MACCommand{CID: lorawan.RXTimingSetupReq, Payload: &lorawan.RXTimingSetupReqPayload{Delay: delay}})
	}
	for i, f := range s.opts.ExtraChannels {
		if i < len(ss.MAC.Channels) && ss.MAC.Channels[i] == f {
			continue
		}
		s.queueReq(ss, lorawan.MACCommand{CID: lorawan.NewChannelReq, Payload: &lorawan.NewChannelReqPayload{
			ChIndex: uint8(firstExtraChannel + i), Freq: f, MinDR: 0, MaxDR: 5,
		}})
	}
	if dc := uint8(s.opts.MaxDutyCycle); dc != ss.MAC.DutyCycle {
		s.queueReq(ss, lorawan.MACCommand{CID: lorawan.DutyCycleReq, Payload: &lorawan.DutyCycleReqPayload{MaxDCycle: dc}})
	}
}

// rx2Freq is the RX2 frequency the device uses.
func (s *Server) rx2Freq(ss *session) uint32 {
	if ss.MAC.RX2Freq != 0 {
		return ss.MAC.RX2Freq
	}
	return s.band.GetDefaults().RX2Frequency
}

// queueReq adds cmd to the pending commands unless a request of its kind
// is pending already or the device was given up on for this very request.
// It reports whether cmd was added.
func (s *Server) queueReq(ss *session, cmd lorawan.MACCommand) bool {
	b, _, err := mac.Pack([]lorawan.MACCommand{cmd})
	if err != nil {
		s.log.Error("build MAC command", "dev_eui", ss.DevEUI.String(), "cid", cmd.CID.String(), "err", err)
		return false
	}
	pc := pendingCmd{Cmd: b}
	key := pc.key()
	for _, p := range ss.MAC.Pending {
		if p.key() == key {
			return false
		}
	}
	// DevStatusReq has its interval as retry schedule; every other request
	// waits for a changed target.
	if cmd.CID != lorawan.DevStatusReq && ss.MAC.NotAnswering[key] == fmt.Sprintf("%x", b) {
		return false
	}
	ss.MAC.Pending = append(ss.MAC.Pending, pc)
	return true
}

// key names what a pending command sets: its CID, and for NewChannelReq
// the channel, so each channel has its own retries.
func (p pendingCmd) key() string {
	if p.cid() == lorawan.NewChannelReq && len(p.Cmd) > 1 {
		// On the uplink path for every pending command: no fmt.
		return p.cid().String() + "#" + strconv.Itoa(int(p.Cmd[1]))
	}
	return p.cid().String()
}

// pendingPayloads returns the pending commands for a downlink, after the
// answers to the device's own requests.
func (s *Server) pendingPayloads(ss *session) []lorawan.Payload {
	out := make([]lorawan.Payload, 0, len(ss.MAC.Pending))
	for _, p := range ss.MAC.Pending {
		c, err := p.command()
		if err != nil {
			s.log.Error("pending MAC command", "dev_eui", ss.DevEUI.String(), "err", err)
			continue
		}
		out = append(out, &c)
	}
	return out
}

// selectMAC picks the MAC commands of a downlink: all of them in FOpts when
// they fit; otherwise, in a downlink without application payload, as many
// as fit limit bytes in an FPort 0 FRMPayload; else those fitting FOpts.
func selectMAC(macs []lorawan.Payload, withItem bool, limit int) (sel []lorawan.Payload, packed []byte, port0 bool) {
	var all []byte
	for _, m := range macs {
		b, err := m.MarshalBinary()
		if err != nil {
			continue
		}
		if len(all)+len(b) > max(limit, mac.MaxFOpts) {
			break
		}
		all = append(all, b...)
		sel = append(sel, m)
	}
	if len(all) <= mac.MaxFOpts {
		return sel, all, false
	}
	if !withItem {
		return sel, all, true
	}
	sel, _ = fitFOpts(macs)
	return sel, nil, false
}

// markSent counts a transmission of every pending command in sel.
func (s *Server) markSent(ss *session, sel []lorawan.Payload) {
	for _, m := range sel {
		b, err := m.MarshalBinary()
		if err != nil {
			continue
		}
		for i := range ss.MAC.Pending {
			if bytes.Equal(ss.MAC.Pending[i].Cmd, b) {
				ss.MAC.Pending[i].Sent++
				s.m.macSent.WithLabelValues(ss.MAC.Pending[i].cid().String()).Inc()
				break
			}
		}
	}
}
