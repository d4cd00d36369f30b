package network

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/brocaar/lorawan/band"
)

// Data rates travel as GWMP names them: "SF7BW125" for LoRa, the bit rate
// ("50000") for FSK. This file is the one place that turns them into band
// indices and back.

// ParseLoRaDataRate reads a "SF7BW125" style data rate: spreading factor
// and bandwidth in kHz.
func ParseLoRaDataRate(s string) (sf, bw int, ok bool) {
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
	if sf, bw, ok := ParseLoRaDataRate(s); ok {
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

// loraDataRate names a LoRa data rate index of the band, e.g. EU868 DR0 is
// "SF12BW125"; an FSK index is refused.
func loraDataRate(b band.Band, dr int) (string, error) {
	r, err := b.GetDataRate(dr)
	if err != nil {
		return "", err
	}
	if r.Modulation != band.LoRaModulation {
		return "", fmt.Errorf("DR%d is not a LoRa data rate", dr)
	}
	return dataRateString(r), nil
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
