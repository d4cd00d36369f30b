// Package zenner decodes uplinks of the Minol ZENNER EDC radio module for
// ZENNER water meters as far as the one published example shows them: a
// status byte of alarm flags followed by meter readings as uint32
// big-endian.
//
// Which status bit is which flag cannot be derived from one example (0x27
// sets bits 0, 1, 2 and 5 and four flags are reported). The default
// assignment follows the order the published example lists the flags in:
// removal_detection bit 0, battery_low bit 1, battery_end_of_life bit 2,
// hw_error bit 3, coil_manipulation bit 5. Option "flag_bits" (flag name ->
// bit number) replaces it once ZENNER's payload document is at hand.
package zenner

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// ID is the codec id used in firmware profiles.
const ID = "zenner-edc"

// maxReadings bounds the readings of one frame (a LoRaWAN payload of up
// to 242 bytes holds at most 60).
const maxReadings = 60

var defaultBits = map[string]uint{
	"removal_detection":   0,
	"battery_low":         1,
	"battery_end_of_life": 2,
	"hw_error":            3,
	"coil_manipulation":   5,
}

type flag struct {
	name string
	bit  uint
}

// Decoder decodes EDC frames; immutable and safe for concurrent use.
type Decoder struct {
	flags []flag
}

var _ codec.Decoder = (*Decoder)(nil)

// New builds a decoder. Option "flag_bits" maps flag names to status-bit
// numbers (0-7) and replaces the default assignment for the names it lists.
func New(options map[string]any) (codec.Decoder, error) {
	var o struct {
		FlagBits map[string]uint `json:"flag_bits"`
	}
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	bits := map[string]uint{}
	for k, v := range defaultBits {
		bits[k] = v
	}
	for k, v := range o.FlagBits {
		if _, ok := defaultBits[k]; !ok {
			return nil, fmt.Errorf("option flag_bits: unknown flag %q", k)
		}
		if v > 7 {
			return nil, fmt.Errorf("option flag_bits: %s: bit %d is not in the status byte", k, v)
		}
		bits[k] = v
	}
	d := &Decoder{}
	for k, v := range bits {
		d.flags = append(d.flags, flag{k, v})
	}
	sort.Slice(d.flags, func(i, j int) bool { return d.flags[i].bit < d.flags[j].bit })
	return d, nil
}

// Decode implements codec.Decoder. Readings are values of field
// "meter_values" with Channel = their index in the frame (0 = the first).
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	res := codec.Result{Fields: map[string]any{}}
	b := in.Bytes
	if in.FPort == 0 {
		return res, fmt.Errorf("%w: fPort 0 carries MAC commands", codec.ErrFPort)
	}
	if len(b) < 5 {
		return res, fmt.Errorf("%w: %d bytes, want a status byte and at least one reading", codec.ErrTruncated, len(b))
	}
	if (len(b)-1)%4 != 0 {
		return res, fmt.Errorf("%w: %d bytes after the status byte are not whole 4-byte readings", codec.ErrTruncated, len(b)-1)
	}
	n := (len(b) - 1) / 4
	if n > maxReadings {
		return res, fmt.Errorf("%w: %d readings", codec.ErrFormat, n)
	}
	status := b[0]
	for _, f := range d.flags {
		v := int(status >> f.bit & 1)
		res.Fields[f.name] = v
		res.Values = append(res.Values, codec.Value{Field: f.name, Value: float64(v)})
	}
	readings := make([]uint32, n)
	for i := range readings {
		readings[i] = binary.BigEndian.Uint32(b[1+4*i:])
		res.Values = append(res.Values, codec.Value{Field: "meter_values", Value: float64(readings[i]), Channel: i})
	}
	res.Fields["meter_values"] = readings
	return res, nil
}

// FieldNames lists every Value.Field the decoder can return.
func (d *Decoder) FieldNames() []string {
	names := []string{"meter_values"}
	for _, f := range d.flags {
		names = append(names, f.name)
	}
	return names
}
