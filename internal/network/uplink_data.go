package network

import (
	"slices"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/uplink"
)

// processData takes a data uplink through its steps: the session whose MIC
// matches, the counter rules, the session update, decryption, the uplink
// handed on and the Class A answer.
func (s *Server) processData(e *dedupEntry, phy *lorawan.PHYPayload, b *batch) outcome {
	mac, ok := phy.MACPayload.(*lorawan.MACPayload)
	if !ok {
		return outcome{result: resultDecodeError}
	}
	m, result := s.matchSession(phy, mac)
	if result != "" {
		return outcome{result: result}
	}
	ss := m.ss
	// Decryption uses the full counter of the matching MIC.
	mac.FHDR.FCnt = m.fcnt
	out := outcome{devEUI: ss.DevEUI}
	confirmed := phy.MHDR.MType == lorawan.ConfirmedDataUp
	if m.fresh {
		s.addSession(ss, b)
	}
	switch kind, result := s.pastFrame(m, e, b); kind {
	case pastAccepted:
		return s.pastUplink(m, phy, mac, e, b)
	case pastRefused, pastAttached:
		out.result, out.waits = result, kind == pastAttached
		return out
	}
	if out.result, out.tx = s.checkCounter(m, confirmed, e, b); out.result != "" {
		return out
	}
	s.acceptUplink(m, e.rx, b)
	out.result, out.confirmed, out.fcnt = resultOK, confirmed, m.fcnt

	cmds := s.foptsCommands(phy, mac, ss.DevEUI)
	fport, payload, portCmds := s.decrypt(phy, mac, ss)
	cmds = append(slices.Clip(cmds), portCmds...) // never into the frame's FOpts
	up := newUplink(e, ss.DevEUI, mac, confirmed, fport, payload)
	answers := s.macUplink(ss, m.dev, cmds, up)
	// ADRACKReq asks for any downlink, an empty one if nothing else.
	must := confirmed || mac.FHDR.FCtrl.ADRACKReq
	if p, ok := s.answerClassA(ss, e.rx, must, confirmed, answers, mac.FHDR.FCtrl.ACK, b); ok {
		if confirmed {
			p.holdAck(m.fcnt, e.first, ss.RXDelay)
		}
		out.tx = append(out.tx, p)
	}
	if fport != 0 || len(payload) > 0 || up.MAC != nil {
		out.up = up
		s.markUndurable(ss, m.fcnt, b)
	}
	return out
}

// sessionMatch is the session a frame's MIC proved and the full frame
// counter it proved it with.
type sessionMatch struct {
	ss     *session
	dev    device.Device
	fcnt   uint32
	replay bool // the MIC matched an already used counter
	fresh  bool // ss is a registry ABP device's first session
}

// matchSession picks the session by MIC; nothing is changed before a MIC
// matched. Registry ABP devices without a session yet are tried only when
// no stored session matches, which keeps the registry scan off the hot
// path. A failed match returns its result.
func (s *Server) matchSession(phy *lorawan.PHYPayload, mac *lorawan.MACPayload) (sessionMatch, string) {
	addr := mac.FHDR.DevAddr
	f16 := mac.FHDR.FCnt & 0xffff
	known := s.byAddr[addr]
	if m, ok := s.micMatchAny(known, phy, mac, f16); ok {
		return m, ""
	}
	abp := s.abpSessions(addr)
	if m, ok := s.micMatchAny(abp, phy, mac, f16); ok {
		m.fresh = true
		return m, ""
	}
	if len(known) == 0 && len(abp) == 0 {
		return sessionMatch{}, resultUnknownDevAddr
	}
	return sessionMatch{}, resultMICInvalid
}

// micMatchAny returns the first candidate whose key makes the MIC valid for
// one of the counters the 16-bit field may stand for.
func (s *Server) micMatchAny(candidates []*session, phy *lorawan.PHYPayload, mac *lorawan.MACPayload, f16 uint32) (sessionMatch, bool) {
	for _, c := range candidates {
		d, ok := s.opts.Devices.Get(c.DevEUI)
		if !ok {
			continue
		}
		next, old, hasOld, plain := fcntCandidates(c, f16, d.SkipFCntCheck)
		switch {
		case micMatch(phy, mac, c.NwkSKey, next):
			return sessionMatch{ss: c, dev: d, fcnt: next}, true
		case hasOld && micMatch(phy, mac, c.NwkSKey, old):
			return sessionMatch{ss: c, dev: d, fcnt: old, replay: !d.SkipFCntCheck}, true
		case plain && micMatch(phy, mac, c.NwkSKey, f16):
			return sessionMatch{ss: c, dev: d, fcnt: f16}, true
		}
	}
	return sessionMatch{}, false
}

// micMatch tells whether the frame's MIC is valid for the full counter fcnt.
func micMatch(phy *lorawan.PHYPayload, mac *lorawan.MACPayload, key lorawan.AES128Key, fcnt uint32) bool {
	mac.FHDR.FCnt = fcnt
	ok, err := phy.ValidateUplinkDataMIC(lorawan.LoRaWAN1_0, 0, 0, 0, key, key)
	return err == nil && ok
}

// fcntCandidates returns the 32-bit counters the 16-bit field may stand for:
// the first one after (or equal to) the last accepted counter, with rollover
// past 65535, and the latest one below it, which tells a replayed frame
// (valid MIC, old counter) from a forgery.
func fcntCandidates(ss *session, f16 uint32, skipCheck bool) (next uint32, old uint32, hasOld bool, plain bool) {
	if !ss.HasUp {
		return f16, 0, false, false
	}
	base := ss.FCntUp&^0xffff | f16
	switch {
	case base < ss.FCntUp && base+0x10000 > base:
		return base + 0x10000, base, true, skipCheck
	case base < ss.FCntUp: // 32-bit counter exhausted
		return base, base, false, skipCheck
	case base > ss.FCntUp && base >= 0x10000:
		return base, base - 0x10000, true, skipCheck
	default:
		return base, 0, false, skipCheck
	}
}

// checkCounter applies the counter rules to a frame whose MIC matched: a
// replay or a counter jump beyond MaxFCntGap is rejected, a retransmission
// is answered at most once more, and only when its first copy is or may
// still become durable, but never handed on. It returns "" for a new frame.
func (s *Server) checkCounter(m sessionMatch, confirmed bool, e *dedupEntry, b *batch) (string, []txPlan) {
	ss := m.ss
	if m.replay {
		return resultReplay, nil
	}
	if ss.HasUp && m.fcnt == ss.FCntUp {
		// A retransmission: the device did not get our answer. Answer a
		// confirmed one once more with an ACK but never hand it on twice.
		var tx []txPlan
		if confirmed && !ss.ReAcked && s.ackable(ss.DevEUI, m.fcnt) {
			ss.ReAcked = true
			b.touch(ss)
			if p, ok := s.classAPlan(ss, e.rx, true, nil, nil, false, b); ok {
				p.holdAck(m.fcnt, e.first, ss.RXDelay)
				tx = append(tx, p)
			}
		}
		return resultRetransmission, tx
	}
	// A session's first uplink has no reference counter: an ABP device may
	// have been counting for a long time before it was registered here.
	if ss.HasUp && !m.dev.SkipFCntCheck && m.fcnt-ss.FCntUp > s.opts.MaxFCntGap {
		return resultFCntGap, nil
	}
	return "", nil
}

// acceptUplink advances the session to the frame's counter and records
// where the device was heard.
func (s *Server) acceptUplink(m sessionMatch, rx []uplink.RxInfo, b *batch) {
	ss := m.ss
	if !ss.prev && !ss.HasUp {
		// The device uses its new session: the old one is done.
		s.dropPrev(ss.DevEUI, b)
	}
	if ss.HasUp && m.fcnt > ss.FCntUp {
		ss.Window = advanceWindow(ss.Window, m.fcnt-ss.FCntUp)
	} else {
		ss.Window = fcntBits{}
	}
	ss.FCntUp, ss.HasUp, ss.ReAcked = m.fcnt, true, false
	ss.LastGateway = rx[0].GatewayID
	ss.LastSeen = s.now()
	ss.LastRSSI, ss.LastSNR, ss.LastGateways = rx[0].RSSI, rx[0].SNR, len(rx)
	ss.Class = classOf(m.dev)
	b.touch(ss)
}

// decrypt decrypts the FRMPayload after the MIC check: the application
// payload, or MAC commands on port 0. A frame with a valid MIC but an
// undecodable payload is still the device's frame, so it counts.
func (s *Server) decrypt(phy *lorawan.PHYPayload, mac *lorawan.MACPayload, ss *session) (fport uint8, payload []byte, cmds []lorawan.Payload) {
	if mac.FPort == nil {
		return 0, nil, nil
	}
	fport = *mac.FPort
	key := ss.AppSKey
	if fport == 0 {
		key = ss.NwkSKey
	}
	if err := phy.DecryptFRMPayload(key); err != nil {
		s.log.Debug("undecodable FRMPayload", "dev_eui", ss.DevEUI.String(), "f_port", fport, "err", err)
	} else if fport == 0 {
		cmds = mac.FRMPayload
	} else if len(mac.FRMPayload) == 1 {
		if dp, ok := mac.FRMPayload[0].(*lorawan.DataPayload); ok {
			payload = dp.Bytes
		}
	}
	return fport, payload, cmds
}

// newUplink builds the uplink handed on from the frame's receptions (best
// SNR first) and its decrypted payload.
func newUplink(e *dedupEntry, devEUI lorawan.EUI64, mac *lorawan.MACPayload, confirmed bool, fport uint8, payload []byte) *uplink.Uplink {
	return &uplink.Uplink{
		DevEUI:    devEUI,
		DevAddr:   mac.FHDR.DevAddr,
		FPort:     fport,
		FCnt:      mac.FHDR.FCnt,
		Confirmed: confirmed,
		ADR:       mac.FHDR.FCtrl.ADR,
		Payload:   payload,
		RxInfo:    e.rx,
		Frequency: e.rx[0].Frequency,
		DataRate:  e.rx[0].DataRate,
		Time:      uplinkTime(e),
	}
}

// uplinkTime is the GPS time of the best reception that has one, else the
// earliest gateway ReceivedAt, else when the first copy reached the server.
func uplinkTime(e *dedupEntry) time.Time {
	t := e.first
	if !e.rx[0].ReceivedAt.IsZero() {
		t = e.rx[0].ReceivedAt
		for _, r := range e.rx {
			if !r.ReceivedAt.IsZero() && r.ReceivedAt.Before(t) {
				t = r.ReceivedAt
			}
		}
	}
	for _, r := range e.rx {
		if r.Time != nil {
			return *r.Time
		}
	}
	return t
}
