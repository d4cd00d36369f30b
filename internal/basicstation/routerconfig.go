package basicstation

import (
	"errors"
	"fmt"
	"slices"

	"github.com/brocaar/lorawan/band"
)

// plan is what the router learns in router_config and what the LNS needs
// to read its frames: the band's data rates by index and its uplink
// channels spread over the concentrator's two radios.
type plan struct {
	region   string
	drs      [16]band.DataRate
	drValid  [16]bool
	channels []uint32
	radios   []radio
	maxEIRP  int
}

type radio struct {
	center   uint32
	channels []uint32
}

// radioSpan is the widest spread of 125 kHz channels one SX1301 radio
// serves: their IF offsets stay within +-400 kHz, as in Semtech's EU868
// reference configuration.
const radioSpan = 800_000

// newPlan reads the band the network layer plans with, extra channels
// included. Only the 125 kHz LoRa channels go to the multi-SF
// demodulators; a plan that needs more than two radios or eight channels
// is refused.
func newPlan(b band.Band) (*plan, error) {
	if b == nil {
		return nil, errors.New("basicstation: no band")
	}
	p := &plan{region: string(b.Name()), maxEIRP: b.GetDownlinkTXPower(b.GetDefaults().RX2Frequency)}
	for i := range p.drs {
		dr, err := b.GetDataRate(i)
		if err != nil {
			continue
		}
		p.drs[i], p.drValid[i] = dr, true
	}
	for _, i := range b.GetUplinkChannelIndices() {
		c, err := b.GetUplinkChannel(i)
		if err != nil || c.Frequency == 0 {
			continue
		}
		p.channels = append(p.channels, c.Frequency)
	}
	slices.Sort(p.channels)
	if len(p.channels) == 0 || len(p.channels) > 8 {
		return nil, fmt.Errorf("basicstation: %d uplink channels; a router's concentrator takes 1..8", len(p.channels))
	}
	for _, f := range p.channels {
		if n := len(p.radios); n > 0 && f-p.radios[n-1].channels[0] <= radioSpan {
			p.radios[n-1].channels = append(p.radios[n-1].channels, f)
			continue
		}
		p.radios = append(p.radios, radio{channels: []uint32{f}})
	}
	if len(p.radios) > 2 {
		return nil, fmt.Errorf("basicstation: the uplink channels %v need %d radios; a concentrator has 2", p.channels, len(p.radios))
	}
	for i := range p.radios {
		r := &p.radios[i]
		r.center = (r.channels[0] + r.channels[len(r.channels)-1]) / 2
	}
	return p, nil
}

// dataRate names a DR index of the band in GWMP's form ("SF7BW125").
func (p *plan) dataRate(dr int) (string, bool) {
	if dr < 0 || dr >= len(p.drs) || !p.drValid[dr] || p.drs[dr].Modulation != band.LoRaModulation {
		return "", false
	}
	d := p.drs[dr]
	return fmt.Sprintf("SF%dBW%d", d.SpreadFactor, d.Bandwidth), true
}

// dataRateIndex is the band index of a GWMP data rate name.
func (p *plan) dataRateIndex(name string) (int, bool) {
	for i := range p.drs {
		if s, ok := p.dataRate(i); ok && s == name {
			return i, true
		}
	}
	return 0, false
}

// routerConfig is the router_config message. Duty cycle is left to the
// network layer (nodc), which keeps the budget per gateway and sub-band
// over a sliding hour; the router's own rule would block a sub-band for
// 99 times each frame's airtime and silently drop what we planned.
func (p *plan) routerConfig(muxTime float64) map[string]any {
	drs := make([][3]int, len(p.drs))
	for i, d := range p.drs {
		switch {
		case !p.drValid[i]:
			drs[i] = [3]int{-1, 0, 0}
		case d.Modulation == band.FSKModulation:
			drs[i] = [3]int{0, 0, 0}
		default:
			drs[i] = [3]int{d.SpreadFactor, d.Bandwidth, 0}
		}
	}
	conf := map[string]any{
		"chan_FSK":      map[string]any{"enable": false},
		"chan_Lora_std": map[string]any{"enable": false},
	}
	n := 0
	for ri := range 2 {
		key := fmt.Sprintf("radio_%d", ri)
		if ri >= len(p.radios) {
			conf[key] = map[string]any{"enable": false}
			continue
		}
		r := p.radios[ri]
		conf[key] = map[string]any{"enable": true, "freq": r.center, "tx_enable": ri == 0}
		for _, f := range r.channels {
			conf[fmt.Sprintf("chan_multiSF_%d", n)] = map[string]any{"enable": true, "radio": ri, "if": int64(f) - int64(r.center)}
			n++
		}
	}
	for ; n < 8; n++ {
		conf[fmt.Sprintf("chan_multiSF_%d", n)] = map[string]any{"enable": false}
	}
	lo, hi := freqRange(p.region)
	return map[string]any{
		"msgtype":     "router_config",
		"NetID":       nil,
		"JoinEui":     nil,
		"region":      p.region,
		"hwspec":      "sx1301/1",
		"freq_range":  []uint32{lo, hi},
		"DRs":         drs,
		"sx1301_conf": []any{conf},
		"max_eirp":    p.maxEIRP,
		"nocca":       true,
		"nodc":        true,
		"nodwell":     true,
		"MuxTime":     muxTime,
	}
}

// freqRange is the band's frequency range, which the router checks every
// frequency against.
func freqRange(region string) (uint32, uint32) {
	if region == string(band.EU868) {
		return 863_000_000, 870_000_000
	}
	return 100_000_000, 1_000_000_000
}
