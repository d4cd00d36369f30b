package sim

import (
	"fmt"
	"math"
	"sync"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"

	"github.com/loraedge/loraedge/internal/network/adr"
)

// EU868 facts of the device side (RP002-1.0.4). The band package gives the
// data rates; these are the end-device parameters it does not hold.
const (
	adrAckLimit  = 64 // ADR_ACK_LIMIT
	adrAckDelay  = 32 // ADR_ACK_DELAY
	maxChannels  = 16
	defaultRX2Hz = 869525000
	minFreqHz    = 863000000
	maxFreqHz    = 870000000
	maxDeviceDR  = 5 // the simulated radios do LoRa at 125 kHz only: DR0..DR5
	maxRX1DROff  = 5
	// BatteryExternal is the DevStatusAns battery value of a mains-powered
	// device; 255 means the device cannot measure it.
	BatteryExternal = 0
	batteryUnknown  = 255
)

// eu868 is the region's band; its DR table turns an index into the rxpk
// data rate the gateway reports.
var eu868 = sync.OnceValues(func() (band.Band, error) {
	return band.GetConfig(band.EU868, false, lorawan.DwellTimeNoLimit)
})

// eu868ADR holds the demodulation floors and the TX power step.
var eu868ADR = adr.EU868()

// defaultChannels are the three EU868 join channels every device knows.
var defaultChannels = [3]uint32{868100000, 868300000, 868500000}

// channel is one uplink channel as the device keeps it.
type channel struct {
	freqHz       uint32
	minDR, maxDR int
	enabled      bool
}

// radio is the regional MAC state a LoRaWAN 1.0.x end device keeps: what
// it transmits with, where it listens, and the MAC answers it still owes
// the network. Its methods are not safe for concurrent use; node guards it.
type radio struct {
	dr, txPower, nbTrans int
	channels             [maxChannels]channel
	rx1DROffset, rx2DR   int
	rx2FreqHz            uint32
	rxDelay              int
	maxDCycle            uint8
	adr                  bool
	adrAckCnt            uint32 // uplinks since the last downlink
	refuseChMask         bool
	battery              uint8
	margin               int8 // demodulation margin of the last downlink
	linkCheckMargin      uint8
	linkCheckGateways    uint8
	gotDeviceTime        bool
	next                 int // channel rotation

	answers []lorawan.MACCommand // for the next uplink
	sticky  []lorawan.MACCommand // repeated in every uplink until a downlink arrives
}

func newRadio(dr int, adrOn, refuseChMask bool, battery uint8) radio {
	r := radio{adr: adrOn, refuseChMask: refuseChMask, battery: battery}
	r.reset(dr)
	return r
}

// reset is the state after a join: the default channels, full power, one
// transmission, the default receive windows.
func (r *radio) reset(dr int) {
	r.dr, r.txPower, r.nbTrans = dr, 0, 1
	r.channels = [maxChannels]channel{}
	for i, f := range defaultChannels {
		r.channels[i] = channel{freqHz: f, minDR: 0, maxDR: maxDeviceDR, enabled: true}
	}
	r.rx1DROffset, r.rx2DR, r.rx2FreqHz, r.rxDelay, r.maxDCycle = 0, 0, defaultRX2Hz, 1, 0
	r.adrAckCnt, r.answers, r.sticky, r.next = 0, nil, nil, 0
}

// applyCFList takes the extra channels of a join-accept (EU868 CFList type
// 0: five frequencies for channels 3..7, DR0..DR5).
func (r *radio) applyCFList(cf *lorawan.CFList) {
	if cf == nil || cf.CFListType != lorawan.CFListChannel {
		return
	}
	pl, ok := cf.Payload.(*lorawan.CFListChannelPayload)
	if !ok {
		return
	}
	for i, f := range pl.Channels {
		if f == 0 || f < minFreqHz || f > maxFreqHz {
			continue
		}
		r.channels[3+i] = channel{freqHz: f, minDR: 0, maxDR: maxDeviceDR, enabled: true}
	}
}

// dataRate is the rxpk datr of the current data rate, e.g. "SF12BW125".
func (r *radio) dataRate() string { return drName(r.dr) }

// drName falls back to DR0 for an index the band does not define; the
// radio never holds one, as LinkADRReq beyond maxDeviceDR is refused.
func drName(dr int) string {
	b, err := eu868()
	if err != nil {
		return "SF12BW125"
	}
	d, err := b.GetDataRate(dr)
	if err != nil || d.Modulation != band.LoRaModulation {
		return "SF12BW125"
	}
	return fmt.Sprintf("SF%dBW%d", d.SpreadFactor, d.Bandwidth)
}

// drIndex is the EU868 index of an rxpk data rate such as "SF9BW125"; DR0
// for anything else.
func drIndex(name string) int {
	var sf, bw int
	if _, err := fmt.Sscanf(name, "SF%dBW%d", &sf, &bw); err != nil {
		return 0
	}
	b, err := eu868()
	if err != nil {
		return 0
	}
	dr, err := b.GetDataRateIndex(true, band.DataRate{Modulation: band.LoRaModulation, SpreadFactor: sf, Bandwidth: bw})
	if err != nil || dr > maxDeviceDR {
		return 0
	}
	return dr
}

// batteryReporter is implemented by models that know their battery; the
// level is DevStatusAns's: 1..254 from empty to full.
type batteryReporter interface {
	batteryLevel() uint8
}

// batteryLevel maps a share of charge in [0, 1] to DevStatusAns's 1..254.
func batteryLevel(share float64) uint8 {
	return uint8(1 + math.Round(253*math.Max(0, math.Min(1, share))))
}

// nextChannel picks the next enabled channel that carries the current data
// rate, round robin as devices spread their uplinks.
func (r *radio) nextChannel() (idx int, freqHz uint32) {
	for range maxChannels {
		i := r.next
		r.next = (r.next + 1) % maxChannels
		c := r.channels[i]
		if c.enabled && r.dr >= c.minDR && r.dr <= c.maxDR {
			return i, c.freqHz
		}
	}
	return 0, defaultChannels[0] // unreachable: a mask leaving no channel is refused
}

// uplinkFCtrl prepares the next uplink's ADR bits and the MAC answers for
// its FOpts. It steps the ADR back-off (LoRaWAN 1.0.4 section 4.3.1.1):
// ADRACKReq from ADR_ACK_LIMIT uplinks without a downlink on, and every
// ADR_ACK_DELAY uplinks after that first full power, then one data rate
// slower, at the slowest rate the default channels back on.
func (r *radio) uplinkFCtrl() (ctrl lorawan.FCtrl, fopts []lorawan.Payload) {
	if r.adr {
		if c := r.adrAckCnt; c >= adrAckLimit+adrAckDelay && (c-adrAckLimit)%adrAckDelay == 0 {
			switch {
			case r.txPower > 0:
				r.txPower = 0
			case r.dr > 0:
				r.dr--
			default:
				for i := range defaultChannels {
					r.channels[i].enabled = true
				}
			}
		}
		ctrl.ADR = true
		ctrl.ADRACKReq = r.adrAckCnt >= adrAckLimit
	}
	r.adrAckCnt++
	size := 0
	take := func(cmds []lorawan.MACCommand) []lorawan.MACCommand {
		var rest []lorawan.MACCommand
		for _, c := range cmds {
			b, err := c.MarshalBinary()
			if err != nil || size+len(b) > 15 {
				rest = append(rest, c)
				continue
			}
			size += len(b)
			fopts = append(fopts, &lorawan.MACCommand{CID: c.CID, Payload: c.Payload})
		}
		return rest
	}
	take(r.sticky) // kept until a downlink arrives
	r.answers = take(r.answers)
	return ctrl, fopts
}

// downlinkReceived is the part of every accepted downlink that is not a
// command: the ADR back-off counter restarts, sticky answers are done, and
// the SNR becomes the demodulation margin DevStatusAns reports.
func (r *radio) downlinkReceived(snr float64) {
	r.adrAckCnt = 0
	r.sticky = nil
	r.margin = int8(math.Max(-32, math.Min(31, math.Round(snr))))
}

// handle applies the MAC commands of one downlink and queues the answers.
// A block of consecutive LinkADRReq is taken as one request, as the
// specification asks.
func (r *radio) handle(cmds []lorawan.MACCommand) {
	for i := 0; i < len(cmds); i++ {
		c := cmds[i]
		switch pl := c.Payload.(type) {
		case *lorawan.LinkADRReqPayload:
			j := i
			var block []lorawan.LinkADRReqPayload
			for ; j < len(cmds); j++ {
				p, ok := cmds[j].Payload.(*lorawan.LinkADRReqPayload)
				if !ok {
					break
				}
				block = append(block, *p)
			}
			r.linkADR(block)
			i = j - 1
		case *lorawan.NewChannelReqPayload:
			r.newChannel(*pl)
		case *lorawan.RXParamSetupReqPayload:
			r.rxParamSetup(*pl)
		case *lorawan.RXTimingSetupReqPayload:
			r.rxDelay = max(1, int(pl.Delay))
			r.sticky = append(r.sticky, lorawan.MACCommand{CID: lorawan.RXTimingSetupAns})
		case *lorawan.DutyCycleReqPayload:
			r.maxDCycle = pl.MaxDCycle
			r.answers = append(r.answers, lorawan.MACCommand{CID: lorawan.DutyCycleAns})
		case *lorawan.LinkCheckAnsPayload:
			r.linkCheckMargin, r.linkCheckGateways = pl.Margin, pl.GwCnt
		case *lorawan.DeviceTimeAnsPayload:
			r.gotDeviceTime = true
		default:
			if c.CID == lorawan.DevStatusReq {
				r.answers = append(r.answers, lorawan.MACCommand{CID: lorawan.DevStatusAns,
					Payload: &lorawan.DevStatusAnsPayload{Battery: r.battery, Margin: r.margin}})
			}
			// TXParamSetupReq and the class B commands do not apply to
			// an EU868 class A device: no answer.
		}
	}
}

// linkADR applies a LinkADRReq block: the channel masks in order, then the
// last command's data rate, power and NbTrans, all or nothing.
func (r *radio) linkADR(block []lorawan.LinkADRReqPayload) {
	enabled := [maxChannels]bool{}
	for i, c := range r.channels {
		enabled[i] = c.enabled
	}
	maskOK := !r.refuseChMask
	for _, p := range block {
		switch p.Redundancy.ChMaskCntl {
		case 0:
			for i := range maxChannels {
				if p.ChMask[i] && r.channels[i].freqHz == 0 {
					maskOK = false // unknown channel
				}
				enabled[i] = p.ChMask[i]
			}
		case 6:
			for i, c := range r.channels {
				enabled[i] = c.freqHz != 0
			}
		default:
			maskOK = false // RFU in EU868
		}
	}
	last := block[len(block)-1]
	dr, power, nb := r.dr, r.txPower, r.nbTrans
	if last.DataRate != 0x0f {
		dr = int(last.DataRate)
	}
	if last.TXPower != 0x0f {
		power = int(last.TXPower)
	}
	if last.Redundancy.NbRep != 0 {
		nb = int(last.Redundancy.NbRep)
	}
	// The data rate must be one the radio has and that an enabled channel
	// carries (LoRaWAN 1.0.4 section 5.3).
	anyOn, carried := false, false
	for i, on := range enabled {
		anyOn = anyOn || on
		c := r.channels[i]
		carried = carried || on && c.freqHz != 0 && dr >= c.minDR && dr <= c.maxDR
	}
	drOK := dr <= maxDeviceDR && (carried || !anyOn)
	maskOK = maskOK && anyOn
	powerOK := power <= eu868ADR.MaxTXPowerIndex
	ans := lorawan.LinkADRAnsPayload{ChannelMaskACK: maskOK, DataRateACK: drOK, PowerACK: powerOK}
	if maskOK && drOK && powerOK {
		for i := range r.channels {
			r.channels[i].enabled = enabled[i]
		}
		r.dr, r.txPower, r.nbTrans = dr, power, nb
	}
	for range block {
		a := ans
		r.answers = append(r.answers, lorawan.MACCommand{CID: lorawan.LinkADRAns, Payload: &a})
	}
}

func (r *radio) newChannel(p lorawan.NewChannelReqPayload) {
	i := int(p.ChIndex)
	freqOK := i >= len(defaultChannels) && i < maxChannels &&
		(p.Freq == 0 || p.Freq >= minFreqHz && p.Freq <= maxFreqHz)
	drOK := p.MinDR <= p.MaxDR && int(p.MinDR) <= maxDeviceDR
	if freqOK && drOK {
		if p.Freq == 0 {
			r.channels[i] = channel{}
		} else {
			r.channels[i] = channel{freqHz: p.Freq, minDR: int(p.MinDR), maxDR: min(int(p.MaxDR), maxDeviceDR), enabled: true}
		}
	}
	r.answers = append(r.answers, lorawan.MACCommand{CID: lorawan.NewChannelAns,
		Payload: &lorawan.NewChannelAnsPayload{ChannelFrequencyOK: freqOK, DataRateRangeOK: drOK}})
}

func (r *radio) rxParamSetup(p lorawan.RXParamSetupReqPayload) {
	ans := lorawan.RXParamSetupAnsPayload{
		ChannelACK:     p.Frequency >= minFreqHz && p.Frequency <= maxFreqHz,
		RX2DataRateACK: int(p.DLSettings.RX2DataRate) <= maxDeviceDR,
		RX1DROffsetACK: int(p.DLSettings.RX1DROffset) <= maxRX1DROff,
	}
	if ans.ChannelACK && ans.RX2DataRateACK && ans.RX1DROffsetACK {
		r.rx2FreqHz = p.Frequency
		r.rx2DR = int(p.DLSettings.RX2DataRate)
		r.rx1DROffset = int(p.DLSettings.RX1DROffset)
	}
	r.sticky = append(r.sticky, lorawan.MACCommand{CID: lorawan.RXParamSetupAns, Payload: &ans})
}

// enabledChannels lists the frequencies the device transmits on.
func (r *radio) enabledChannels() []uint32 {
	var out []uint32
	for _, c := range r.channels {
		if c.enabled {
			out = append(out, c.freqHz)
		}
	}
	return out
}
