package httpapi

import (
	"net/http"
	"time"

	"github.com/brocaar/lorawan"
)

// MACView is a device's LoRaWAN MAC state as the API and the web page show
// it. The pointer fields stay absent until the network layer knows them
// (e.g. no DevStatusAns yet), so a missing value is never shown as 0.
type MACView struct {
	// DataRate is the band's data rate index of the device's uplinks,
	// DataRateName its modulation (e.g. "SF9BW125") and SpreadingFactor
	// the SF of a LoRa rate.
	DataRate        *int   `json:"data_rate,omitempty"`
	DataRateName    string `json:"data_rate_name,omitempty"`
	SpreadingFactor *int   `json:"spreading_factor,omitempty"`
	// TXPowerIndex is the LinkADRReq power index (0 = max EIRP), and
	// TXPowerDBm the EIRP it stands for in the band.
	TXPowerIndex *int  `json:"tx_power_index,omitempty"`
	TXPowerDBm   *int  `json:"tx_power_dbm,omitempty"`
	NbTrans      *int  `json:"nb_trans,omitempty"`
	ADR          *bool `json:"adr,omitempty"`
	// MarginDB is the demodulation margin of the last DevStatusAns (or
	// LinkCheckReq answer), in dB above the demodulation floor.
	MarginDB *int `json:"margin_db,omitempty"`
	// ADRMarginDB is the network's link estimate in dB above the current
	// data rate's floor, after the installation margin is counted in.
	ADRMarginDB *float64 `json:"adr_margin_db,omitempty"`
	// BatteryPercent is the last DevStatusAns battery (0..254 scaled to
	// 0..100); ExternalPower is its 255, "no battery".
	BatteryPercent *float64   `json:"battery_percent,omitempty"`
	ExternalPower  bool       `json:"external_power,omitempty"`
	DevStatusAt    *time.Time `json:"dev_status_at,omitempty"`
	// PendingCommands are the MAC commands sent and not yet answered, by
	// name (e.g. "LinkADRReq").
	PendingCommands []string `json:"pending_commands"`
	// NotAnswering are the commands the device left unanswered after every
	// retry; they are not sent again until the configuration changes.
	NotAnswering []string `json:"not_answering,omitempty"`
	FCntUp       uint32   `json:"f_cnt_up"`
	NFCntDown    uint32   `json:"n_f_cnt_down"`
}

// MACSource gives the MAC view of a device; false when it has no session.
type MACSource interface {
	MACView(devEUI lorawan.EUI64) (MACView, bool)
}

// macView looks up the device's MAC view for the device resources.
func (s *Server) macView(eui lorawan.EUI64) (*MACView, bool) {
	if s.opts.MAC == nil {
		return nil, false
	}
	v, ok := s.opts.MAC.MACView(eui)
	if !ok {
		return nil, false
	}
	if v.PendingCommands == nil {
		v.PendingCommands = []string{}
	}
	return &v, true
}

// deviceMAC serves GET /api/v1/devices/{dev_eui}/mac.
func (s *Server) deviceMAC(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Devices == nil || s.opts.MAC == nil {
		return errNotConfigured
	}
	eui, err := parseEUI(r)
	if err != nil {
		return err
	}
	if _, ok := s.opts.Devices.Get(eui); !ok {
		return s.noDevice(eui)
	}
	v, ok := s.macView(eui)
	if !ok {
		return notFound("device " + eui.String() + " has no network session")
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
