// Package dragino decodes Dragino sensors: the LHT65 temperature/humidity
// sensor (11 bytes big-endian on fPort 2, where byte 6 names the external
// sensor and so the meaning of bytes 7-10, and for type 9 of bytes 0-1) and
// the LDDS75 and DDS75-LB ultrasonic distance sensors used at river gauges.
package dragino

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// FPort is the LHT65 data port.
const FPort = 2

const frameLen = 11

// Decoder decodes LHT65 uplinks; safe for concurrent use.
type Decoder struct{}

var _ codec.Decoder = (*Decoder)(nil)

// New builds a decoder; the codec has no options.
func New(options map[string]any) (codec.Decoder, error) {
	var o struct{}
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	return &Decoder{}, nil
}

type out struct{ res codec.Result }

func (o *out) num(key, unit string, v float64) {
	o.res.Fields[key] = v
	o.res.Values = append(o.res.Values, codec.Value{Field: key, Value: v, Unit: unit})
}

// Decode implements codec.Decoder.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	if in.FPort != FPort {
		return codec.Result{}, fmt.Errorf("%w: %d, LHT65 data uses %d", codec.ErrFPort, in.FPort, FPort)
	}
	b := in.Bytes
	switch {
	case len(b) < frameLen:
		return codec.Result{}, fmt.Errorf("%w: %d bytes, want %d", codec.ErrTruncated, len(b), frameLen)
	case len(b) > frameLen:
		return codec.Result{}, fmt.Errorf("%w: %d bytes, want %d", codec.ErrFormat, len(b), frameLen)
	}
	o := &out{res: codec.Result{Fields: map[string]any{}}}
	if b[6]&0x40 != 0 {
		// A poll reply carries logged data in another layout; the vendor
		// decoder returns nothing for it either.
		o.res.Warnings = append(o.res.Warnings, "poll reply (data log) not decoded")
		return o.res, nil
	}
	u16 := func(i int) uint16 { return binary.BigEndian.Uint16(b[i:]) }
	i16 := func(i int) float64 { return float64(int16(u16(i))) }
	ext := b[6] & 0x0F
	connected := b[6]&0x80 == 0

	switch ext {
	case 0x09:
		// Bytes 0-1 carry the probe temperature instead of the battery.
		o.res.Fields["Bat_status"] = float64(b[4] >> 6)
		if connected {
			o.num("TempC_DS", "degC", i16(0)/100)
		}
	default:
		o.num("Bat_status", "1", float64(b[0]>>6))
		o.num("BatV", "V", float64(u16(0)&0x3FFF)/1000)
	}
	if ext != 0x0F {
		o.num("TempC_SHT", "degC", i16(2)/100)
		o.num("Hum_SHT", "%", float64(u16(4)&0x0FFF)/10)
	}
	if !connected {
		o.res.Fields["No_connect"] = "Sensor no connection"
	}
	switch ext {
	case 0x00:
		o.res.Fields["Ext_sensor"] = "No external sensor"
	case 0x01:
		o.res.Fields["Ext_sensor"] = "Temperature Sensor"
		if connected {
			o.num("TempC_DS", "degC", i16(7)/100)
		}
	case 0x04:
		o.res.Fields["Work_mode"] = "Interrupt Sensor send"
		o.res.Fields["Exti_pin_level"] = map[bool]string{true: "High", false: "Low"}[b[7] != 0]
		o.res.Fields["Exti_status"] = map[bool]string{true: "True", false: "False"}[b[8] != 0]
		o.res.Values = append(o.res.Values, codec.Value{Field: "Exti_status", Value: float64(min(b[8], 1)), Unit: "1"})
	case 0x05:
		o.res.Fields["Work_mode"] = "Illumination Sensor"
		o.num("ILL_lx", "lx", float64(u16(7)))
	case 0x06:
		o.res.Fields["Work_mode"] = "ADC Sensor"
		o.num("ADC_V", "V", float64(u16(7))/1000)
	case 0x07:
		o.res.Fields["Work_mode"] = "Interrupt Sensor count"
		o.num("Exit_count", "1", float64(u16(7)))
	case 0x08:
		o.res.Fields["Work_mode"] = "Interrupt Sensor count"
		o.num("Exit_count", "1", float64(binary.BigEndian.Uint32(b[7:])))
	case 0x09:
		o.res.Fields["Work_mode"] = "DS18B20 & timestamp"
		o.res.Fields["Systimestamp"] = float64(binary.BigEndian.Uint32(b[7:]))
	case 0x0F:
		o.res.Fields["Work_mode"] = "DS18B20ID"
		o.res.Fields["ID"] = hex.EncodeToString([]byte{b[2], b[3], b[4], b[5], b[7], b[8], b[9], b[10]})
	default:
		o.res.Warnings = append(o.res.Warnings, fmt.Sprintf("unknown external sensor type %d: bytes 7-10 not decoded", ext))
	}
	return o.res, nil
}

// FieldNames lists every Value.Field the decoder can return.
func (d *Decoder) FieldNames() []string {
	return []string{"BatV", "Bat_status", "TempC_SHT", "Hum_SHT", "TempC_DS", "Exti_status", "ILL_lx", "ADC_V", "Exit_count"}
}
