package milesight

import (
	"encoding/binary"
	"fmt"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// VS133 decodes the Milesight VS133 ToF people counter: up to four
// counting lines, each with cumulative in/out totals (type 0xD2, u32) and
// the in/out counts of the last period (type 0xCC, 2 x u16), little-endian,
// plus the device-information records (channel 0xFF). Line n's totals are
// on channels 0x03+3(n-1) (in) and 0x04+3(n-1) (out), its period on
// 0x05+3(n-1). Values carry the line as Channel. Safe for concurrent use.
type VS133 struct{}

var _ codec.Decoder = (*VS133)(nil)

// NewVS133 builds a VS133 decoder; the codec has no options.
func NewVS133(options map[string]any) (codec.Decoder, error) {
	var o struct{}
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	return &VS133{}, nil
}

// Decode implements codec.Decoder. Like the other Milesight codecs it does
// not check the fPort (data comes on 85).
func (d *VS133) Decode(in codec.Input) (codec.Result, error) {
	o, err := walk(in.Bytes, vs133Len, func(o *out, ch, ty byte, v []byte) bool {
		if ch == 0xFF {
			attr(o, ch, ty, v)
			return true
		}
		vs133Line(o, ch, ty, v)
		return true
	})
	return o.res, err
}

func vs133Len(ch, ty byte) (int, bool) {
	switch {
	case ch == 0xFF:
		n, ok := attrLen[ty]
		return n, ok
	case ch >= 0x03 && ch <= 0x0E && ty == 0xD2 && (ch-0x03)%3 < 2:
		return 4, true
	case ch >= 0x05 && ch <= 0x0E && ty == 0xCC && (ch-0x05)%3 == 0:
		return 4, true
	}
	return 0, false
}

// vs133Line decodes one line record whose channel and type vs133Len
// accepted.
func vs133Line(o *out, ch, ty byte, v []byte) {
	line := int(ch-0x03)/3 + 1
	key := fmt.Sprintf("line_%d", line)
	f, _ := o.res.Fields[key].(map[string]any)
	if f == nil {
		f = map[string]any{}
		o.res.Fields[key] = f
	}
	add := func(name string, x float64) {
		f[name] = x
		o.res.Values = append(o.res.Values, codec.Value{Field: name, Value: x, Unit: "1", Channel: line})
	}
	switch {
	case ty == 0xD2 && (ch-0x03)%3 == 0:
		add("total_in", float64(binary.LittleEndian.Uint32(v)))
	case ty == 0xD2:
		add("total_out", float64(binary.LittleEndian.Uint32(v)))
	default:
		add("period_in", float64(binary.LittleEndian.Uint16(v)))
		add("period_out", float64(binary.LittleEndian.Uint16(v[2:])))
	}
}

// FieldNames lists every Value.Field the decoder can return.
func (d *VS133) FieldNames() []string {
	return []string{"total_in", "total_out", "period_in", "period_out"}
}
