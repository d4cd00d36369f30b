// Package cayenne decodes Cayenne LPP: records [channel][IPSO type - 3200]
// [big-endian data] with a length fixed by the type. The field names follow
// The Things Stack's built-in formatter (<name>_<channel> in Fields); the
// Values carry the name and the LPP channel separately so a profile can map
// "temperature" on channel 3 to one quantity and on channel 5 to another.
package cayenne

import (
	"fmt"
	"strconv"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

type lppType struct {
	name string
	size int
	// dims are sub-field names for multi-value types; one value otherwise.
	dims   []string
	width  int // bytes per value
	signed bool
	// div divides the raw integer: LPP resolutions are 1/div, and a
	// division keeps published decimals exact (-156/10 = -15.6).
	div  float64
	unit string
}

var types = map[byte]lppType{
	0x00: {"digital_in", 1, nil, 1, false, 1, "1"},
	0x01: {"digital_out", 1, nil, 1, false, 1, "1"},
	0x02: {"analog_in", 2, nil, 2, true, 100, ""},
	0x03: {"analog_out", 2, nil, 2, true, 100, ""},
	0x65: {"luminosity", 2, nil, 2, false, 1, "lx"},
	0x66: {"presence", 1, nil, 1, false, 1, "1"},
	0x67: {"temperature", 2, nil, 2, true, 10, "degC"},
	0x68: {"relative_humidity", 1, nil, 1, false, 2, "%"},
	0x71: {"accelerometer", 6, []string{"x", "y", "z"}, 2, true, 1000, "g"},
	0x73: {"barometric_pressure", 2, nil, 2, false, 10, "hPa"},
	0x86: {"gyrometer", 6, []string{"x", "y", "z"}, 2, true, 100, "deg/s"},
	0x88: {"gps", 9, []string{"latitude", "longitude", "altitude"}, 3, true, 1, ""},
}

// Decoder decodes Cayenne LPP; safe for concurrent use.
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

func read(b []byte, width int, signed bool) float64 {
	var u uint32
	for _, x := range b[:width] {
		u = u<<8 | uint32(x)
	}
	if signed && u&(1<<(8*width-1)) != 0 {
		return float64(int64(u) - 1<<(8*width))
	}
	return float64(u)
}

// Decode implements codec.Decoder. LPP does not depend on the fPort.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	b := in.Bytes
	if len(b) == 0 {
		return codec.Result{}, fmt.Errorf("%w: empty payload", codec.ErrTruncated)
	}
	res := codec.Result{Fields: map[string]any{}}
	for i := 0; i < len(b); {
		if len(b)-i < 2 {
			return res, fmt.Errorf("%w: record header at byte %d", codec.ErrTruncated, i)
		}
		ch, ty := b[i], b[i+1]
		t, ok := types[ty]
		if !ok {
			// Without a known type the record length is unknown, and a
			// guess would misread everything after it.
			return res, fmt.Errorf("%w: unknown LPP type 0x%02x at byte %d", codec.ErrFormat, ty, i)
		}
		v := b[i+2:]
		if len(v) < t.size {
			return res, fmt.Errorf("%w: LPP %s at byte %d needs %d bytes, %d left", codec.ErrTruncated, t.name, i, t.size, len(v))
		}
		i += 2 + t.size
		key := t.name + "_" + strconv.Itoa(int(ch))
		if t.dims == nil {
			x := read(v, t.width, t.signed) / t.div
			res.Fields[key] = x
			res.Values = append(res.Values, codec.Value{Field: t.name, Channel: int(ch), Value: x, Unit: t.unit})
			continue
		}
		obj := make(map[string]any, len(t.dims))
		for j, dim := range t.dims {
			x := read(v[j*t.width:], t.width, t.signed)
			unit := t.unit
			switch {
			case ty == 0x88 && j < 2:
				x, unit = x/10000, "deg"
			case ty == 0x88:
				x, unit = x/100, "m"
			default:
				x /= t.div
			}
			obj[dim] = x
			res.Values = append(res.Values, codec.Value{Field: t.name + "_" + dim, Channel: int(ch), Value: x, Unit: unit})
		}
		res.Fields[key] = obj
	}
	return res, nil
}

// FieldNames lists every Value.Field the decoder can return.
func (d *Decoder) FieldNames() []string {
	var names []string
	for _, t := range types {
		if t.dims == nil {
			names = append(names, t.name)
		}
		for _, dim := range t.dims {
			names = append(names, t.name+"_"+dim)
		}
	}
	return names
}
