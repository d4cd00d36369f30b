package network

import (
	"errors"
	"fmt"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/uplink"
)

// rxParams are the receive windows a device opens after an uplink: the
// session's for data, the band's defaults for a join-accept.
type rxParams struct {
	rx1DROffset int
	rx2DR       int
	rx2Freq     uint32
	rx1Delay    time.Duration // RX2 opens one second later
}

// windows are a downlink's RX1 transmission and its RX2 fallback, through
// the gateway that heard the uplink best, still without the frame.
type windows struct {
	rx1DR    int // band index, for the payload size limit
	rx1, rx2 Downlink
}

// errUplinkDataRate means the uplink's data rate is none of the band's, so
// no RX1 data rate follows from it.
var errUplinkDataRate = errors.New("unknown uplink data rate")

// rxWindows computes the RX1 and RX2 transmissions answering the uplink
// heard best; data downlinks and join-accepts differ only in p.
func (s *Server) rxWindows(best uplink.RxInfo, p rxParams) (windows, error) {
	upDR, err := dataRateIndex(s.band, best.DataRate)
	if err != nil {
		return windows{}, fmt.Errorf("%w: %w", errUplinkDataRate, err)
	}
	rx1DR, err := s.band.GetRX1DataRateIndex(upDR, p.rx1DROffset)
	if err != nil {
		return windows{}, fmt.Errorf("rx1 data rate: %w", err)
	}
	rx1Freq, err := s.band.GetRX1FrequencyForUplinkFrequency(best.Frequency)
	if err != nil {
		return windows{}, fmt.Errorf("rx1 frequency: %w", err)
	}
	rx1DRs, err := s.drString(rx1DR)
	if err != nil {
		return windows{}, fmt.Errorf("rx1 data rate: %w", err)
	}
	rx2DRs, err := s.drString(p.rx2DR)
	if err != nil {
		return windows{}, fmt.Errorf("rx2 data rate: %w", err)
	}
	return windows{
		rx1DR: rx1DR,
		rx1: Downlink{
			GatewayID:      best.GatewayID,
			Frequency:      rx1Freq,
			DataRate:       rx1DRs,
			Power:          s.txPower(rx1Freq),
			Tmst:           best.Tmst + uint32(p.rx1Delay/time.Microsecond),
			InvertPolarity: true,
		},
		rx2: Downlink{
			GatewayID:      best.GatewayID,
			Frequency:      p.rx2Freq,
			DataRate:       rx2DRs,
			Power:          s.txPower(p.rx2Freq),
			Tmst:           best.Tmst + uint32((p.rx1Delay+time.Second)/time.Microsecond),
			InvertPolarity: true,
		},
	}, nil
}

// plan puts the frame for the device into both windows.
func (w windows) plan(kind string, dev lorawan.EUI64, phy []byte, item *queueItem) txPlan {
	rx1, rx2 := w.rx1, w.rx2
	rx1.PHYPayload, rx2.PHYPayload = phy, phy
	rx1.DevEUI, rx2.DevEUI = dev, dev
	return txPlan{kind: kind, item: item, rx1: rx1, rx2: &rx2}
}

// classCWindow is a transmission in the session's RX2 parameters, sent at
// once: a Class C device listens there whenever it is not transmitting.
func (s *Server) classCWindow(ss *session, phy []byte) (Downlink, error) {
	drs, err := s.drString(int(ss.RX2DR))
	if err != nil {
		return Downlink{}, err
	}
	freq := s.rx2Freq(ss) // as the device acknowledged it
	return Downlink{
		DevEUI:         ss.DevEUI,
		GatewayID:      ss.LastGateway,
		PHYPayload:     phy,
		Frequency:      freq,
		DataRate:       drs,
		Power:          s.txPower(freq),
		Immediately:    true,
		InvertPolarity: true,
	}, nil
}

// txPower is the EIRP of a downlink on freq: the configured power, capped
// by the band's limit there (EU868: 14 dBm, 27 dBm in 869.4-869.65 MHz).
func (s *Server) txPower(freq uint32) int {
	limit := s.band.GetDownlinkTXPower(freq)
	if p := s.opts.DownlinkTXPower; p > 0 && p < limit {
		return p
	}
	return limit
}
