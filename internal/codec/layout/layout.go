// Package layout is a declarative byte-layout codec for simple fixed-format
// payloads (our own road stations, valve actuators, DIY nodes): the profile
// lists each field's byte offset, integer or float type, byte order and a
// linear conversion, so no Go code is needed for a new device of that kind.
//
// Options (codec id "layout"):
//
//	fport: 10          # required fPort; 0 or absent accepts any
//	length: 12         # exact payload length; absent: at least the bytes the fields need
//	fields:
//	  - name: air_temperature   # codec.Value.Field
//	    offset: 2               # byte offset of the field
//	    type: i16               # u8 i8 u16 i16 u32 i32 f32
//	    endian: big             # big (default) or little
//	    scale: 0.01             # value = raw*scale + add (scale default 1)
//	    add: 0
//	    unit: degC
//	    optional: true          # the payload may end before this field
//	    missing: -32768         # raw value that means "not measured": no value
//
// Optional fields let a layout grow without breaking devices that send the
// older, shorter payload: a payload may then be any length from length (or
// what the required fields need) to the end of the last optional field, but
// it must not end inside one.
package layout

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// ID is the codec id.
const ID = "layout"

// Options are the codec options of a layout profile.
type Options struct {
	FPort  int     `json:"fport"`
	Length int     `json:"length"`
	Fields []Field `json:"fields"`
}

// Field is one value at a fixed position.
type Field struct {
	Name   string   `json:"name"`
	Offset int      `json:"offset"`
	Type   string   `json:"type"`
	Endian string   `json:"endian"`
	Scale  *float64 `json:"scale"`
	Add    float64  `json:"add"`
	Unit   string   `json:"unit"`
	// Optional fields are decoded only when the payload reaches them.
	Optional bool `json:"optional"`
	// Missing is a raw value the device sends for "not measured" (a sensor
	// not fitted): such a field gives no value.
	Missing *float64 `json:"missing"`
}

type field struct {
	name   string
	offset int
	size   int
	kind   byte // 'u', 'i', 'f'
	order  binary.ByteOrder
	scale  float64
	add    float64
	unit   string
	opt    bool
	miss   *float64
}

// Decoder decodes one configured layout.
type Decoder struct {
	fport  uint8
	length int
	need   int // bytes the required fields need
	max    int // end of the last optional field
	fields []field
}

var _ codec.Decoder = (*Decoder)(nil)

var sizes = map[string]struct {
	size int
	kind byte
}{
	"u8": {1, 'u'}, "i8": {1, 'i'}, "u16": {2, 'u'}, "i16": {2, 'i'},
	"u32": {4, 'u'}, "i32": {4, 'i'}, "f32": {4, 'f'},
}

// New builds a decoder from profile options.
func New(options map[string]any) (codec.Decoder, error) {
	var o Options
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	var errs []error
	if o.FPort < 0 || o.FPort > 255 {
		errs = append(errs, fmt.Errorf("fport %d outside 0..255", o.FPort))
	}
	if len(o.Fields) == 0 {
		errs = append(errs, errors.New("no fields"))
	}
	d := &Decoder{fport: uint8(o.FPort), length: o.Length}
	names := map[string]bool{}
	for i, f := range o.Fields {
		t, ok := sizes[f.Type]
		if !ok {
			errs = append(errs, fmt.Errorf("field %d (%s): unknown type %q (want u8 i8 u16 i16 u32 i32 f32)", i, f.Name, f.Type))
			continue
		}
		if f.Name == "" || names[f.Name] {
			errs = append(errs, fmt.Errorf("field %d: missing or duplicate name %q", i, f.Name))
		}
		names[f.Name] = true
		if f.Offset < 0 || f.Offset > 242 {
			errs = append(errs, fmt.Errorf("field %s: offset %d outside a LoRaWAN payload", f.Name, f.Offset))
			continue
		}
		var order binary.ByteOrder = binary.BigEndian
		switch f.Endian {
		case "", "big":
		case "little":
			order = binary.LittleEndian
		default:
			errs = append(errs, fmt.Errorf("field %s: endian %q (want big or little)", f.Name, f.Endian))
		}
		scale := 1.0
		if f.Scale != nil {
			scale = *f.Scale
		}
		d.fields = append(d.fields, field{name: f.Name, offset: f.Offset, size: t.size, kind: t.kind,
			order: order, scale: scale, add: f.Add, unit: f.Unit, opt: f.Optional, miss: f.Missing})
		if f.Optional {
			d.max = max(d.max, f.Offset+t.size)
		} else {
			d.need = max(d.need, f.Offset+t.size)
		}
	}
	if o.Length != 0 && o.Length < d.need {
		errs = append(errs, fmt.Errorf("length %d is shorter than the fields need (%d)", o.Length, d.need))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return d, nil
}

// Decode implements codec.Decoder.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	if d.fport != 0 && in.FPort != d.fport {
		return codec.Result{}, fmt.Errorf("%w: %d, layout wants %d", codec.ErrFPort, in.FPort, d.fport)
	}
	b := in.Bytes
	switch {
	case len(b) < d.need || (d.length != 0 && len(b) < d.length):
		return codec.Result{}, fmt.Errorf("%w: %d bytes, layout needs %d", codec.ErrTruncated, len(b), max(d.need, d.length))
	case d.length != 0 && len(b) > max(d.length, d.max):
		return codec.Result{}, fmt.Errorf("%w: %d bytes, layout has %d", codec.ErrFormat, len(b), max(d.length, d.max))
	}
	res := codec.Result{Values: make([]codec.Value, 0, len(d.fields)), Fields: make(map[string]any, len(d.fields))}
	for _, f := range d.fields {
		if f.opt && len(b) < f.offset+f.size {
			if len(b) > f.offset {
				return codec.Result{}, fmt.Errorf("%w: %d bytes end inside optional field %s", codec.ErrTruncated, len(b), f.name)
			}
			continue
		}
		raw := b[f.offset : f.offset+f.size]
		var v float64
		switch {
		case f.size == 1 && f.kind == 'u':
			v = float64(raw[0])
		case f.size == 1:
			v = float64(int8(raw[0]))
		case f.size == 2 && f.kind == 'u':
			v = float64(f.order.Uint16(raw))
		case f.size == 2:
			v = float64(int16(f.order.Uint16(raw)))
		case f.kind == 'u':
			v = float64(f.order.Uint32(raw))
		case f.kind == 'i':
			v = float64(int32(f.order.Uint32(raw)))
		default:
			v = float64(math.Float32frombits(f.order.Uint32(raw)))
			if math.IsNaN(v) || math.IsInf(v, 0) {
				res.Warnings = append(res.Warnings, fmt.Sprintf("field %s: not a finite number", f.name))
				continue
			}
		}
		if f.miss != nil && v == *f.miss {
			continue
		}
		v = v*f.scale + f.add
		res.Values = append(res.Values, codec.Value{Field: f.name, Value: v, Unit: f.unit})
		res.Fields[f.name] = v
	}
	return res, nil
}

// FieldNames lists the configured field names.
func (d *Decoder) FieldNames() []string {
	names := make([]string, len(d.fields))
	for i, f := range d.fields {
		names[i] = f.name
	}
	return names
}
