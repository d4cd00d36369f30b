package sim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/brocaar/lorawan"
)

// LinkModel is the radio path between the simulated devices and gateways:
// each device has, towards each gateway, a mean SNR at full TX power; each
// transmission fades by a Gaussian draw; a lower TX power index costs the
// band's power step (EU868: 2 dB per index); a frame below the demodulation
// floor of its data rate (SF7 -7.5 ... SF12 -20 dB) is lost at that
// gateway. RSSI follows from the SNR over the thermal noise of a 125 kHz
// channel, so the two never contradict each other.
type LinkModel struct {
	// MinSNR and MaxSNR bound the mean SNR at full power in dB; each
	// device-gateway pair draws its mean uniformly between them.
	MinSNR float64
	MaxSNR float64
	// FadingDB is the standard deviation of the per-frame fading.
	FadingDB float64
}

// DefaultLinkModel keeps every device of the demo scenarios in reach of
// every gateway even at SF7 (the weakest link keeps 7.5 dB above the SF7
// floor, almost four fading deviations), so that ADR has room to steer
// without the scenarios losing readings.
func DefaultLinkModel() LinkModel {
	return LinkModel{MinSNR: 0, MaxSNR: 10, FadingDB: 2}
}

// FieldLinkModel is the field of the MAC-layer issue: mean SNRs over
// -5..+10 dB and 2 dB of fading, the same field adrsim emulates.
func FieldLinkModel() LinkModel {
	return LinkModel{MinSNR: -5, MaxSNR: 10, FadingDB: 2}
}

// Validate reports a model that cannot be drawn from.
func (m LinkModel) Validate() error {
	var errs []error
	if m.MinSNR > m.MaxSNR {
		errs = append(errs, fmt.Errorf("link model: min SNR %g dB above max SNR %g dB", m.MinSNR, m.MaxSNR))
	}
	if m.FadingDB < 0 || math.IsNaN(m.FadingDB) {
		errs = append(errs, fmt.Errorf("link model: fading %g dB is negative", m.FadingDB))
	}
	if math.IsNaN(m.MinSNR) || math.IsNaN(m.MaxSNR) || math.IsInf(m.MinSNR, 0) || math.IsInf(m.MaxSNR, 0) {
		errs = append(errs, errors.New("link model: SNR bounds must be finite"))
	}
	return errors.Join(errs...)
}

// noiseFloorDBm is the thermal noise of a 125 kHz channel behind a 6 dB
// noise figure: -174 + 10 log10(125000) + 6.
const noiseFloorDBm = -117

// meanSNR draws the mean SNR of a device towards a gateway from the DevEUI,
// the gateway index and the seed, so that a device keeps its link whatever
// order the devices are built in.
func (m LinkModel) meanSNR(eui lorawan.EUI64, gw int, seed uint64) float64 {
	h := fnv.New64a()
	h.Write(eui[:])
	h.Write([]byte{byte(gw), byte(gw >> 8)})
	r := rand.New(rand.NewPCG(h.Sum64(), seed))
	return m.MinSNR + r.Float64()*(m.MaxSNR-m.MinSNR)
}

// reception is what one gateway makes of one transmission.
type reception struct {
	snr, rssi float64
	heard     bool
}

// receive applies the TX power reduction, the fading and the floor of the
// data rate to one transmission over a link with the given mean.
func (m LinkModel) receive(mean float64, dr, txPower int, fading float64) reception {
	snr := mean - float64(txPower)*eu868ADR.TXPowerStepDB + fading*m.FadingDB
	floor := eu868ADR.RequiredSNR[0]
	if dr >= 0 && dr < len(eu868ADR.RequiredSNR) {
		floor = eu868ADR.RequiredSNR[dr]
	}
	return reception{snr: snr, rssi: rssiFor(snr), heard: snr >= floor}
}

// rssiFor is the packet RSSI of a frame with the given SNR: signal plus
// noise power over the channel's noise floor.
func rssiFor(snr float64) float64 {
	return noiseFloorDBm + 10*math.Log10(1+math.Pow(10, snr/10))
}
