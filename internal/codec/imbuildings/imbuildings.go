// Package imbuildings decodes the IMBUILDINGS LoRaWAN People Counter: an
// infrared beam counter for doorways that reports the passages in each
// direction (A and B) since the last uplink and as running totals.
//
// On fPort 1 the payload starts with a header (payload type 2 = people
// counter, variant, 8-byte device id); on fPort 26 and 27 the device sends
// variants 6 and 7 without it. All numbers are big-endian.
package imbuildings

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// ID is the codec id of the people counter.
const ID = "imbuildings-people-counter"

// Payload type and the ports that imply a variant without header.
const (
	typePeopleCounter = 2
	fPortVariant6     = 26
	fPortVariant7     = 27
	headerLen         = 10 // type, variant, device id
)

// variantLen is the length of each LoRaWAN variant with and without header.
var variantLen = map[byte][2]int{5: {19, 0}, 6: {23, 13}, 7: {18, 5}}

var typeNames = map[byte]string{1: "Comfort Sensor", 2: "People Counter", 3: "Button", 4: "Pulse Counter"}

// Decoder decodes people-counter uplinks; safe for concurrent use.
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

// Decode implements codec.Decoder.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	b := in.Bytes
	res := codec.Result{Fields: map[string]any{}}
	var variant byte
	header := true
	switch in.FPort {
	case fPortVariant6:
		variant, header = 6, false
	case fPortVariant7:
		variant, header = 7, false
	default:
		if len(b) < 2 {
			return codec.Result{}, fmt.Errorf("%w: %d bytes, the header needs %d", codec.ErrTruncated, len(b), headerLen)
		}
		if b[0] != typePeopleCounter {
			name, ok := typeNames[b[0]]
			if !ok {
				name = "unknown"
			}
			return codec.Result{}, fmt.Errorf("%w: payload type %d (%s) is not a people counter", codec.ErrFormat, b[0], name)
		}
		variant = b[1]
	}
	lens, ok := variantLen[variant]
	if !ok {
		return codec.Result{}, fmt.Errorf("%w: people counter variant %d is not a LoRaWAN variant (5, 6, 7)", codec.ErrFormat, variant)
	}
	want := lens[0]
	if !header {
		want = lens[1]
	}
	switch {
	case len(b) < want:
		return codec.Result{}, fmt.Errorf("%w: variant %d has %d bytes, want %d", codec.ErrTruncated, variant, len(b), want)
	case len(b) > want:
		return codec.Result{}, fmt.Errorf("%w: variant %d has %d bytes, want %d", codec.ErrFormat, variant, len(b), want)
	}
	if header {
		res.Fields["device_type_identifier"] = float64(b[0])
		res.Fields["device_type"] = typeNames[b[0]]
		res.Fields["device_type_variant"] = float64(b[1])
		res.Fields["device_id"] = hex.EncodeToString(b[2:headerLen])
	}
	d.body(&res, variant, b)
	return res, nil
}

// body decodes the fields of a variant, counted from the payload's end as
// the vendor lays them out, so one table serves frames with and without
// header.
func (d *Decoder) body(res *codec.Result, variant byte, b []byte) {
	n := len(b)
	u16 := func(i int) float64 { return float64(binary.BigEndian.Uint16(b[i:])) }
	num := func(key, unit string, v float64) {
		res.Fields[key] = v
		res.Values = append(res.Values, codec.Value{Field: key, Value: v, Unit: unit})
	}
	status := func(i int) {
		res.Fields["device_status"] = float64(b[i])
		num("battery_voltage", "V", u16(i+1)/100)
	}
	switch variant {
	case 5:
		status(headerLen)
		num("counter_a", "1", u16(n-6))
		num("counter_b", "1", u16(n-4))
		res.Fields["sensor_status"] = float64(b[n-2])
		res.Fields["payload_counter"] = float64(b[n-1])
	case 6:
		status(n - 13)
		num("counter_a", "1", u16(n-10))
		num("counter_b", "1", u16(n-8))
		res.Fields["sensor_status"] = float64(b[n-6])
		num("total_counter_a", "1", u16(n-5))
		num("total_counter_b", "1", u16(n-3))
		res.Fields["payload_counter"] = float64(b[n-1])
	case 7:
		if n > 5 {
			status(headerLen)
		}
		res.Fields["sensor_status"] = float64(b[n-5])
		num("total_counter_a", "1", u16(n-4))
		num("total_counter_b", "1", u16(n-2))
	}
}

// FieldNames lists every Value.Field the decoder can return.
func (d *Decoder) FieldNames() []string {
	return []string{"battery_voltage", "counter_a", "counter_b", "total_counter_a", "total_counter_b"}
}
