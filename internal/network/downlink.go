package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"

	"github.com/loraedge/loraedge/internal/device"
)

// queueItem is one application downlink waiting for its device.
type queueItem struct {
	ID        string
	FPort     uint8
	Payload   []byte
	Confirmed bool
	sent      bool // confirmed and sent, waiting for the device's ACK
	attempts  int
}

// pendingTx is an RX1 transmission waiting for its TX_ACK.
type pendingTx struct {
	kind    string
	rx2     *Downlink
	expires time.Time
}

// classCHoldoff keeps Class C sends clear of the RX windows after an uplink.
const classCHoldoff = 3 * time.Second

// maxAppPayload is the largest FRMPayload any EU868 data rate carries
// (DR5-7 without FOpts); smaller data rates are not checked here.
const maxAppPayload = 242

// EnqueueDownlink queues an application payload for the device. Class A
// devices get it in RX1 after their next uplink; Class C devices at once in
// RX2 parameters through the gateway that heard them last. The returned id
// names the item in logs.
func (s *Server) EnqueueDownlink(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool) (string, error) {
	dev, ok := s.opts.Devices.Get(devEUI)
	if !ok {
		return "", fmt.Errorf("enqueue downlink %s: %w", devEUI, ErrUnknownDevice)
	}
	if fport == 0 || fport > 223 {
		return "", fmt.Errorf("enqueue downlink %s: fport %d not in 1..223", devEUI, fport)
	}
	if len(payload) > maxAppPayload {
		return "", fmt.Errorf("enqueue downlink %s: %d bytes: %w", devEUI, len(payload), ErrPayloadSize)
	}
	s.mu.Lock()
	q := s.queues[devEUI]
	if len(q) >= s.opts.DownlinkQueueSize {
		s.mu.Unlock()
		s.m.queueDropped.Inc()
		return "", fmt.Errorf("enqueue downlink %s: %w", devEUI, ErrQueueFull)
	}
	s.queueSeq++
	id := devEUI.String() + "-" + strconv.FormatUint(s.queueSeq, 10)
	s.queues[devEUI] = append(q, queueItem{ID: id, FPort: fport, Payload: slices.Clone(payload), Confirmed: confirmed})
	s.mu.Unlock()
	if dev.Class == device.ClassC {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return id, nil
}

// sendClassC transmits the head of each Class C device's queue immediately.
func (s *Server) sendClassC(ctx context.Context) {
	b := &batch{dirtySet: make(map[*session]struct{}), joins: make(map[lorawan.EUI64]*joinState)}
	var plans []txPlan
	var zero lorawan.EUI64
	now := s.now()
	s.mu.Lock()
	for eui, q := range s.queues {
		if len(q) == 0 || q[0].sent {
			continue
		}
		dev, ok := s.opts.Devices.Get(eui)
		ss := s.sessions[eui]
		if !ok || dev.Class != device.ClassC || ss == nil || ss.LastGateway == zero {
			continue // waits for an uplink
		}
		if now.Sub(ss.LastSeen) < classCHoldoff {
			// The device may still listen in RX1/RX2 of its last uplink and
			// the gateway may have a downlink scheduled there; a later tick
			// sends this one.
			continue
		}
		item := q[0]
		phy, err := s.dataDownlink(ss, false, nil, &item, len(q) > 1)
		if err != nil {
			s.log.Error("build class c downlink", "dev_eui", eui.String(), "err", err)
			continue
		}
		b.touch(ss)
		drs, err := s.drString(int(ss.RX2DR))
		if err != nil {
			continue
		}
		s.afterItemSent(eui, item, b)
		plans = append(plans, txPlan{kind: "data", rx1: Downlink{
			GatewayID:      ss.LastGateway,
			PHYPayload:     phy,
			Frequency:      s.opts.RX2Frequency,
			DataRate:       drs,
			Power:          s.band.GetDownlinkTXPower(s.opts.RX2Frequency),
			Immediately:    true,
			InvertPolarity: true,
		}})
	}
	s.mu.Unlock()
	if !b.mutations {
		return
	}
	if err := s.state.commit(b.dirty, nil, nil); err != nil {
		s.log.Error("commit class c downlinks", "err", err)
		s.rollback(b)
		return
	}
	for _, p := range plans {
		s.transmit(ctx, p)
	}
}

// transmit sends the RX1 downlink; when the sender refuses it at once the
// RX2 fallback goes out, otherwise the fallback waits for HandleTxAck.
func (s *Server) transmit(ctx context.Context, p txPlan) {
	s.nextID++
	p.rx1.ID = s.nextID
	if err := s.send(ctx, p.rx1); err != nil {
		s.m.downlinks.WithLabelValues(p.kind, "failed").Inc()
		s.log.Warn("downlink rejected", "gateway_id", p.rx1.GatewayID.String(), "err", err)
		if p.rx2 != nil {
			s.sendFallback(ctx, p.kind, *p.rx2)
		}
		return
	}
	s.m.downlinks.WithLabelValues(p.kind, "sent").Inc()
	s.pending[p.rx1.ID] = pendingTx{kind: p.kind, rx2: p.rx2, expires: s.now().Add(30 * time.Second)}
}

func (s *Server) sendFallback(ctx context.Context, kind string, d Downlink) {
	s.nextID++
	d.ID = s.nextID
	if err := s.send(ctx, d); err != nil {
		s.m.downlinks.WithLabelValues(kind, "failed").Inc()
		s.log.Warn("rx2 downlink rejected", "gateway_id", d.GatewayID.String(), "err", err)
		return
	}
	s.m.downlinks.WithLabelValues(kind, "rx2_fallback").Inc()
	s.pending[d.ID] = pendingTx{kind: kind, expires: s.now().Add(30 * time.Second)}
}

var errNoSender = errors.New("no downlink sender configured")

func (s *Server) send(ctx context.Context, d Downlink) error {
	if s.opts.Sender == nil {
		return errNoSender
	}
	return s.opts.Sender.SendDownlink(ctx, d)
}

func (s *Server) handleTxAck(ctx context.Context, a txAck) {
	p, ok := s.pending[a.id]
	if !ok {
		return
	}
	delete(s.pending, a.id)
	if a.err == nil {
		return
	}
	s.m.downlinks.WithLabelValues(p.kind, "failed").Inc()
	s.log.Warn("gateway rejected downlink", "id", a.id, "err", a.err)
	if p.rx2 != nil {
		s.sendFallback(ctx, p.kind, *p.rx2)
	}
}

func (s *Server) expirePending(now time.Time) {
	for id, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, id)
		}
	}
}

// SessionInfo is the status of one device session; it holds no keys.
type SessionInfo struct {
	DevEUI      lorawan.EUI64
	DevAddr     lorawan.DevAddr
	ABP         bool
	Class       device.Class
	FCntUp      uint32 // last accepted uplink counter
	NFCntDown   uint32 // next downlink counter
	RX1DROffset uint8
	RX2DR       uint8
	RXDelay     uint8
	LastGateway lorawan.EUI64
	LastSeen    time.Time
	// RSSI (dBm) and SNR (dB) of the best reception of the last uplink
	// since the daemon started, and how many gateways heard it.
	RSSI     int
	SNR      float64
	Gateways int
	QueueLen int
}

func (s *Server) info(ss *session) SessionInfo {
	return SessionInfo{
		DevEUI: ss.DevEUI, DevAddr: ss.DevAddr, ABP: ss.ABP, Class: ss.Class,
		FCntUp: ss.FCntUp, NFCntDown: ss.NFCntDown,
		RX1DROffset: ss.RX1DROffset, RX2DR: ss.RX2DR, RXDelay: ss.RXDelay,
		LastGateway: ss.LastGateway, LastSeen: ss.LastSeen, QueueLen: len(s.queues[ss.DevEUI]),
		RSSI: ss.LastRSSI, SNR: ss.LastSNR, Gateways: ss.LastGateways,
	}
}

// Sessions returns the status of every session, sorted by DevEUI.
func (s *Server) Sessions() []SessionInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]SessionInfo, 0, len(s.sessions))
	for _, ss := range s.sessions {
		out = append(out, s.info(ss))
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return strings.Compare(a.DevEUI.String(), b.DevEUI.String()) })
	return out
}

// Session returns the status of the device's session.
func (s *Server) Session(devEUI lorawan.EUI64) (SessionInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ss, ok := s.sessions[devEUI]
	if !ok {
		return SessionInfo{}, false
	}
	return s.info(ss), true
}

// parseLoRaDR reads "SF7BW125" style data rates.
func parseLoRaDR(s string) (sf, bw int, ok bool) {
	rest, found := strings.CutPrefix(s, "SF")
	if !found {
		return 0, 0, false
	}
	sfs, bws, found := strings.Cut(rest, "BW")
	if !found {
		return 0, 0, false
	}
	sf, err1 := strconv.Atoi(sfs)
	bw, err2 := strconv.Atoi(bws)
	return sf, bw, err1 == nil && err2 == nil
}

func dataRateIndex(b band.Band, s string) (int, error) {
	if sf, bw, ok := parseLoRaDR(s); ok {
		return b.GetDataRateIndex(true, band.DataRate{Modulation: band.LoRaModulation, SpreadFactor: sf, Bandwidth: bw})
	}
	if br, err := strconv.Atoi(s); err == nil {
		return b.GetDataRateIndex(true, band.DataRate{Modulation: band.FSKModulation, BitRate: br})
	}
	return 0, fmt.Errorf("data rate %q: not SFxBWy or an FSK bit rate", s)
}

func dataRateString(dr band.DataRate) string {
	if dr.Modulation == band.FSKModulation {
		return strconv.Itoa(dr.BitRate)
	}
	return "SF" + strconv.Itoa(dr.SpreadFactor) + "BW" + strconv.Itoa(dr.Bandwidth)
}

func (s *Server) drString(dr int) (string, error) {
	d, err := s.band.GetDataRate(dr)
	if err != nil {
		return "", err
	}
	return dataRateString(d), nil
}
