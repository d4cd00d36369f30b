// Package milesight decodes Milesight IoT uplinks (AM319, AM307 indoor
// ambience sensors, EM300-DI pulse counter, EM500-UDL and EM310-UDL
// ultrasonic distance sensors, VS121 and VS133 people counters): a run of records
// [channel id][channel type][value], little-endian.
//
// The vendor's v1 decoders stop at the first record they do not know, which
// drops everything after a device-information record (0xFF ..) of newer
// firmware. Here the record length follows from the channel type wherever
// the type is a known one, so an unknown record is skipped with a warning
// and decoding continues; only a type of unknown length ends decoding.
package milesight

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// Models known to this package.
var Models = []string{"am319", "am307", "em300-di"}

// Options of the Milesight codec.
type Options struct {
	// Model selects model-specific records (0x05 0x00 is PIR activity on
	// the AM series and the digital input on the EM300-DI).
	Model string `json:"model"`
}

// Decoder decodes one model; safe for concurrent use.
type Decoder struct{ model string }

var _ codec.Decoder = (*Decoder)(nil)

// New builds a decoder; the model option is required.
func New(options map[string]any) (codec.Decoder, error) {
	var o Options
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	for _, m := range Models {
		if m == o.Model {
			return &Decoder{model: o.Model}, nil
		}
	}
	return nil, fmt.Errorf("model option must be one of %v, got %q", Models, o.Model)
}

// Model returns a constructor with the model option preset, for registering
// one codec id per model.
func Model(model string) codec.Constructor { return preset(model, New) }

// typeLen is the value length implied by a channel type, used to step over
// records this decoder has no meaning for.
var typeLen = map[byte]int{
	0x00: 1, 0x01: 1, 0x67: 2, 0x68: 1, 0x6A: 2, 0x73: 2, 0x75: 1, 0x7D: 2,
	0xC8: 4, 0xCB: 1, 0xE6: 2,
}

// attrLen is the length of the device-information records (channel 0xFF).
var attrLen = map[byte]int{
	0x01: 1, 0x09: 2, 0x0A: 2, 0x0B: 1, 0x0F: 1, 0x16: 8, 0xFF: 2,
}

// historyLens are the lengths of the history record (0x20 0xCE) per model:
// EM300-DI per the TTN decoder, AM307/AM319 per Milesight's v2 payload table.
var historyLens = map[string]int{"em300-di": 13, "am307": 16, "am319": 22}

type out struct {
	res codec.Result
}

func (o *out) num(key, unit string, v float64) {
	o.res.Fields[key] = v
	o.res.Values = append(o.res.Values, codec.Value{Field: key, Value: v, Unit: unit})
}

func (o *out) warn(format string, args ...any) {
	o.res.Warnings = append(o.res.Warnings, fmt.Sprintf(format, args...))
}

// Decode implements codec.Decoder. The fPort is not checked: the devices
// send data on 85, but the format does not depend on it.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	o, err := walk(in.Bytes, d.recordLen, d.record)
	return o.res, err
}

func (d *Decoder) recordLen(ch, ty byte) (int, bool) {
	switch {
	case ch == 0xFF:
		n, ok := attrLen[ty]
		return n, ok
	case ch == 0x20 && ty == 0xCE:
		n, ok := historyLens[d.model]
		return n, ok
	}
	n, ok := typeLen[ty]
	return n, ok
}

// record decodes one complete record; false if it has no meaning here.
func (d *Decoder) record(o *out, ch, ty byte, v []byte) bool {
	le16 := func() uint16 { return binary.LittleEndian.Uint16(v) }
	em := d.model == "em300-di"
	switch {
	case ch == 0x01 && ty == 0x75:
		o.num("battery", "%", float64(v[0]))
	case ch == 0x03 && ty == 0x67:
		o.num("temperature", "degC", float64(int16(le16()))/10)
	case ch == 0x04 && ty == 0x68:
		o.num("humidity", "%", float64(v[0])/2)
	case ch == 0x05 && ty == 0x00 && em:
		o.num("gpio", "1", float64(v[0]))
	case ch == 0x05 && ty == 0x00:
		x := 0.0
		o.res.Fields["activity"] = "idle"
		if v[0] == 1 {
			x = 1
			o.res.Fields["activity"] = "trigger"
		}
		o.res.Values = append(o.res.Values, codec.Value{Field: "activity", Value: x, Unit: "1"})
	case ch == 0x05 && ty == 0xC8 && em:
		o.num("pulse", "1", float64(binary.LittleEndian.Uint32(v)))
	case ch == 0x20 && ty == 0xCE && em:
		d.history(o, v)
	case ch == 0x20 && ty == 0xCE:
		d.amHistory(o, v)
	case em:
		return attr(o, ch, ty, v)
	case ch == 0x06 && ty == 0xCB:
		o.num("light_level", "1", float64(v[0]))
	case ch == 0x07 && ty == 0x7D:
		o.num("co2", "ppm", float64(le16()))
	case ch == 0x08 && ty == 0x7D:
		o.num("tvoc", "1", float64(le16()))
	case ch == 0x08 && ty == 0xE6:
		// Newer firmware reports TVOC as a mass concentration; a separate
		// field keeps it from being mistaken for the index above.
		o.num("tvoc_ugm3", "ug/m3", float64(le16()))
	case ch == 0x09 && ty == 0x73:
		o.num("pressure", "hPa", float64(le16())/10)
	case ch == 0x0A && ty == 0x7D:
		o.num("hcho", "mg/m3", float64(le16())/100)
	case ch == 0x0B && ty == 0x7D:
		o.num("pm2.5", "ug/m3", float64(le16()))
	case ch == 0x0C && ty == 0x7D:
		o.num("pm10", "ug/m3", float64(le16()))
	case ch == 0x0D && ty == 0x7D:
		o.num("o3", "ppm", float64(le16())/100)
	case ch == 0x0E && ty == 0x01:
		o.res.Fields["beep"] = map[bool]string{true: "yes", false: "no"}[v[0] == 1]
	default:
		return attr(o, ch, ty, v)
	}
	return true
}

// attr decodes the device-information records into Fields only: they
// describe the device, they are not measurements.
func attr(o *out, ch, ty byte, v []byte) bool {
	if ch != 0xFF {
		return false
	}
	switch ty {
	case 0x01:
		o.res.Fields["ipso_version"] = fmt.Sprintf("v%d.%d", v[0]>>4, v[0]&0x0F)
	case 0x09:
		o.res.Fields["hardware_version"] = fmt.Sprintf("v%d.%d", v[0], v[1]>>4)
	case 0x0A:
		o.res.Fields["firmware_version"] = fmt.Sprintf("v%d.%d", v[0], v[1])
	case 0x0B:
		o.res.Fields["device_status"] = "on"
	case 0x0F:
		o.res.Fields["lorawan_class"] = map[byte]string{0: "Class A", 1: "Class B", 2: "Class C", 3: "Class CtoB"}[v[0]]
	case 0x16:
		o.res.Fields["sn"] = hex.EncodeToString(v)
	case 0xFF:
		o.res.Fields["tsl_version"] = fmt.Sprintf("v%d.%d", v[0], v[1])
	default:
		return false
	}
	return true
}

// history decodes one EM300-DI history record; its values carry the
// record's own timestamp.
func (d *Decoder) history(o *out, v []byte) {
	ts := time.Unix(int64(binary.LittleEndian.Uint32(v)), 0).UTC()
	temp := float64(int16(binary.LittleEndian.Uint16(v[4:]))) / 10
	hum := float64(v[6]) / 2
	h := map[string]any{"timestamp": ts.Unix(), "temperature": temp, "humidity": hum}
	o.res.Values = append(o.res.Values,
		codec.Value{Field: "temperature", Value: temp, Unit: "degC", Time: ts},
		codec.Value{Field: "humidity", Value: hum, Unit: "%", Time: ts})
	switch v[7] {
	case 1:
		h["gpio"] = float64(v[8])
		o.res.Values = append(o.res.Values, codec.Value{Field: "gpio", Value: float64(v[8]), Unit: "1", Time: ts})
	case 2:
		p := float64(binary.LittleEndian.Uint32(v[9:]))
		h["pulse"] = p
		o.res.Values = append(o.res.Values, codec.Value{Field: "pulse", Value: p, Unit: "1", Time: ts})
	default:
		o.warn("history record at %s: unknown mode %d", ts.Format(time.RFC3339), v[7])
	}
	hist, _ := o.res.Fields["history"].([]map[string]any)
	o.res.Fields["history"] = append(hist, h)
}

// FieldNames lists every Value.Field the decoder can return for its model.
func (d *Decoder) FieldNames() []string {
	names := []string{"battery", "temperature", "humidity"}
	if d.model == "em300-di" {
		return append(names, "gpio", "pulse")
	}
	return append(names, "activity", "light_level", "co2", "tvoc", "tvoc_ugm3", "pressure", "hcho", "pm2.5", "pm10", "o3")
}

// amHistory decodes an AM307/AM319 history record: timestamp, temperature,
// humidity, PIR, light level, CO2, TVOC, pressure (+ PM2.5, PM10, HCHO/O3
// on the AM319). Values carry the record's own time. TVOC and HCHO/O3 stay
// in Fields only: their encoding in history records is not documented
// precisely enough to turn into measurements.
func (d *Decoder) amHistory(o *out, v []byte) {
	u16 := func(i int) float64 { return float64(binary.LittleEndian.Uint16(v[i:])) }
	ts := time.Unix(int64(binary.LittleEndian.Uint32(v)), 0).UTC()
	h := map[string]any{
		"timestamp":   ts.Unix(),
		"temperature": float64(int16(binary.LittleEndian.Uint16(v[4:]))) / 10,
		"humidity":    u16(6) / 2,
		"pir":         float64(v[8]),
		"light_level": float64(v[9]),
		"co2":         u16(10),
		"tvoc":        u16(12),
		"pressure":    u16(14) / 10,
	}
	keys := []struct{ key, unit string }{
		{"temperature", "degC"}, {"humidity", "%"}, {"light_level", "1"}, {"co2", "ppm"}, {"pressure", "hPa"},
	}
	if len(v) >= 22 {
		h["pm2.5"], h["pm10"], h["hcho_o3_raw"] = u16(16), u16(18), u16(20)
		keys = append(keys, struct{ key, unit string }{"pm2.5", "ug/m3"}, struct{ key, unit string }{"pm10", "ug/m3"})
	}
	for _, k := range keys {
		o.res.Values = append(o.res.Values, codec.Value{Field: k.key, Value: h[k.key].(float64), Unit: k.unit, Time: ts})
	}
	hist, _ := o.res.Fields["history"].([]map[string]any)
	o.res.Fields["history"] = append(hist, h)
}
