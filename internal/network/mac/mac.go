// Package mac reads and writes the MAC command stream of LoRaWAN 1.0.4
// frames (FOpts or an FPort 0 FRMPayload) on brocaar/lorawan's command
// types. It owns the command lengths itself, so an unknown or truncated
// command ends parsing with an error instead of shifting every command
// after it, and it never panics on device input.
package mac

import (
	"errors"
	"fmt"

	"github.com/brocaar/lorawan"
)

// MaxFOpts is the most MAC command bytes the FOpts field can carry; longer
// command lists go in an FPort 0 FRMPayload instead.
const MaxFOpts = 15

// Errors returned by Parse and Pack; check with errors.Is.
var (
	// ErrUnknownCommand means a CID that LoRaWAN 1.0.4 does not define for
	// the direction. Its length is unknown, so the rest of the stream is
	// dropped, as the specification asks of the receiver.
	ErrUnknownCommand = errors.New("unknown MAC command")
	// ErrTruncated means the stream ends inside a command's payload.
	ErrTruncated = errors.New("truncated MAC command")
	// ErrPayload means a command's payload does not match its layout.
	ErrPayload = errors.New("bad MAC command payload")
)

// uplinkLen and downlinkLen are the payload lengths (without the CID) of
// the LoRaWAN 1.0.4 commands, plus ADRParamSetup from 1.1 whose CID 1.0.4
// leaves unused. Class B commands are listed so that a class B device's
// stream parses past them.
var (
	uplinkLen = map[lorawan.CID]int{
		lorawan.LinkCheckReq:       0,
		lorawan.LinkADRAns:         1,
		lorawan.DutyCycleAns:       0,
		lorawan.RXParamSetupAns:    1,
		lorawan.DevStatusAns:       2,
		lorawan.NewChannelAns:      1,
		lorawan.RXTimingSetupAns:   0,
		lorawan.TXParamSetupAns:    0,
		lorawan.DLChannelAns:       1,
		lorawan.ADRParamSetupAns:   0,
		lorawan.DeviceTimeReq:      0,
		lorawan.PingSlotInfoReq:    1,
		lorawan.PingSlotChannelAns: 1,
		lorawan.BeaconFreqAns:      1,
	}
	downlinkLen = map[lorawan.CID]int{
		lorawan.LinkCheckAns:       2,
		lorawan.LinkADRReq:         4,
		lorawan.DutyCycleReq:       1,
		lorawan.RXParamSetupReq:    4,
		lorawan.DevStatusReq:       0,
		lorawan.NewChannelReq:      5,
		lorawan.RXTimingSetupReq:   1,
		lorawan.TXParamSetupReq:    1,
		lorawan.DLChannelReq:       4,
		lorawan.ADRParamSetupReq:   1,
		lorawan.DeviceTimeAns:      5,
		lorawan.PingSlotInfoAns:    0,
		lorawan.PingSlotChannelReq: 4,
		lorawan.BeaconFreqReq:      3,
	}
)

// uplinkRFU and downlinkRFU clear the reserved bits of payloads whose
// fields the library reads from whole bytes, so a sender's RFU bits cannot
// turn into out-of-range values.
var (
	uplinkRFU = map[lorawan.CID][]byte{
		lorawan.DevStatusAns: {0xff, 0x3f}, // margin: 6-bit signed
	}
	downlinkRFU = map[lorawan.CID][]byte{
		lorawan.LinkADRReq:       {0xff, 0xff, 0xff, 0x7f}, // Redundancy bit 7
		lorawan.DutyCycleReq:     {0x0f},
		lorawan.RXParamSetupReq:  {0x7f, 0xff, 0xff, 0xff}, // DLsettings bit 7
		lorawan.RXTimingSetupReq: {0x0f},
	}
)

// ParseUplink decodes the MAC commands an end-device sent. On an unknown
// CID, a truncated command or a payload the library rejects it returns the
// commands before it together with an error naming the offset, so the
// caller can still answer what it understood.
func ParseUplink(b []byte) ([]lorawan.MACCommand, error) {
	return parse(b, true)
}

// ParseDownlink decodes the MAC commands of a network downlink; the
// network never parses these, but tests and tools read what was sent.
func ParseDownlink(b []byte) ([]lorawan.MACCommand, error) {
	return parse(b, false)
}

func parse(b []byte, uplink bool) ([]lorawan.MACCommand, error) {
	lengths, rfu := downlinkLen, downlinkRFU
	if uplink {
		lengths, rfu = uplinkLen, uplinkRFU
	}
	var out []lorawan.MACCommand
	for i := 0; i < len(b); {
		cid := lorawan.CID(b[i])
		n, ok := lengths[cid]
		if !ok {
			return out, fmt.Errorf("%w: CID 0x%02x at byte %d", ErrUnknownCommand, b[i], i)
		}
		if len(b)-i-1 < n {
			return out, fmt.Errorf("%w: %s at byte %d needs %d bytes, %d left", ErrTruncated, cid, i, n, len(b)-i-1)
		}
		cmd := lorawan.MACCommand{CID: cid}
		if n > 0 {
			p, _, err := lorawan.GetMACPayloadAndSize(uplink, cid)
			if err != nil {
				return out, fmt.Errorf("%w: %s at byte %d: %w", ErrPayload, cid, i, err)
			}
			data := append([]byte(nil), b[i+1:i+1+n]...)
			for j, m := range rfu[cid] {
				data[j] &= m
			}
			if err := p.UnmarshalBinary(data); err != nil {
				return out, fmt.Errorf("%w: %s at byte %d: %w", ErrPayload, cid, i, err)
			}
			cmd.Payload = p
		}
		out = append(out, cmd)
		i += 1 + n
	}
	return out, nil
}

// Pack encodes downlink commands in order and reports whether they fit in
// FOpts; if not, the bytes go in an FPort 0 FRMPayload (and, there, are
// encrypted with the NwkSKey). A command that is not a downlink command or
// whose payload does not have the command's length is an error, because
// the device would misread everything after it.
func Pack(cmds []lorawan.MACCommand) (b []byte, fitsFOpts bool, err error) {
	for i, c := range cmds {
		n, ok := downlinkLen[c.CID]
		if !ok {
			return nil, false, fmt.Errorf("command %d: %w: %s is not a downlink command", i, ErrUnknownCommand, c.CID)
		}
		enc, err := c.MarshalBinary()
		if err != nil {
			return nil, false, fmt.Errorf("command %d: %s: %w", i, c.CID, err)
		}
		if len(enc) != 1+n {
			return nil, false, fmt.Errorf("command %d: %w: %s has %d payload bytes, want %d", i, ErrPayload, c.CID, len(enc)-1, n)
		}
		b = append(b, enc...)
	}
	return b, len(b) <= MaxFOpts, nil
}
