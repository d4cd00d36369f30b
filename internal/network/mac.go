package network

import (
	"fmt"
	"math"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/gps"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/uplink"
)

// MAC commands: the device's requests, from FOpts or FRMPayload on port 0,
// are answered in the FOpts of the next Class A downlink. Commands the
// server starts itself (ADR, status, channels, RX parameters) wait in the
// session's macState until the device answers them: macreq.go builds them,
// macadr.go runs ADR, takeAnswers below matches the answers.

// maxFOpts is the FOpts field's size: MAC commands beyond it are left out.
const maxFOpts = 15

// foptsCommands decodes the MAC commands in FOpts (clear text in 1.0); a
// frame with a valid MIC but undecodable commands is still the device's
// frame, so it counts.
func (s *Server) foptsCommands(phy *lorawan.PHYPayload, mac *lorawan.MACPayload, devEUI lorawan.EUI64) []lorawan.Payload {
	if len(mac.FHDR.FOpts) == 0 {
		return nil
	}
	if err := phy.DecodeFOptsToMACCommands(); err != nil {
		s.log.Debug("undecodable FOpts", "dev_eui", devEUI.String(), "err", err)
		return nil
	}
	return mac.FHDR.FOpts
}

// macUplink runs the MAC engine on a new uplink: answers to pending
// requests are committed, unanswered ones expire, ADR observes and
// decides, and the requests the session still needs are queued. It
// returns the commands of the downlink: the answers to the device's own
// requests, then every pending request.
func (s *Server) macUplink(ss *session, d device.Device, cmds []lorawan.Payload, up *uplink.Uplink) []lorawan.Payload {
	s.takeAnswers(ss, cmds, up)
	s.expireUnanswered(ss)
	s.adrUplink(ss, d, up)
	s.wantRequests(ss, s.now())
	return append(s.macAnswers(cmds, up), s.pendingPayloads(ss)...)
}

// macAnswers answers the device's MAC commands of the uplink.
func (s *Server) macAnswers(cmds []lorawan.Payload, up *uplink.Uplink) []lorawan.Payload {
	var out []lorawan.Payload
	for _, p := range cmds {
		c, ok := p.(*lorawan.MACCommand)
		if !ok {
			continue
		}
		switch c.CID {
		case lorawan.LinkCheckReq:
			out = append(out, linkCheckAns(up))
		case lorawan.DeviceTimeReq:
			out = append(out, &lorawan.MACCommand{CID: lorawan.DeviceTimeAns, Payload: &lorawan.DeviceTimeAnsPayload{
				TimeSinceGPSEpoch: gps.Time(up.Time).TimeSinceGPSEpoch(),
			}})
		case lorawan.LinkADRAns, lorawan.DutyCycleAns, lorawan.RXParamSetupAns, lorawan.DevStatusAns,
			lorawan.NewChannelAns, lorawan.RXTimingSetupAns:
			// Answers to our requests: takeAnswers has them.
		default:
			s.log.Debug("mac command not handled", "dev_eui", up.DevEUI.String(), "cid", c.CID.String())
		}
	}
	return out
}

// linkCheckAns reports the best reception's margin above the demodulation
// floor and how many gateways heard the uplink.
func linkCheckAns(up *uplink.Uplink) *lorawan.MACCommand {
	margin := 0.0
	if sf, _, ok := ParseLoRaDataRate(up.DataRate); ok {
		floor, _ := adr.DemodulationFloor(sf) // 0 for an SF outside 7..12, as before
		margin = up.RxInfo[0].SNR - floor
	}
	margin = math.Max(0, math.Min(254, math.Floor(margin)))
	return &lorawan.MACCommand{CID: lorawan.LinkCheckAns, Payload: &lorawan.LinkCheckAnsPayload{
		Margin: uint8(margin),
		GwCnt:  uint8(min(len(up.RxInfo), 255)),
	}}
}

// fitFOpts keeps the MAC commands that fit FOpts, in order, and returns
// their encoded length; the ones left out the device asks for again.
func fitFOpts(macs []lorawan.Payload) ([]lorawan.Payload, int) {
	var fopts []lorawan.Payload
	n := 0
	for _, m := range macs {
		b, err := m.MarshalBinary()
		if err != nil || n+len(b) > maxFOpts {
			continue
		}
		n += len(b)
		fopts = append(fopts, m)
	}
	return fopts, n
}

// reqOf maps an answer to the request it answers.
var reqOf = map[lorawan.CID]lorawan.CID{
	lorawan.LinkADRAns:       lorawan.LinkADRReq,
	lorawan.DutyCycleAns:     lorawan.DutyCycleReq,
	lorawan.RXParamSetupAns:  lorawan.RXParamSetupReq,
	lorawan.DevStatusAns:     lorawan.DevStatusReq,
	lorawan.NewChannelAns:    lorawan.NewChannelReq,
	lorawan.RXTimingSetupAns: lorawan.RXTimingSetupReq,
}

// Results of an answered MAC command (label "result").
const (
	macACK    = "ack"
	macNACK   = "nack" // followed by the refused parts, e.g. nack_ch_mask
	macStatus = "ok"
)

// takeAnswers matches the device's answers to the pending requests, in
// order, and commits what the device accepted. An answer nothing is
// pending for (a repeated RXTimingSetupAns, a late duplicate) is ignored.
func (s *Server) takeAnswers(ss *session, cmds []lorawan.Payload, up *uplink.Uplink) {
	for _, p := range cmds {
		c, ok := p.(*lorawan.MACCommand)
		if !ok {
			continue
		}
		req, ok := reqOf[c.CID]
		if !ok {
			continue
		}
		i := ss.MAC.pendingOf(req)
		if i < 0 {
			continue
		}
		pc := ss.MAC.Pending[i]
		ss.MAC.Pending = append(ss.MAC.Pending[:i:i], ss.MAC.Pending[i+1:]...)
		delete(ss.MAC.NotAnswering, pc.key()) // it answers again
		sent, err := pc.command()
		if err != nil {
			s.log.Error("pending MAC command", "dev_eui", ss.DevEUI.String(), "err", err)
			continue
		}
		result := s.applyAnswer(ss, sent, c, up)
		s.m.macAnswered.WithLabelValues(req.String(), result).Inc()
		s.log.Debug("mac answer", "dev_eui", ss.DevEUI.String(), "cid", req.String(), "result", result)
	}
}

// applyAnswer commits the part of the request sent that the answer ans
// accepted and returns the result label.
func (s *Server) applyAnswer(ss *session, sent lorawan.MACCommand, ans *lorawan.MACCommand, up *uplink.Uplink) string {
	switch p := ans.Payload.(type) {
	case *lorawan.LinkADRAnsPayload:
		return s.linkADRAns(ss, sent, p, up.FCnt)
	case *lorawan.RXParamSetupAnsPayload:
		return rxParamSetupAns(ss, sent, p)
	case *lorawan.NewChannelAnsPayload:
		return newChannelAns(ss, sent, p)
	case *lorawan.DevStatusAnsPayload:
		margin := devStatusMargin(p.Margin)
		ss.MAC.DevStatus = &devStatus{Battery: p.Battery, Margin: margin, Time: up.Time}
		up.MAC = &uplink.MACStatus{Battery: p.Battery, Margin: margin}
		return macStatus
	}
	switch sp := sent.Payload.(type) {
	case *lorawan.RXTimingSetupReqPayload:
		ss.RXDelay = sp.Delay
	case *lorawan.DutyCycleReqPayload:
		ss.MAC.DutyCycle = sp.MaxDCycle
	}
	return macACK
}

// devStatusMargin recovers the 6-bit signed margin (-32..31) from the
// library's decoding, which reads the whole byte: a device's RFU bits 6-7
// would otherwise turn into margins like -123 dB.
func devStatusMargin(m int8) int {
	raw := uint8(m)
	if m < 0 {
		raw = uint8(int(m) + 64)
	}
	raw &= 0x3f
	if raw >= 32 {
		return int(raw) - 64
	}
	return int(raw)
}

// ackBit is one ACK bit of an answer and the name it gets when refused.
type ackBit struct {
	ok   bool
	name string
}

// nackResult names the refused parts of an answer, in a fixed order.
func nackResult(parts ...ackBit) string {
	r := ""
	for _, p := range parts {
		if !p.ok {
			r += "_" + p.name
		}
	}
	if r == "" {
		return macACK
	}
	return macNACK + r
}

// rxParamSetupAns commits the RX parameters when all three were accepted;
// the device keeps all of its old ones otherwise.
func rxParamSetupAns(ss *session, sent lorawan.MACCommand, a *lorawan.RXParamSetupAnsPayload) string {
	r := nackResult(ackBit{a.ChannelACK, "channel"}, ackBit{a.RX2DataRateACK, "rx2_dr"}, ackBit{a.RX1DROffsetACK, "rx1_dr_offset"})
	if p, ok := sent.Payload.(*lorawan.RXParamSetupReqPayload); ok && r == macACK {
		ss.RX1DROffset, ss.RX2DR = p.DLSettings.RX1DROffset, p.DLSettings.RX2DataRate
		ss.MAC.RX2Freq = p.Frequency
	}
	return r
}

// newChannelAns records the channel when the device created it.
func newChannelAns(ss *session, sent lorawan.MACCommand, a *lorawan.NewChannelAnsPayload) string {
	r := nackResult(ackBit{a.ChannelFrequencyOK, "frequency"}, ackBit{a.DataRateRangeOK, "dr_range"})
	p, ok := sent.Payload.(*lorawan.NewChannelReqPayload)
	if !ok || r != macACK || p.ChIndex < firstExtraChannel {
		return r
	}
	i := int(p.ChIndex - firstExtraChannel)
	for len(ss.MAC.Channels) <= i {
		ss.MAC.Channels = append(ss.MAC.Channels, 0)
	}
	ss.MAC.Channels[i] = p.Freq
	return r
}

// expireUnanswered runs after takeAnswers: the requests still pending
// went out and this uplink did not answer them. Once one was sent
// 1+MACRetries times it is given up on; the others are sent again with
// this uplink's answer.
func (s *Server) expireUnanswered(ss *session) {
	keep := ss.MAC.Pending[:0]
	for _, p := range ss.MAC.Pending {
		if p.Sent <= s.opts.MACRetries {
			keep = append(keep, p)
			continue
		}
		if ss.MAC.NotAnswering == nil {
			ss.MAC.NotAnswering = map[string]string{}
		}
		ss.MAC.NotAnswering[p.cid().String()] = fmt.Sprintf("%x", p.Cmd)
		s.m.macUnanswered.WithLabelValues(p.cid().String()).Inc()
		s.log.Info("device does not answer MAC command", "dev_eui", ss.DevEUI.String(), "cid", p.cid().String(), "sent", p.Sent)
	}
	ss.MAC.Pending = keep
}
