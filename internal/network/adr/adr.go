// Package adr decides, per device, the data rate, TX power and number of
// transmissions that LinkADRReq should set, from the device's recent
// uplinks. It holds no loraedge dependencies: the network feeds it
// normalised uplinks, keeps its State with the session and sends what it
// decides.
package adr

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// HistoryLen is how many recent uplinks a State keeps.
const HistoryLen = 20

// Band holds the regional facts ADR works with.
type Band struct {
	// RequiredSNR is the demodulation floor in dB per data rate index,
	// for the LoRa 125 kHz data rates ADR moves between.
	RequiredSNR []float64
	// MaxADRDR is the fastest data rate ADR may choose.
	MaxADRDR int
	// MaxTXPowerIndex is the lowest power the band defines; index 0 is the
	// device's maximum EIRP.
	MaxTXPowerIndex int
	// TXPowerStepDB is the power reduction per TX power index.
	TXPowerStepDB float64
}

// EU868 returns the EU863-870 facts of the LoRaWAN Regional Parameters
// (RP002-1.0.4): DR0..DR5 are SF12..SF7 at 125 kHz with the SX127x/SX130x
// demodulation floors, DR5 is the fastest LoRa 125 kHz rate, and TXPower
// 0..7 is MaxEIRP (16 dBm) minus 2 dB per step.
func EU868() Band {
	req := make([]float64, 0, 6)
	for sf := 12; sf >= 7; sf-- { // DR0 is SF12
		f, _ := DemodulationFloor(sf)
		req = append(req, f)
	}
	return Band{
		RequiredSNR:     req,
		MaxADRDR:        5,
		MaxTXPowerIndex: 7,
		TXPowerStepDB:   2,
	}
}

// DemodulationFloor is the SNR in dB below which a LoRa frame of
// spreading factor sf cannot be demodulated (SX127x/SX130x datasheets:
// -7.5 dB at SF7, 2.5 dB lower per step); false for another sf.
func DemodulationFloor(sf int) (float64, bool) {
	if sf < 7 || sf > 12 {
		return 0, false
	}
	return -7.5 - 2.5*float64(sf-7), true
}

// Validate reports what makes the band unusable.
func (b Band) Validate() error {
	var errs []error
	if b.MaxADRDR < 0 || b.MaxADRDR >= len(b.RequiredSNR) {
		errs = append(errs, fmt.Errorf("max ADR data rate %d has no required SNR", b.MaxADRDR))
	}
	if b.MaxTXPowerIndex < 0 {
		errs = append(errs, fmt.Errorf("max TX power index %d is negative", b.MaxTXPowerIndex))
	}
	if b.TXPowerStepDB <= 0 {
		errs = append(errs, fmt.Errorf("TX power step %g dB is not positive", b.TXPowerStepDB))
	}
	return errors.Join(errs...)
}

// Limits bound what ADR may set for one device.
type Limits struct {
	// MinDR and MaxDR bound the data rate (MaxDR is capped by the band's
	// MaxADRDR).
	MinDR, MaxDR int
	// Margin is the installation margin in dB: the SNR a setting must keep
	// above the demodulation floor.
	Margin float64
	// MaxNbTrans caps the transmissions per frame.
	MaxNbTrans int
}

// DefaultMargin is the installation margin when a profile sets none.
const DefaultMargin = 10

// DefaultLimits returns the full data-rate range of the band, the default
// installation margin and at most three transmissions per frame.
func DefaultLimits(b Band) Limits {
	return Limits{MinDR: 0, MaxDR: b.MaxADRDR, Margin: DefaultMargin, MaxNbTrans: 3}
}

// maxDR is the fastest data rate both the device and ADR allow.
func (l Limits) maxDR(b Band) int {
	return max(l.MinDR, min(l.MaxDR, b.MaxADRDR))
}

// Uplink is one received uplink as ADR sees it.
type Uplink struct {
	FCnt uint32 `json:"f_cnt"`
	// DR and TXPowerIndex are the setting the device sent with.
	DR           int `json:"dr"`
	TXPowerIndex int `json:"tx_power_index"`
	// SNR is the best gateway's SNR normalised to maximum power: the
	// measured SNR plus the power reduction of TXPowerIndex. It does not
	// depend on the data rate, so samples stay comparable across settings.
	SNR float64 `json:"snr"`
}

// Setting is what LinkADRReq sets.
type Setting struct {
	DR           int `json:"dr"`
	TXPowerIndex int `json:"tx_power_index"`
	NbTrans      int `json:"nb_trans"`
}

// Decision is a new setting for the device and why.
type Decision struct {
	Setting
	Reason string
}

// Algorithm decides the next setting of a device. Decide may update the
// algorithm's bookkeeping in s; it reports false when the device should
// keep its setting.
type Algorithm interface {
	Decide(s *State, b Band, l Limits) (Decision, bool)
}

// Constructor builds an algorithm with its default options.
type Constructor func() Algorithm

// DefaultAlgorithm is the name of the algorithm used when none is set.
const DefaultAlgorithm = "loraedge"

var registry = map[string]Constructor{
	"loraedge": func() Algorithm { return NewRobust(RobustOptions{}) },
	"maxsnr":   func() Algorithm { return MaxSNR{} },
}

// New returns the algorithm registered under name.
func New(name string) (Algorithm, error) {
	c, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown ADR algorithm %q (known: %v)", name, Names())
	}
	return c(), nil
}

// Names lists the registered algorithms in order.
func Names() []string {
	return slices.Sorted(maps.Keys(registry))
}
