// Package airtime computes LoRa time on air and keeps the EU868 duty-cycle
// budget of each gateway, so the downlink path can refuse a transmission
// that would break the regulatory limit instead of letting the concentrator
// send it.
package airtime

import (
	"errors"
	"fmt"
	"time"
)

// Frame describes one LoRa transmission for the time-on-air formula of the
// Semtech SX1276 datasheet (section 4.1.1.7) and AN1200.13.
type Frame struct {
	// SF is the spreading factor, 7..12.
	SF int
	// BandwidthHz is 125000, 250000 or 500000.
	BandwidthHz int
	// CodingRate is the n of 4/(4+n): 1 (4/5) .. 4 (4/8).
	CodingRate int
	// PayloadLen is the PHYPayload length in bytes.
	PayloadLen int
	// PreambleSymbols is the programmed preamble length (8 in LoRaWAN).
	PreambleSymbols int
	// ExplicitHeader selects the explicit PHY header (always on in LoRaWAN).
	ExplicitHeader bool
	// CRC adds the 16-bit payload CRC (LoRaWAN uplinks only).
	CRC bool
	// LowDataRateOptimize is mandated when a symbol lasts 16 ms or longer,
	// i.e. SF11 and SF12 at 125 kHz.
	LowDataRateOptimize bool
}

// ErrInvalidFrame is returned for parameters outside the LoRa modem's range.
var ErrInvalidFrame = errors.New("airtime: invalid frame")

// TimeOnAir returns how long the frame occupies the channel. The symbol
// count is kept in quarter symbols so the result is exact to the
// nanosecond for every LoRaWAN bandwidth.
func (f Frame) TimeOnAir() (time.Duration, error) {
	switch {
	case f.SF < 7 || f.SF > 12:
		return 0, fmt.Errorf("%w: spreading factor %d", ErrInvalidFrame, f.SF)
	case f.BandwidthHz != 125000 && f.BandwidthHz != 250000 && f.BandwidthHz != 500000:
		return 0, fmt.Errorf("%w: bandwidth %d Hz", ErrInvalidFrame, f.BandwidthHz)
	case f.CodingRate < 1 || f.CodingRate > 4:
		return 0, fmt.Errorf("%w: coding rate %d", ErrInvalidFrame, f.CodingRate)
	case f.PayloadLen < 0 || f.PayloadLen > 255:
		return 0, fmt.Errorf("%w: payload length %d", ErrInvalidFrame, f.PayloadLen)
	case f.PreambleSymbols < 6 || f.PreambleSymbols > 65535:
		return 0, fmt.Errorf("%w: preamble %d symbols", ErrInvalidFrame, f.PreambleSymbols)
	}
	crc, ih, de := 0, 0, 0
	if f.CRC {
		crc = 1
	}
	if !f.ExplicitHeader {
		ih = 1
	}
	if f.LowDataRateOptimize {
		de = 1
	}
	num := 8*f.PayloadLen - 4*f.SF + 28 + 16*crc - 20*ih
	den := 4 * (f.SF - 2*de)
	payloadSymbols := 8
	if num > 0 {
		payloadSymbols += (num + den - 1) / den * (f.CodingRate + 4)
	}
	// The preamble lasts PreambleSymbols + 4.25 symbols.
	quarters := int64(4*f.PreambleSymbols+17) + 4*int64(payloadSymbols)
	return time.Duration(quarters * (int64(1) << f.SF) * int64(time.Second) / (4 * int64(f.BandwidthHz))), nil
}

// Uplink returns the time on air of a LoRaWAN uplink: explicit header, CRC,
// coding rate 4/5, 8 preamble symbols, low data rate optimisation where the
// modem requires it.
func Uplink(sf, bandwidthHz, phyLen int) (time.Duration, error) {
	return lorawanFrame(sf, bandwidthHz, phyLen, true).TimeOnAir()
}

// Downlink returns the time on air of a LoRaWAN downlink, which differs from
// an uplink only in carrying no payload CRC.
func Downlink(sf, bandwidthHz, phyLen int) (time.Duration, error) {
	return lorawanFrame(sf, bandwidthHz, phyLen, false).TimeOnAir()
}

func lorawanFrame(sf, bandwidthHz, phyLen int, crc bool) Frame {
	return Frame{
		SF:                  sf,
		BandwidthHz:         bandwidthHz,
		CodingRate:          1,
		PayloadLen:          phyLen,
		PreambleSymbols:     8,
		ExplicitHeader:      true,
		CRC:                 crc,
		LowDataRateOptimize: bandwidthHz == 125000 && sf >= 11,
	}
}
