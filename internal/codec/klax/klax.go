// Package klax decodes the Alpha-Omega Technology KLAX, a LoRaWAN optical
// reading head for electricity meters with an SML or IEC 62056-21 info
// interface (and its MODBUS variant). fPort selects the message: 3 app data
// (meter registers), 100 configuration, 101 firmware info.
//
// Fields follow the published decoder's shape ({header, msgInfo, payloads,
// type}). A register's meaning (which OBIS code a filter reads) is device
// configuration, not part of the frame; option "obis" maps filter ids to
// OBIS codes, which then name the values ("1.8.0"); unmapped filters are
// "filter0".."filter3". Of the four readings of a historic register the
// first is the newest and is the only one returned as a value: the frame
// does not say when the older ones were taken.
package klax

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// ID is the codec id used in firmware profiles.
const ID = "alphaomega-klax"

// Ports of the message types.
const (
	PortApp    = 3
	PortConfig = 100
	PortInfo   = 101
)

var units = [16]string{"NDEF", "Wh", "W", "V", "A", "Hz", "varh", "var", "VAh", "VA",
	"unit10", "unit11", "unit12", "unit13", "unit14", "unit15"}

var smlModes = []string{"SML", "IEC 62056-21 Mode B", "IEC 62056-21 Mode C", "Logarex", "eBZ", "Tritschler VC3"}
var modbusModes = []string{"RTU", "ASCII", "RTU INTERDELAY"}

// Decoder decodes KLAX uplinks; immutable and safe for concurrent use.
type Decoder struct {
	names [4]string
}

var _ codec.Decoder = (*Decoder)(nil)

// New builds a decoder. Option "obis" maps filter ids ("0"-"3") to the
// OBIS codes the device is configured to read, e.g. {"0": "1.8.0"}.
func New(options map[string]any) (codec.Decoder, error) {
	var o struct {
		OBIS map[string]string `json:"obis"`
	}
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	d := &Decoder{}
	for i := range d.names {
		d.names[i] = "filter" + strconv.Itoa(i)
	}
	for k, v := range o.OBIS {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i > 3 {
			return nil, fmt.Errorf("option obis: filter id %q is not 0-3", k)
		}
		if v == "" {
			return nil, fmt.Errorf("option obis: empty code for filter %d", i)
		}
		d.names[i] = v
	}
	return d, nil
}

type header struct {
	version    int
	deviceType int
}

// Decode implements codec.Decoder.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	res := codec.Result{Fields: map[string]any{}}
	b := in.Bytes
	switch in.FPort {
	case PortApp, PortConfig, PortInfo, 103, 104, 105:
	default:
		return res, fmt.Errorf("%w: no KLAX message on port %d", codec.ErrFPort, in.FPort)
	}
	if len(b) < 2 {
		return res, fmt.Errorf("%w: %d bytes, the header has 2", codec.ErrTruncated, len(b))
	}
	h, hf, battery := parseHeader(b[0], b[1])
	res.Fields["header"] = hf
	res.Values = append(res.Values, codec.Value{Field: "batteryPerc", Value: float64(battery), Unit: "%"})
	switch in.FPort {
	case PortApp:
		res.Fields["type"] = "app"
		if len(b) < 4 {
			return res, fmt.Errorf("%w: app message without message info", codec.ErrTruncated)
		}
		res.Fields["msgInfo"] = map[string]any{"msgIdx": int(b[2]), "msgCnt": int(b[3] & 0x0F), "msgNum": int(b[3] >> 4)}
		payloads, err := d.blocks(h, b[4:], &res)
		res.Fields["payloads"] = payloads
		if err != nil {
			return res, err
		}
	case PortConfig:
		res.Fields["type"] = "config"
		if len(b) < 4 {
			return res, fmt.Errorf("%w: config message without interval", codec.ErrTruncated)
		}
		res.Fields["measuringInterval"] = int(binary.BigEndian.Uint16(b[2:4]))
	case PortInfo:
		res.Fields["type"] = "info"
		if len(b) < 4 {
			return res, fmt.Errorf("%w: info message without version", codec.ErrTruncated)
		}
		res.Fields["appMajorVersion"], res.Fields["appMinorVersion"] = int(b[2]), int(b[3])
	default:
		res.Fields["type"] = "port" + strconv.Itoa(int(in.FPort))
		res.Warnings = append(res.Warnings, fmt.Sprintf("message on port %d (register search/set, modbus set) not decoded", in.FPort))
	}
	return res, nil
}

func parseHeader(b0, b1 byte) (header, map[string]any, int) {
	h := header{version: int(b0 >> 2), deviceType: int(b0 & 3)}
	var battery, mode int
	if h.version == 0 {
		battery, mode = int(b1&0x0F)*10, int(b1>>4)&3
	} else {
		battery, mode = int(b1&7)*20, int(b1>>3)&7
	}
	devType, modes := "unknown", []string(nil)
	switch h.deviceType {
	case 0:
		devType, modes = "SML Klax", smlModes
	case 1:
		devType, modes = "MODBUS Klax", modbusModes
	}
	meterType := "unknown"
	if mode < len(modes) {
		meterType = modes[mode]
	}
	return h, map[string]any{
		"version": h.version, "deviceType": devType, "batteryPerc": battery, "meterType": meterType,
		"configured": b1&0x40 != 0, "connTest": b1&0x80 != 0,
	}, battery
}

// blockLen returns the body length of block id, or -1 for an unknown id.
func blockLen(id byte, version int) int {
	switch id {
	case 1:
		if version == 0 {
			return 34
		}
		return 18
	case 2:
		return 19
	case 3:
		return 10
	case 4:
		return 10
	case 5:
		return 18
	case 6:
		return 34
	case 7:
		return 1
	case 8:
		return 4
	}
	return -1
}

func (d *Decoder) blocks(h header, b []byte, res *codec.Result) ([]any, error) {
	payloads := []any{}
	for i := 0; i < len(b); {
		id := b[i]
		n := blockLen(id, h.version)
		if n < 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("unknown block id %d at byte %d: rest of the message skipped", id, 4+i))
			break
		}
		if i+1+n > len(b) {
			return payloads, fmt.Errorf("%w: block %d at byte %d needs %d bytes, %d left", codec.ErrTruncated, id, 4+i, n, len(b)-i-1)
		}
		body := b[i+1 : i+1+n]
		i += 1 + n
		switch {
		case id == 3:
			payloads = append(payloads, map[string]any{"type": "serverID", "id": hex.EncodeToString(body)})
		case id == 1 && h.version == 0:
			payloads = append(payloads, d.historic(body, res))
		case id == 1:
			payloads = append(payloads, d.filter(body, res))
		case id == 2:
			payloads = append(payloads, d.now(h, body, res))
		case id == 8:
			payloads = append(payloads, map[string]any{"type": "deviceID", "id": binary.BigEndian.Uint32(body)})
		case id == 7:
			payloads = append(payloads, map[string]any{"type": "modbusStatus", "status": int(body[0])})
		default: // 4, 5, 6: MODBUS register filters, kept raw
			payloads = append(payloads, map[string]any{"type": "modbusFilter", "raw": hex.EncodeToString(body)})
			res.Warnings = append(res.Warnings, fmt.Sprintf("MODBUS register block %d not decoded", id))
		}
	}
	return payloads, nil
}

// historic decodes block 1 of format version 0: two registers with four
// int32 readings each, newest first.
func (d *Decoder) historic(body []byte, res *codec.Result) map[string]any {
	mask, unitByte := body[0], body[1]
	var regs []any
	for r := 0; r < 2; r++ {
		m := mask >> (4 * r)
		if m&1 == 0 {
			continue
		}
		filter := int(m>>1) & 3
		unit := units[unitByte>>(4*r)&0x0F]
		vals := make([]int64, 4)
		valid := m&8 != 0
		for k := range vals {
			vals[k] = int64(int32(binary.BigEndian.Uint32(body[2+16*r+4*k:])))
			valid = valid || vals[k] != 0
		}
		regs = append(regs, map[string]any{
			"dataValid": valid, "data_valid": valid, "filterId": filter, "unit": unit, "values": vals,
		})
		if valid {
			res.Values = append(res.Values, codec.Value{Field: d.names[filter], Value: float64(vals[0]), Unit: unit})
		}
	}
	if regs == nil {
		regs = []any{}
	}
	return map[string]any{"type": "historic", "registers": regs}
}

// filter decodes block 1 of format version > 0: one register, four float32
// readings with a valid flag each.
func (d *Decoder) filter(body []byte, res *codec.Result) map[string]any {
	active, filter := body[0]&1 != 0, int(body[0]>>1)&3
	unit := units[body[0]>>4]
	vals := make([]any, 4)
	for k := range vals {
		v := float64(math.Float32frombits(binary.BigEndian.Uint32(body[2+4*k:])))
		ok := body[1]>>k&1 != 0
		vals[k] = map[string]any{"value": jsonNumber(v), "valid": ok}
		if k == 0 && ok && active && !math.IsNaN(v) && !math.IsInf(v, 0) {
			res.Values = append(res.Values, codec.Value{Field: d.names[filter], Value: v, Unit: unit})
		}
	}
	return map[string]any{"type": "filter", "register": map[string]any{
		"filterActive": active, "filterId": filter, "unit": unit, "values": vals,
	}}
}

// now decodes block 2: the current value of up to four registers.
func (d *Decoder) now(h header, body []byte, res *codec.Result) map[string]any {
	regs := make([]any, 4)
	for r := 0; r < 4; r++ {
		set, valid := body[0]>>r&1 != 0, body[0]>>(4+r)&1 != 0
		unit := units[body[1+r/2]>>(4*(r%2))&0x0F]
		raw := binary.BigEndian.Uint32(body[3+4*r:])
		var v float64
		if h.version == 0 {
			v = float64(int32(raw))
		} else {
			v = float64(math.Float32frombits(raw))
		}
		regs[r] = map[string]any{"filterSet": set, "dataValid": valid, "unit": unit, "value": jsonNumber(v)}
		if set && valid && !math.IsNaN(v) && !math.IsInf(v, 0) {
			res.Values = append(res.Values, codec.Value{Field: d.names[r], Value: v, Unit: unit})
		}
	}
	return map[string]any{"type": "now", "registers": regs}
}

// jsonNumber keeps NaN and infinities (possible in float32 registers) out
// of Fields, which are marshalled to JSON.
func jsonNumber(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// FieldNames lists every Value.Field the decoder can return with its
// options: the battery level and one name per register filter.
func (d *Decoder) FieldNames() []string {
	return append([]string{"batteryPerc"}, d.names[:]...)
}
