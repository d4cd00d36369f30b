package network

import (
	"math"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/gps"

	"github.com/loraedge/loraedge/internal/uplink"
)

// MAC commands: the device's requests, from FOpts or FRMPayload on port 0,
// are answered in the FOpts of the next Class A downlink. Commands the server starts itself (ADR, status,
// channels, RX parameters) and their pending state belong here too.

// requiredSNR is the demodulation floor per spreading factor (SX127x/SX130x
// datasheets), used for the LinkCheckAns margin.
var requiredSNR = map[int]float64{7: -7.5, 8: -10, 9: -12.5, 10: -15, 11: -17.5, 12: -20}

// maxFOpts is the FOpts field's size: MAC commands beyond it are left out.
const maxFOpts = 15

// foptsCommands decodes the MAC commands in FOpts (clear text in 1.0); a
// frame with a valid MIC but undecodable commands is still the device's
// frame, so it counts.
func (s *Server) foptsCommands(phy *lorawan.PHYPayload, mac *lorawan.MACPayload, devEUI lorawan.EUI64) []lorawan.Payload {
	if len(mac.FHDR.FOpts) == 0 {
		return nil
	}
	if err := phy.DecodeFOptsToMACCommands(); err != nil {
		s.log.Debug("undecodable FOpts", "dev_eui", devEUI.String(), "err", err)
		return nil
	}
	return mac.FHDR.FOpts
}

// macAnswers answers the device's MAC commands of the uplink.
func (s *Server) macAnswers(cmds []lorawan.Payload, up *uplink.Uplink) []lorawan.Payload {
	var out []lorawan.Payload
	for _, p := range cmds {
		c, ok := p.(*lorawan.MACCommand)
		if !ok {
			continue
		}
		switch c.CID {
		case lorawan.LinkCheckReq:
			out = append(out, linkCheckAns(up))
		case lorawan.DeviceTimeReq:
			out = append(out, &lorawan.MACCommand{CID: lorawan.DeviceTimeAns, Payload: &lorawan.DeviceTimeAnsPayload{
				TimeSinceGPSEpoch: gps.Time(up.Time).TimeSinceGPSEpoch(),
			}})
		default:
			s.log.Debug("mac command not handled", "dev_eui", up.DevEUI.String(), "cid", c.CID.String())
		}
	}
	return out
}

// linkCheckAns reports the best reception's margin above the demodulation
// floor and how many gateways heard the uplink.
func linkCheckAns(up *uplink.Uplink) *lorawan.MACCommand {
	margin := 0.0
	if sf, _, ok := parseLoRaDR(up.DataRate); ok {
		margin = up.RxInfo[0].SNR - requiredSNR[sf]
	}
	margin = math.Max(0, math.Min(254, math.Floor(margin)))
	return &lorawan.MACCommand{CID: lorawan.LinkCheckAns, Payload: &lorawan.LinkCheckAnsPayload{
		Margin: uint8(margin),
		GwCnt:  uint8(min(len(up.RxInfo), 255)),
	}}
}

// fitFOpts keeps the MAC commands that fit FOpts, in order, and returns
// their encoded length; the ones left out the device asks for again.
func fitFOpts(macs []lorawan.Payload) ([]lorawan.Payload, int) {
	var fopts []lorawan.Payload
	n := 0
	for _, m := range macs {
		b, err := m.MarshalBinary()
		if err != nil || n+len(b) > maxFOpts {
			continue
		}
		n += len(b)
		fopts = append(fopts, m)
	}
	return fopts, n
}
