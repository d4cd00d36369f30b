// Package adrsim emulates a LoRaWAN field to compare ADR algorithms without
// radios or sockets: devices with fixed mean SNRs and Gaussian fading send
// through one gateway, frames under the data rate's demodulation floor are
// lost, and the network applies each ADR decision at the downlink after the
// uplink that caused it. Devices back off on their own after
// ADR_ACK_LIMIT + ADR_ACK_DELAY uplinks without a downlink, as LoRaWAN
// 1.0.4 section 4.3.1.1 requires, and the network answers ADRACKReq.
// Collisions and downlink loss are not modelled, so the loss it reports is
// the link's alone.
package adrsim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/network/airtime"
)

// Field describes the emulated devices.
type Field struct {
	Devices int
	// Seed makes the field and its fading repeatable.
	Seed uint64
	// MinSNR and MaxSNR bound the devices' mean SNR at full power, dB;
	// the means are drawn uniformly between them.
	MinSNR, MaxSNR float64
	// FadingDB is the standard deviation of the per-frame fading.
	FadingDB float64
	// Interval is the time between a device's frames, Duration the run.
	Interval, Duration time.Duration
	// PHYLen is the uplink PHYPayload length in bytes.
	PHYLen int
	Band   adr.Band
	Limits adr.Limits
	// Drop, when set, worsens some devices' links part way through.
	Drop *Drop
}

// Drop lowers the mean SNR of every Every-th device by DB from At on, like
// a parked lorry or a new building between device and gateway.
type Drop struct {
	Every int
	At    time.Duration
	DB    float64
}

// EU868Field is the field of the MAC-layer issue: 40 EU868 devices with
// mean SNRs over -5..+10 dB, 2 dB fading, a frame every 10 minutes with
// 10 bytes of application payload, for 50 hours.
func EU868Field() Field {
	b := adr.EU868()
	return Field{
		Devices:  40,
		Seed:     23,
		MinSNR:   -5,
		MaxSNR:   10,
		FadingDB: 2,
		Interval: 10 * time.Minute,
		Duration: 50 * time.Hour,
		PHYLen:   13 + 10,
		Band:     b,
		Limits:   adr.DefaultLimits(b),
	}
}

// Device is one device's outcome.
type Device struct {
	// MeanSNR is the device's true mean SNR at full power at the end of
	// the run.
	MeanSNR float64
	// Final is its setting at the end of the run.
	Final adr.Setting
	// Fastest is FastestDR of its mean SNR.
	Fastest int
	// Spare is the mean SNR at the final setting minus the floor of the
	// final data rate minus the installation margin; negative is beyond
	// the margin.
	Spare float64
	// Changes counts the LinkADRReq the network sent.
	Changes int
}

// Result sums up a run.
type Result struct {
	Algorithm string
	Devices   []Device
	// AtFastest counts devices that end at FastestDR of their mean SNR.
	AtFastest int
	// BeyondMargin counts devices whose final setting leaves less than the
	// installation margin (Spare < 0) although a more robust one exists.
	BeyondMargin int
	// OutOfReach counts devices short of the margin even at the slowest
	// data rate and full power, where ADR can do nothing more.
	OutOfReach int
	// TxSent and TxLost count radio transmissions in the second half of
	// the run, after convergence; FramesLost counts frame counters of that
	// half that reached the network in no transmission.
	TxSent, TxLost, Frames, FramesLost int
	// AirtimeFirstHour and AirtimeLastHour are the total uplink time on
	// air of all devices in the first and the last hour.
	AirtimeFirstHour, AirtimeLastHour time.Duration
	// Changes counts LinkADRReq over all devices.
	Changes int
}

// LossAfter is the share of transmissions lost after convergence.
func (r Result) LossAfter() float64 {
	if r.TxSent == 0 {
		return 0
	}
	return float64(r.TxLost) / float64(r.TxSent)
}

// String is one line of the comparison table.
func (r Result) String() string {
	n := len(r.Devices)
	return fmt.Sprintf("%-9s at fastest %2d/%d (%3.0f%%)  beyond margin %2d (out of reach %d)  tx lost after convergence %5.2f%% (%d/%d, frames lost %d/%d)  airtime/h %6.1fs -> %5.1fs  LinkADRReq %d",
		r.Algorithm, r.AtFastest, n, 100*float64(r.AtFastest)/float64(max(n, 1)), r.BeyondMargin, r.OutOfReach,
		100*r.LossAfter(), r.TxLost, r.TxSent, r.FramesLost, r.Frames,
		r.AirtimeFirstHour.Seconds(), r.AirtimeLastHour.Seconds(), r.Changes)
}

// ADR_ACK_LIMIT and ADR_ACK_DELAY of the LoRaWAN 1.0.4 Regional Parameters.
const (
	adrAckLimit = 64
	adrAckDelay = 32
)

// backoff is the device's own step towards range after missing downlinks
// for ADR_ACK_LIMIT + ADR_ACK_DELAY uplinks, and every ADR_ACK_DELAY after:
// first full power, then one data rate slower each time.
func backoff(s adr.Setting, sinceDownlink uint32, minDR int) adr.Setting {
	if sinceDownlink < adrAckLimit+adrAckDelay || (sinceDownlink-adrAckLimit)%adrAckDelay != 0 {
		return s
	}
	if s.TXPowerIndex > 0 {
		s.TXPowerIndex = 0
	} else if s.DR > minDR {
		s.DR--
	}
	return s
}

// FastestDR is the fastest data rate a device's mean SNR allows with the
// margin: the highest data rate d in [l.MinDR, min(l.MaxDR, b.MaxADRDR)]
// whose demodulation floor plus the installation margin does not exceed
// the mean SNR at full power, meanSNR - RequiredSNR[d] >= l.Margin; when
// even l.MinDR does not satisfy it, l.MinDR.
func FastestDR(meanSNR float64, b adr.Band, l adr.Limits) int {
	top := max(l.MinDR, min(l.MaxDR, b.MaxADRDR))
	for d := top; d > l.MinDR; d-- {
		if meanSNR-b.RequiredSNR[d] >= l.Margin {
			return d
		}
	}
	return l.MinDR
}

// Run emulates the field under the algorithm; name labels the result.
func Run(f Field, name string, alg adr.Algorithm) (Result, error) {
	if err := f.Band.Validate(); err != nil {
		return Result{}, fmt.Errorf("band: %w", err)
	}
	if f.Devices <= 0 || f.Interval <= 0 || f.Duration < 2*time.Hour {
		return Result{}, fmt.Errorf("field needs devices, an interval and at least two hours")
	}
	rng := rand.New(rand.NewPCG(f.Seed, 0x4144522d53494d))
	res := Result{Algorithm: name}
	for i := range f.Devices {
		dev, err := f.runDevice(i, alg, rng, &res)
		if err != nil {
			return Result{}, err
		}
		if dev.Final.DR == dev.Fastest {
			res.AtFastest++
		}
		switch {
		case dev.Spare >= 0:
		case dev.Final.DR <= f.Limits.MinDR && dev.Final.TXPowerIndex == 0:
			res.OutOfReach++
		default:
			res.BeyondMargin++
		}
		res.Changes += dev.Changes
		res.Devices = append(res.Devices, dev)
	}
	return res, nil
}

// runDevice emulates device i for the field's duration: its uplinks, the
// network's decisions at each downlink opportunity and the device's own
// ADR back-off. Air time and losses are added to res.
func (f Field) runDevice(i int, alg adr.Algorithm, rng *rand.Rand, res *Result) (Device, error) {
	mean := f.MinSNR + (f.MaxSNR-f.MinSNR)*rng.Float64()
	dropped := f.Drop != nil && f.Drop.Every > 0 && i%f.Drop.Every == 0
	offset := time.Duration(rng.Int64N(int64(f.Interval)))
	set := adr.Setting{DR: f.Limits.MinDR, TXPowerIndex: 0, NbTrans: 1}
	st := adr.NewState(set)
	var dev Device
	var fcnt, lastDown uint32
	for at := offset; at < f.Duration; at += f.Interval {
		if dropped && at >= f.Drop.At && at-f.Interval < f.Drop.At {
			mean -= f.Drop.DB
		}
		fcnt++
		set = backoff(set, fcnt-lastDown, f.Limits.MinDR)
		received, best, err := f.transmit(set, mean, at, rng, res)
		if err != nil {
			return Device{}, err
		}
		if !received {
			continue // no uplink, no downlink opportunity
		}
		if fcnt-lastDown >= adrAckLimit+adrAckDelay {
			// The frame counter tells the network the device backed off.
			st.Apply(set, fcnt)
		}
		if fcnt-lastDown >= adrAckLimit {
			lastDown = fcnt // the answer to ADRACKReq
		}
		st.Observe(adr.Uplink{
			FCnt:         fcnt,
			DR:           set.DR,
			TXPowerIndex: set.TXPowerIndex,
			SNR:          best + float64(set.TXPowerIndex)*f.Band.TXPowerStepDB,
		})
		if d, ok := alg.Decide(&st, f.Band, f.Limits); ok {
			set = d.Setting
			st.Apply(set, fcnt+1)
			dev.Changes++
			lastDown = fcnt
		}
	}
	dev.MeanSNR = mean
	dev.Final = set
	dev.Fastest = FastestDR(mean, f.Band, f.Limits)
	dev.Spare = mean - float64(set.TXPowerIndex)*f.Band.TXPowerStepDB - f.Band.RequiredSNR[set.DR] - f.Limits.Margin
	return dev, nil
}

// transmit sends one frame NbTrans times over the fading link and counts
// its air time and, in the second half of the field, its losses. It
// returns whether the network heard it and the SNR of the first copy heard.
func (f Field) transmit(set adr.Setting, mean float64, at time.Duration, rng *rand.Rand, res *Result) (bool, float64, error) {
	received, best := false, 0.0
	half := f.Duration / 2
	for range set.NbTrans {
		snr := mean - float64(set.TXPowerIndex)*f.Band.TXPowerStepDB + f.FadingDB*rng.NormFloat64()
		ok := snr >= f.Band.RequiredSNR[set.DR]
		if !received && ok {
			received, best = true, snr
		}
		toa, err := airtime.Uplink(12-set.DR, 125000, f.PHYLen)
		if err != nil {
			return false, 0, fmt.Errorf("airtime: %w", err)
		}
		if at < time.Hour {
			res.AirtimeFirstHour += toa
		}
		if at >= f.Duration-time.Hour {
			res.AirtimeLastHour += toa
		}
		if at >= half {
			res.TxSent++
			if !ok {
				res.TxLost++
			}
		}
	}
	if at >= half {
		res.Frames++
		if !received {
			res.FramesLost++
		}
	}
	return received, best, nil
}
