package network

import (
	"slices"
	"strings"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
)

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
	// MAC is what the MAC command engine knows and wants of the device.
	MAC MACInfo
}

// MACInfo is the MAC layer status of one device: its current ADR setting
// as last acknowledged, the last DevStatusAns and the server-initiated MAC
// commands still waiting for an answer or given up on.
type MACInfo struct {
	// ADR tells whether the network steers the device's data rate: the
	// profile allows it and the device's last uplink had the ADR bit set.
	ADR bool
	// DR is the data rate index the device uses (as last acknowledged or
	// heard), DataRate its name, e.g. "SF7BW125"; -1 and "" before the
	// first uplink.
	DR       int
	DataRate string
	// TXPowerIndex is the band's TX power index the device uses (0 is its
	// maximum EIRP) and TXPowerDBm the EIRP it stands for.
	TXPowerIndex int
	TXPowerDBm   float64
	NbTrans      int
	// ADRMargin is the link estimate's margin in dB above the current data
	// rate's demodulation floor; HasADRMargin is false before ADR has seen
	// enough uplinks.
	ADRMargin    float64
	HasADRMargin bool
	// DevStatus is the last DevStatusAns; nil before the first one.
	DevStatus *DevStatus
	// Pending lists the server-initiated MAC commands sent but not yet
	// answered, or waiting to be sent.
	Pending []PendingMAC
	// NotAnswering lists the commands (e.g. "RXParamSetupReq") the device
	// did not answer after every retry; they are not sent again until the
	// configuration changes or the device rejoins.
	NotAnswering []string
}

// DevStatus is the content of a DevStatusAns.
type DevStatus struct {
	// Battery is the raw level: 0 external power, 1..254 battery level,
	// 255 the device could not measure it.
	Battery uint8
	// BatteryPercent is the level in percent; nil for external power or
	// an unmeasured level.
	BatteryPercent *float64
	ExternalPower  bool
	// Margin is the demodulation margin (dB) of the DevStatusReq the
	// device received.
	Margin int
	Time   time.Time
}

// PendingMAC is a server-initiated MAC command waiting for its answer.
type PendingMAC struct {
	Command string // e.g. "LinkADRReq"
	Sent    int    // how often it went out
}

func (s *Server) info(ss *session) SessionInfo {
	return SessionInfo{
		DevEUI: ss.DevEUI, DevAddr: ss.DevAddr, ABP: ss.ABP, Class: ss.Class,
		FCntUp: ss.FCntUp, NFCntDown: ss.NFCntDown,
		RX1DROffset: ss.RX1DROffset, RX2DR: ss.RX2DR, RXDelay: ss.RXDelay,
		LastGateway: ss.LastGateway, LastSeen: ss.LastSeen, QueueLen: len(s.queues[ss.DevEUI]),
		RSSI: ss.LastRSSI, SNR: ss.LastSNR, Gateways: ss.LastGateways,
		MAC: s.macInfo(ss),
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
