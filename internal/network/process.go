package network

import (
	"context"
	"crypto/aes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"
	"github.com/brocaar/lorawan/gps"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/uplink"
)

// batch collects the state changes and outputs of the frames whose dedup
// windows closed in one tick, so their durable writes share one bbolt
// transaction (group commit) that completes before anything is handed on.
type batch struct {
	dirty     []*session
	dirtySet  map[*session]struct{}
	joins     map[lorawan.EUI64]*joinState
	outs      []outcome
	requeue   []requeue
	dropPrev  []lorawan.EUI64
	mutations bool
}

type requeue struct {
	eui  lorawan.EUI64
	item queueItem
}

type outcome struct {
	join   bool
	result string
	up     *uplink.Uplink
	tx     []txPlan
	devEUI lorawan.EUI64
}

type txPlan struct {
	item *queueItem // the queued payload carried, if any
	kind string     // "join_accept" or "data"
	rx1  Downlink
	rx2  *Downlink // fallback when RX1 is rejected
}

func (b *batch) touch(ss *session) {
	b.mutations = true
	if _, ok := b.dirtySet[ss]; ok {
		return
	}
	b.dirtySet[ss] = struct{}{}
	b.dirty = append(b.dirty, ss)
}

func (s *Server) processBatch(ctx context.Context, due []*dedupEntry) {
	b := &batch{dirtySet: make(map[*session]struct{}), joins: make(map[lorawan.EUI64]*joinState)}
	s.mu.Lock()
	for _, e := range due {
		b.outs = append(b.outs, s.processEntry(e, b))
	}
	s.mu.Unlock()

	if b.mutations {
		start := time.Now()
		err := s.state.commit(b.dirty, b.joins, b.dropPrev)
		s.m.commitSeconds.Observe(time.Since(start).Seconds())
		if err != nil {
			s.log.Error("commit failed, frames of this batch are not handed on", "err", err, "frames", len(due))
			s.rollback(b)
			for _, o := range b.outs {
				if o.up != nil || len(o.tx) > 0 || o.result == resultOK {
					o.result, o.up, o.tx = resultStoreError, nil, nil
				}
				s.count(o)
			}
			return
		}
	}
	for _, o := range b.outs {
		s.count(o)
		for _, p := range o.tx {
			s.transmit(ctx, p)
		}
		if o.up != nil && s.opts.Handler != nil {
			if err := s.opts.Handler.HandleUplink(ctx, *o.up); err != nil {
				s.m.handlerErrors.Inc()
				s.log.Warn("uplink handler failed", "dev_eui", o.up.DevEUI.String(), "f_cnt", o.up.FCnt, "err", err)
			}
		}
	}
}

func (s *Server) count(o outcome) {
	if o.join {
		s.m.joins.WithLabelValues(o.result).Inc()
		return
	}
	s.m.uplinks.WithLabelValues(o.result).Inc()
}

// rollback makes memory match the store again after a failed commit: the
// sessions are reloaded and the join cache dropped. If even the reload fails
// the advanced counters stay, which errs on the side of rejecting frames.
func (s *Server) rollback(b *batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range b.requeue {
		s.queues[r.eui] = append([]queueItem{r.item}, s.queues[r.eui]...)
	}
	clear(s.joins)
	sessions, err := s.state.loadSessions()
	if err != nil {
		s.log.Error("reload sessions after failed commit", "err", err)
		return
	}
	clear(s.sessions)
	clear(s.prev)
	clear(s.byAddr)
	s.index(sessions)
}

// index makes loaded sessions findable by DevEUI and DevAddr.
func (s *Server) index(sessions []*session) {
	for _, ss := range sessions {
		if ss.prev {
			s.prev[ss.DevEUI] = ss
		} else {
			s.sessions[ss.DevEUI] = ss
		}
		s.byAddr[ss.DevAddr] = append(s.byAddr[ss.DevAddr], ss)
	}
}

func (s *Server) processEntry(e *dedupEntry, b *batch) outcome {
	// Best SNR first: the downlink goes through rx[0].
	slices.SortStableFunc(e.rx, func(x, y uplink.RxInfo) int {
		switch {
		case x.SNR > y.SNR:
			return -1
		case x.SNR < y.SNR:
			return 1
		}
		return 0
	})
	var phy lorawan.PHYPayload
	if err := phy.UnmarshalBinary(e.phy); err != nil {
		return outcome{result: resultDecodeError}
	}
	if phy.MHDR.Major != lorawan.LoRaWANR1 {
		return outcome{result: resultDecodeError}
	}
	switch phy.MHDR.MType {
	case lorawan.JoinRequest:
		return s.processJoin(e, &phy, b)
	case lorawan.UnconfirmedDataUp, lorawan.ConfirmedDataUp:
		return s.processData(e, &phy, b)
	default:
		return outcome{result: resultDecodeError}
	}
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

func (s *Server) processData(e *dedupEntry, phy *lorawan.PHYPayload, b *batch) outcome {
	mac, ok := phy.MACPayload.(*lorawan.MACPayload)
	if !ok {
		return outcome{result: resultDecodeError}
	}
	addr := mac.FHDR.DevAddr
	f16 := mac.FHDR.FCnt & 0xffff

	// Pick the session by MIC; nothing is changed before a MIC matched.
	// Registry ABP devices without a session yet are tried only when no
	// stored session matches, which keeps the registry scan off the hot path.
	var (
		ss     *session
		dev    device.Device
		fcnt   uint32
		replay bool
		fresh  bool
	)
	match := func(candidates []*session) {
		for _, c := range candidates {
			d, ok := s.opts.Devices.Get(c.DevEUI)
			if !ok {
				continue
			}
			next, old, hasOld, plain := fcntCandidates(c, f16, d.SkipFCntCheck)
			switch {
			case micMatch(phy, mac, c.NwkSKey, next):
				ss, dev, fcnt = c, d, next
			case hasOld && micMatch(phy, mac, c.NwkSKey, old):
				ss, dev, fcnt, replay = c, d, old, !d.SkipFCntCheck
			case plain && micMatch(phy, mac, c.NwkSKey, f16):
				ss, dev, fcnt = c, d, f16
			}
			if ss != nil {
				return
			}
		}
	}
	known := s.byAddr[addr]
	match(known)
	if ss == nil {
		abp := s.abpSessions(addr)
		match(abp)
		fresh = ss != nil
		if len(known) == 0 && len(abp) == 0 {
			return outcome{result: resultUnknownDevAddr}
		}
	}
	if ss == nil {
		return outcome{result: resultMICInvalid}
	}
	// Decryption uses the full counter of the matching MIC.
	mac.FHDR.FCnt = fcnt
	out := outcome{devEUI: ss.DevEUI}
	confirmed := phy.MHDR.MType == lorawan.ConfirmedDataUp

	if fresh {
		s.addSession(ss, b)
	}
	if replay {
		out.result = resultReplay
		return out
	}
	if ss.HasUp && fcnt == ss.FCntUp {
		// A retransmission: the device did not get our answer. Answer a
		// confirmed one once more with an ACK but never hand it on twice.
		out.result = resultRetransmission
		if confirmed && !ss.ReAcked {
			ss.ReAcked = true
			b.touch(ss)
			if p, ok := s.classAPlan(ss, e.rx, true, nil, nil, false, b); ok {
				out.tx = append(out.tx, p)
			}
		}
		return out
	}
	// A session's first uplink has no reference counter: an ABP device may
	// have been counting for a long time before it was registered here.
	if ss.HasUp && !dev.SkipFCntCheck && fcnt-ss.FCntUp > s.opts.MaxFCntGap {
		out.result = resultFCntGap
		return out
	}

	if !ss.prev && !ss.HasUp {
		// The device uses its new session: the old one is done.
		s.dropPrev(ss.DevEUI, b)
	}
	ss.FCntUp, ss.HasUp, ss.ReAcked = fcnt, true, false
	ss.LastGateway = e.rx[0].GatewayID
	ss.LastSeen = s.now()
	ss.LastRSSI, ss.LastSNR, ss.LastGateways = e.rx[0].RSSI, e.rx[0].SNR, len(e.rx)
	ss.Class = classOf(dev)
	b.touch(ss)
	out.result = resultOK

	// Decrypt and decode after the MIC check. A frame with a valid MIC but
	// undecodable MAC commands is still the device's frame, so it counts.
	var cmds []lorawan.Payload
	if len(mac.FHDR.FOpts) > 0 {
		if err := phy.DecodeFOptsToMACCommands(); err != nil {
			s.log.Debug("undecodable FOpts", "dev_eui", ss.DevEUI.String(), "err", err)
		} else {
			cmds = append(cmds, mac.FHDR.FOpts...)
		}
	}
	var payload []byte
	var fport uint8
	if mac.FPort != nil {
		fport = *mac.FPort
		key := ss.AppSKey
		if fport == 0 {
			key = ss.NwkSKey
		}
		if err := phy.DecryptFRMPayload(key); err != nil {
			s.log.Debug("undecodable FRMPayload", "dev_eui", ss.DevEUI.String(), "f_port", fport, "err", err)
		} else if fport == 0 {
			cmds = append(cmds, mac.FRMPayload...)
		} else if len(mac.FRMPayload) == 1 {
			if dp, ok := mac.FRMPayload[0].(*lorawan.DataPayload); ok {
				payload = dp.Bytes
			}
		}
	}

	up := &uplink.Uplink{
		DevEUI:    ss.DevEUI,
		DevAddr:   addr,
		FPort:     fport,
		FCnt:      fcnt,
		Confirmed: confirmed,
		ADR:       mac.FHDR.FCtrl.ADR,
		Payload:   payload,
		RxInfo:    e.rx,
		Frequency: e.rx[0].Frequency,
		DataRate:  e.rx[0].DataRate,
		Time:      e.first,
	}
	if !e.rx[0].ReceivedAt.IsZero() {
		up.Time = e.rx[0].ReceivedAt
		for _, r := range e.rx {
			if !r.ReceivedAt.IsZero() && r.ReceivedAt.Before(up.Time) {
				up.Time = r.ReceivedAt
			}
		}
	}
	for _, r := range e.rx {
		if r.Time != nil {
			up.Time = *r.Time
			break
		}
	}

	answers := s.macAnswers(cmds, up)

	// Downlink queue: a confirmed downlink stays at the head until the
	// device acknowledges it (ACK bit in an uplink).
	var item *queueItem
	q := s.queues[ss.DevEUI]
	if len(q) > 0 && q[0].sent && mac.FHDR.FCtrl.ACK {
		q = q[1:]
		s.queues[ss.DevEUI] = q
	}
	if len(q) > 0 {
		head := q[0]
		if head.sent {
			head.attempts++
		}
		if head.attempts >= maxConfirmedAttempts {
			s.log.Warn("confirmed downlink not acknowledged, dropped", "dev_eui", ss.DevEUI.String(), "id", head.ID)
			q = q[1:]
			s.queues[ss.DevEUI] = q
		} else {
			item = &head
		}
	}
	if confirmed || len(answers) > 0 || item != nil {
		if p, ok := s.classAPlan(ss, e.rx, confirmed, answers, item, len(q) > 1, b); ok {
			out.tx = append(out.tx, p)
			if p.item != nil {
				s.afterItemSent(ss.DevEUI, *p.item, b)
			}
		}
	}
	if fport != 0 || len(payload) > 0 {
		out.up = up
	}
	return out
}

const maxConfirmedAttempts = 4

// afterItemSent pops an unconfirmed item or marks a confirmed one as waiting
// for the device's ACK.
func (s *Server) afterItemSent(eui lorawan.EUI64, it queueItem, b *batch) {
	q := s.queues[eui]
	if len(q) == 0 || q[0].ID != it.ID {
		return
	}
	if it.Confirmed {
		q[0].sent = true
		q[0].attempts = it.attempts
		return
	}
	// Popped: put back if the batch's commit fails and nothing is sent.
	b.requeue = append(b.requeue, requeue{eui: eui, item: q[0]})
	s.queues[eui] = q[1:]
}

func classOf(d device.Device) device.Class {
	if d.Class == device.ClassC {
		return device.ClassC
	}
	return device.ClassA
}

// abpSessions builds sessions for the registry's ABP devices using addr; they
// are stored only once a frame's MIC proves one of them. Frames of foreign
// networks end here, so the registry is indexed by DevAddr and the index
// rebuilt at most every abpIndexTTL (a new ABP device is known within it).
func (s *Server) abpSessions(addr lorawan.DevAddr) []*session {
	if now := time.Now(); s.abpIndex == nil || now.Sub(s.abpIndexAt) > abpIndexTTL {
		s.abpIndex = make(map[lorawan.DevAddr][]lorawan.EUI64)
		for _, d := range s.opts.Devices.List() {
			if d.Activation == device.ABP {
				s.abpIndex[d.DevAddr] = append(s.abpIndex[d.DevAddr], d.DevEUI)
			}
		}
		s.abpIndexAt = now
	}
	var out []*session
	def := s.band.GetDefaults()
	for _, eui := range s.abpIndex[addr] {
		d, ok := s.opts.Devices.Get(eui)
		if !ok || d.Activation != device.ABP || d.DevAddr != addr {
			continue
		}
		if _, ok := s.sessions[d.DevEUI]; ok {
			continue
		}
		out = append(out, &session{
			DevEUI:  d.DevEUI,
			DevAddr: d.DevAddr,
			NwkSKey: d.NwkSKey,
			AppSKey: d.AppSKey,
			// An ABP device keeps its firmware's defaults.
			RX2DR:   uint8(def.RX2DataRate),
			RXDelay: uint8(def.ReceiveDelay1 / time.Second),
			Class:   classOf(d),
			ABP:     true,
		})
	}
	return out
}

const abpIndexTTL = 10 * time.Second

// addSession registers ss as the device's session. The replaced session is
// kept as the previous one until ss proves itself with an uplink.
func (s *Server) addSession(ss *session, b *batch) {
	if old, ok := s.sessions[ss.DevEUI]; ok {
		s.dropPrev(ss.DevEUI, b)
		if old.HasUp {
			old.prev = true
			s.prev[ss.DevEUI] = old
			b.touch(old)
		} else {
			// Never used: nothing to fall back to.
			s.unindex(old)
		}
	}
	s.sessions[ss.DevEUI] = ss
	s.byAddr[ss.DevAddr] = append(s.byAddr[ss.DevAddr], ss)
	b.touch(ss)
}

// dropPrev forgets the device's previous session.
func (s *Server) dropPrev(eui lorawan.EUI64, b *batch) {
	p, ok := s.prev[eui]
	if !ok {
		return
	}
	delete(s.prev, eui)
	s.unindex(p)
	b.dropPrev = append(b.dropPrev, eui)
	b.mutations = true
}

func (s *Server) unindex(ss *session) {
	list := slices.DeleteFunc(s.byAddr[ss.DevAddr], func(x *session) bool { return x == ss })
	if len(list) == 0 {
		delete(s.byAddr, ss.DevAddr)
	} else {
		s.byAddr[ss.DevAddr] = list
	}
}

// requiredSNR is the demodulation floor per spreading factor (SX127x/SX130x
// datasheets), used for the LinkCheckAns margin.
var requiredSNR = map[int]float64{7: -7.5, 8: -10, 9: -12.5, 10: -15, 11: -17.5, 12: -20}

func (s *Server) macAnswers(cmds []lorawan.Payload, up *uplink.Uplink) []lorawan.Payload {
	var out []lorawan.Payload
	for _, p := range cmds {
		c, ok := p.(*lorawan.MACCommand)
		if !ok {
			continue
		}
		switch c.CID {
		case lorawan.LinkCheckReq:
			margin := 0.0
			if sf, _, ok := parseLoRaDR(up.DataRate); ok {
				margin = up.RxInfo[0].SNR - requiredSNR[sf]
			}
			margin = math.Max(0, math.Min(254, math.Floor(margin)))
			out = append(out, &lorawan.MACCommand{CID: lorawan.LinkCheckAns, Payload: &lorawan.LinkCheckAnsPayload{
				Margin: uint8(margin),
				GwCnt:  uint8(min(len(up.RxInfo), 255)),
			}})
		case lorawan.DeviceTimeReq:
			out = append(out, &lorawan.MACCommand{CID: lorawan.DeviceTimeAns, Payload: &lorawan.DeviceTimeAnsPayload{
				TimeSinceGPSEpoch: gps.Time(up.Time).TimeSinceGPSEpoch(),
			}})
		default:
			s.log.Debug("mac command not handled", "dev_eui", up.DevEUI.String(), "cid", c.CID.String())
		}
	}
	return out
}

// classAPlan builds a data downlink for the RX1 window after the uplink with
// an RX2 fallback, consuming one NFCntDown.
func (s *Server) classAPlan(ss *session, rx []uplink.RxInfo, ack bool, macs []lorawan.Payload, item *queueItem, fPending bool, b *batch) (txPlan, bool) {
	best := rx[0]
	upDR, err := dataRateIndex(s.band, best.DataRate)
	if err != nil {
		s.log.Warn("no downlink: unknown uplink data rate", "dev_eui", ss.DevEUI.String(), "data_rate", best.DataRate)
		return txPlan{}, false
	}
	rx1DR, err := s.band.GetRX1DataRateIndex(upDR, int(ss.RX1DROffset))
	if err != nil {
		return txPlan{}, false
	}
	rx1Freq, err := s.band.GetRX1FrequencyForUplinkFrequency(best.Frequency)
	if err != nil {
		return txPlan{}, false
	}
	if item != nil {
		// The queued payload must fit the smaller of the RX1 and RX2 data
		// rates (FOpts included); otherwise it waits for a faster uplink.
		maxN := s.maxPayload(rx1DR)
		if n := s.maxPayload(int(ss.RX2DR)); n < maxN {
			maxN = n
		}
		if len(item.Payload)+foptsLen(macs) > maxN {
			s.log.Info("queued downlink too large for this data rate, kept", "dev_eui", ss.DevEUI.String(), "id", item.ID, "max", maxN)
			item = nil
			if !ack && len(macs) == 0 {
				return txPlan{}, false
			}
		}
	}
	phy, err := s.dataDownlink(ss, ack, macs, item, fPending)
	if err != nil {
		s.log.Error("build downlink", "dev_eui", ss.DevEUI.String(), "err", err)
		return txPlan{}, false
	}
	b.touch(ss)
	delay := time.Duration(max(ss.RXDelay, 1)) * time.Second
	rx1DRs, err1 := s.drString(rx1DR)
	rx2DRs, err2 := s.drString(int(ss.RX2DR))
	if err1 != nil || err2 != nil {
		return txPlan{}, false
	}
	p := txPlan{kind: "data", item: item, rx1: Downlink{
		GatewayID:      best.GatewayID,
		PHYPayload:     phy,
		Frequency:      rx1Freq,
		DataRate:       rx1DRs,
		Power:          s.band.GetDownlinkTXPower(rx1Freq),
		Tmst:           best.Tmst + uint32(delay/time.Microsecond),
		InvertPolarity: true,
	}}
	p.rx2 = &Downlink{
		GatewayID:      best.GatewayID,
		PHYPayload:     phy,
		Frequency:      s.opts.RX2Frequency,
		DataRate:       rx2DRs,
		Power:          s.band.GetDownlinkTXPower(s.opts.RX2Frequency),
		Tmst:           best.Tmst + uint32((delay+time.Second)/time.Microsecond),
		InvertPolarity: true,
	}
	return p, true
}

// dataDownlink encodes a LoRaWAN 1.0 data downlink with MAC answers in
// FOpts (clear text in 1.0) and the queued application payload, and
// advances NFCntDown.
func (s *Server) dataDownlink(ss *session, ack bool, macs []lorawan.Payload, item *queueItem, fPending bool) ([]byte, error) {
	mtype := lorawan.UnconfirmedDataDown
	if item != nil && item.Confirmed {
		mtype = lorawan.ConfirmedDataDown
	}
	// FOpts hold at most 15 bytes; answers that do not fit are left out
	// (the device asks again).
	var fopts []lorawan.Payload
	n := 0
	for _, m := range macs {
		bb, err := m.MarshalBinary()
		if err != nil || n+len(bb) > 15 {
			continue
		}
		n += len(bb)
		fopts = append(fopts, m)
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

func (s *Server) processJoin(e *dedupEntry, phy *lorawan.PHYPayload, b *batch) outcome {
	out := outcome{join: true}
	jr, ok := phy.MACPayload.(*lorawan.JoinRequestPayload)
	if !ok {
		out.join, out.result = false, resultDecodeError
		return out
	}
	out.devEUI = jr.DevEUI
	dev, ok := s.opts.Devices.Get(jr.DevEUI)
	var zero lorawan.EUI64
	if !ok || dev.Activation != device.OTAA || (dev.JoinEUI != zero && dev.JoinEUI != jr.JoinEUI) {
		out.result = joinUnknownDevice
		return out
	}
	if ok, err := phy.ValidateUplinkJoinMIC(dev.AppKey); err != nil || !ok {
		out.result = joinMICInvalid
		return out
	}
	js, err := s.joinState(jr.DevEUI)
	if err != nil {
		s.log.Error("join state", "dev_eui", jr.DevEUI.String(), "err", err)
		out.result = joinError
		return out
	}
	if dev.MACVersion == "1.0.4" {
		// 1.0.4 devices count DevNonce up from 0 and keep it across resets.
		if js.HasNonce && jr.DevNonce <= js.LastNonce {
			out.result = joinDevNonceReuse
			return out
		}
	} else if js.seen(jr.DevNonce) {
		out.result = joinDevNonceReuse
		return out
	}

	js.remember(jr.DevNonce)
	js.JoinNonce = (js.JoinNonce + 1) & 0xffffff
	b.joins[jr.DevEUI] = js
	b.mutations = true

	joinNonce := lorawan.JoinNonce(js.JoinNonce)
	nwk, app, err := deriveSessionKeys(dev.AppKey, joinNonce, s.opts.NetID, jr.DevNonce)
	if err != nil {
		out.result = joinError
		return out
	}
	ss := &session{
		DevEUI:      jr.DevEUI,
		DevAddr:     s.allocDevAddr(),
		NwkSKey:     nwk,
		AppSKey:     app,
		RX1DROffset: s.opts.RX1DROffset,
		RX2DR:       uint8(s.rx2DR),
		RXDelay:     uint8(s.opts.RX1Delay / time.Second),
		Class:       classOf(dev),
		LastGateway: e.rx[0].GatewayID,
		LastSeen:    s.now(),
	}
	ja := lorawan.PHYPayload{
		MHDR: lorawan.MHDR{MType: lorawan.JoinAccept, Major: lorawan.LoRaWANR1},
		MACPayload: &lorawan.JoinAcceptPayload{
			JoinNonce:  joinNonce,
			HomeNetID:  s.opts.NetID,
			DevAddr:    ss.DevAddr,
			DLSettings: lorawan.DLSettings{RX2DataRate: ss.RX2DR, RX1DROffset: ss.RX1DROffset},
			RXDelay:    ss.RXDelay,
			CFList:     s.cfList,
		},
	}
	if err := ja.SetDownlinkJoinMIC(lorawan.JoinRequestType, jr.JoinEUI, jr.DevNonce, dev.AppKey); err != nil {
		out.result = joinError
		return out
	}
	if err := ja.EncryptJoinAcceptPayload(dev.AppKey); err != nil {
		out.result = joinError
		return out
	}
	jab, err := ja.MarshalBinary()
	if err != nil {
		out.result = joinError
		return out
	}
	s.addSession(ss, b)
	out.result = joinOK

	// The join-accept uses the band defaults: the device learns the new
	// RX settings only from this frame.
	best := e.rx[0]
	def := s.band.GetDefaults()
	upDR, err := dataRateIndex(s.band, best.DataRate)
	if err != nil {
		s.log.Warn("no join-accept: unknown uplink data rate", "dev_eui", ss.DevEUI.String(), "data_rate", best.DataRate)
		return out
	}
	rx1DR, err := s.band.GetRX1DataRateIndex(upDR, 0)
	if err != nil {
		return out
	}
	rx1Freq, err := s.band.GetRX1FrequencyForUplinkFrequency(best.Frequency)
	if err != nil {
		return out
	}
	rx1DRs, err1 := s.drString(rx1DR)
	rx2DRs, err2 := s.drString(def.RX2DataRate)
	if err1 != nil || err2 != nil {
		return out
	}
	delay := s.opts.JoinAcceptDelay1
	p := txPlan{kind: "join_accept", rx1: Downlink{
		GatewayID:      best.GatewayID,
		PHYPayload:     jab,
		Frequency:      rx1Freq,
		DataRate:       rx1DRs,
		Power:          s.band.GetDownlinkTXPower(rx1Freq),
		Tmst:           best.Tmst + uint32(delay/time.Microsecond),
		InvertPolarity: true,
	}}
	p.rx2 = &Downlink{
		GatewayID:      best.GatewayID,
		PHYPayload:     jab,
		Frequency:      def.RX2Frequency,
		DataRate:       rx2DRs,
		Power:          s.band.GetDownlinkTXPower(def.RX2Frequency),
		Tmst:           best.Tmst + uint32((delay+time.Second)/time.Microsecond),
		InvertPolarity: true,
	}
	out.tx = append(out.tx, p)
	return out
}

func (s *Server) joinState(eui lorawan.EUI64) (*joinState, error) {
	if js, ok := s.joins[eui]; ok {
		return js, nil
	}
	js, err := s.state.loadJoin(eui)
	if err != nil {
		return nil, err
	}
	s.joins[eui] = js
	return js, nil
}

// allocDevAddr draws a random DevAddr inside the NetID's NwkID prefix,
// avoiding addresses in use (a shared DevAddr would still work: sessions
// are told apart by MIC, at the cost of extra MIC computations).
func (s *Server) allocDevAddr() lorawan.DevAddr {
	var a lorawan.DevAddr
	for range 16 {
		_, _ = rand.Read(a[:])
		a.SetAddrPrefix(s.opts.NetID)
		if len(s.byAddr[a]) == 0 {
			break
		}
	}
	return a
}

// deriveSessionKeys computes the LoRaWAN 1.0 session keys:
// aes128_encrypt(AppKey, 0x01|0x02 | AppNonce | NetID | DevNonce | pad16),
// each field little endian.
func deriveSessionKeys(appKey lorawan.AES128Key, joinNonce lorawan.JoinNonce, netID lorawan.NetID, devNonce lorawan.DevNonce) (nwk, app lorawan.AES128Key, err error) {
	block, err := aes.NewCipher(appKey[:])
	if err != nil {
		return nwk, app, fmt.Errorf("derive keys: %w", err)
	}
	var in [16]byte
	jn := uint32(joinNonce)
	in[1], in[2], in[3] = byte(jn), byte(jn>>8), byte(jn>>16)
	in[4], in[5], in[6] = netID[2], netID[1], netID[0]
	binary.LittleEndian.PutUint16(in[7:9], uint16(devNonce))
	in[0] = 0x01
	block.Encrypt(nwk[:], in[:])
	in[0] = 0x02
	block.Encrypt(app[:], in[:])
	return nwk, app, nil
}

func foptsLen(macs []lorawan.Payload) int {
	n := 0
	for _, m := range macs {
		if b, err := m.MarshalBinary(); err == nil && n+len(b) <= 15 {
			n += len(b)
		}
	}
	return n
}

// maxPayload is the largest FRMPayload plus FOpts the data rate carries
// (regional parameters, LoRaWAN 1.0.3 revision A/B tables).
func (s *Server) maxPayload(dr int) int {
	ps, err := s.band.GetMaxPayloadSizeForDataRateIndex(band.LoRaWAN_1_0_3, band.RegParamRevB, dr)
	if err != nil {
		return 0
	}
	return ps.N
}
