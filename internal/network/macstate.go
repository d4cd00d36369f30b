package network

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/network/mac"
	"github.com/loraedge/loraedge/internal/uplink"
)

// macState is the MAC layer state of one session. It is stored as a JSON
// tail after the session's fixed record, in the same bbolt transaction as
// the counters, so a MAC command counts as sent only once it is durable.
// A rejoin starts a new session and so a fresh macState.
type macState struct {
	// ADR holds the uplink history and the setting the device uses.
	ADR adr.State `json:"adr"`
	// ADRKnown is set once the setting was taken from an uplink.
	ADRKnown bool `json:"adr_known,omitempty"`
	// ADRBit is the FCtrl.ADR bit of the last uplink.
	ADRBit bool `json:"adr_bit,omitempty"`
	// ChMask is the mask of enabled uplink channels as last acknowledged
	// (bit i = channel i); 0 means the band's defaults plus the channels
	// the device knows.
	ChMask uint16 `json:"ch_mask,omitempty"`
	// ADRNack is the last setting the device refused; ADR does not ask for
	// it again until the device accepted another one, and asks for none
	// for adr.HistoryLen uplinks after the refusal.
	ADRNack *adrNack `json:"adr_nack,omitempty"`
	// Channels are the extra channel frequencies the device has, by index
	// from the first non-default channel (CFList or NewChannelAns).
	Channels []uint32 `json:"channels,omitempty"`
	// RX2Freq is the RX2 frequency the device acknowledged; 0 is the
	// band's default.
	RX2Freq uint32 `json:"rx2_freq,omitempty"`
	// DutyCycle is the MaxDCycle the device acknowledged.
	DutyCycle uint8 `json:"duty_cycle,omitempty"`
	// Pending are the server-initiated commands awaiting their answer, in
	// the order they are sent.
	Pending []pendingCmd `json:"pending,omitempty"`
	// NotAnswering maps a command given up on to the request it was given
	// up with; a different request (the configuration changed) is tried.
	NotAnswering map[string]string `json:"not_answering,omitempty"`
	// DevStatus is the last DevStatusAns, DevStatusAsked when the last
	// DevStatusReq was queued.
	DevStatus      *devStatus `json:"dev_status,omitempty"`
	DevStatusAsked time.Time  `json:"dev_status_asked,omitzero"`
}

// adrNack is a refused LinkADRReq and the uplink that refused it.
type adrNack struct {
	Setting adr.Setting `json:"setting"`
	FCnt    uint32      `json:"f_cnt"`
}

// pendingCmd is a server-initiated MAC command: its encoded bytes (CID
// first) and how often it was sent.
type pendingCmd struct {
	Cmd  []byte `json:"cmd"`
	Sent int    `json:"sent"`
}

type devStatus struct {
	Battery uint8     `json:"battery"`
	Margin  int       `json:"margin"`
	Time    time.Time `json:"time"`
}

// cid is the command's identifier.
func (p pendingCmd) cid() lorawan.CID {
	if len(p.Cmd) == 0 {
		return 0
	}
	return lorawan.CID(p.Cmd[0])
}

// command decodes the pending command; its bytes were built by the server,
// so an error means a corrupt record.
func (p pendingCmd) command() (lorawan.MACCommand, error) {
	cmds, err := mac.ParseDownlink(p.Cmd)
	if err != nil {
		return lorawan.MACCommand{}, fmt.Errorf("pending MAC command: %w", err)
	}
	if len(cmds) != 1 {
		return lorawan.MACCommand{}, fmt.Errorf("pending MAC command: %d commands in %x", len(cmds), p.Cmd)
	}
	return cmds[0], nil
}

// pendingOf returns the index of the first pending command with cid, or -1.
func (m *macState) pendingOf(cid lorawan.CID) int {
	for i, p := range m.Pending {
		if p.cid() == cid {
			return i
		}
	}
	return -1
}

// marshalMAC encodes the MAC state for the session record's tail; nil
// for a state with nothing in it, which keeps such records short.
func (m *macState) marshalMAC() ([]byte, error) {
	if m.isZero() {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode MAC state: %w", err)
	}
	return b, nil
}

func (m *macState) isZero() bool {
	return !m.ADRKnown && !m.ADRBit && len(m.ADR.History) == 0 && m.ChMask == 0 && m.ADRNack == nil &&
		len(m.Channels) == 0 && m.RX2Freq == 0 && m.DutyCycle == 0 && len(m.Pending) == 0 &&
		len(m.NotAnswering) == 0 && m.DevStatus == nil && m.DevStatusAsked.IsZero()
}

// unmarshalMAC decodes a record's tail; an empty tail (a record written
// before the MAC engine existed) is the zero state.
func (m *macState) unmarshalMAC(b []byte) error {
	*m = macState{}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, m); err != nil {
		return fmt.Errorf("decode MAC state: %w", err)
	}
	return nil
}

// macInfo is the status view of the session's MAC state.
func (s *Server) macInfo(ss *session) MACInfo {
	m := &ss.MAC
	out := MACInfo{DR: -1}
	if d, ok := s.opts.Devices.Get(ss.DevEUI); ok {
		out.ADR, _ = s.adrLimits(d)
		out.ADR = out.ADR && m.ADRBit
	}
	if m.ADRKnown {
		set := m.ADR.Setting
		out.DR, out.TXPowerIndex, out.NbTrans = set.DR, set.TXPowerIndex, set.NbTrans
		out.DataRate, _ = s.drString(set.DR)
		if off, err := s.band.GetTXPowerOffset(set.TXPowerIndex); err == nil {
			out.TXPowerDBm = float64(s.band.GetDefaultMaxUplinkEIRP()) + float64(off)
		}
		if m.ADR.Link.N > 0 && set.DR < len(s.adrBand.RequiredSNR) {
			out.ADRMargin = m.ADR.Link.Mean - float64(set.TXPowerIndex)*s.adrBand.TXPowerStepDB - s.adrBand.RequiredSNR[set.DR]
			out.HasADRMargin = true
		}
	}
	if ds := m.DevStatus; ds != nil {
		st := uplink.MACStatus{Battery: ds.Battery, Margin: ds.Margin}
		info := &DevStatus{Battery: ds.Battery, ExternalPower: ds.Battery == 0, Margin: ds.Margin, Time: ds.Time}
		if pct, ok := st.BatteryPercent(); ok {
			info.BatteryPercent = &pct
		}
		out.DevStatus = info
	}
	for _, p := range m.Pending {
		out.Pending = append(out.Pending, PendingMAC{Command: p.key(), Sent: p.Sent})
	}
	out.NotAnswering = slices.Sorted(maps.Keys(m.NotAnswering))
	return out
}
