// Package elsys decodes the Elsys "simple payload": a run of records, each
// a type byte followed by a value whose length the type fixes, big-endian,
// with no header and no length bytes. ERS CO2, ERS VOC and EMS (and the
// other Elsys sensors) share it; the codec ids differ only by the model
// option, which is kept for display.
package elsys

import (
	"encoding/binary"
	"fmt"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// Models known to this package, by codec id suffix.
var Models = []string{"ers-co2", "ers-voc", "ems"}

// Options of the Elsys codec.
type Options struct {
	Model string `json:"model"`
}

// Decoder decodes Elsys payloads; safe for concurrent use.
type Decoder struct{ model string }

var _ codec.Decoder = (*Decoder)(nil)

// New builds a decoder; options may name the model.
func New(options map[string]any) (codec.Decoder, error) {
	var o Options
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	if o.Model != "" && !known(o.Model) {
		return nil, fmt.Errorf("unknown Elsys model %q (known: %v)", o.Model, Models)
	}
	return &Decoder{model: o.Model}, nil
}

// Model returns a constructor for one model, used to register one codec id
// per model ("elsys-ers-co2", ...).
func Model(model string) codec.Constructor {
	return func(options map[string]any) (codec.Decoder, error) {
		o := map[string]any{"model": model}
		for k, v := range options {
			o[k] = v
		}
		return New(o)
	}
}

func known(m string) bool {
	for _, k := range Models {
		if k == m {
			return true
		}
	}
	return false
}

type kind uint8

const (
	u8 kind = iota
	u16
	i16x10  // int16, 0.1 units
	u32     // uint32
	i32     // int32
	accel   // 3 x int8
	gps     // 2 x int24, raw
	irTemp  // 2 x int16, 0.1 degC
	grideye // ref + 64 bytes
	press   // uint32 / 1000 hPa
	sound   // peak, avg
)

type record struct {
	size int
	kind kind
	key  string
	unit string
	// repeat: repeated records are collected (channel 1, 2, ...) instead of
	// overwriting the earlier one.
	repeat bool
}

// types is the record table of the Elsys simple payload.
var types = [256]*record{
	0x01: {2, i16x10, "temperature", "degC", false},
	0x02: {1, u8, "humidity", "%", false},
	0x03: {3, accel, "", "", false},
	0x04: {2, u16, "light", "lx", false},
	0x05: {1, u8, "motion", "1", false},
	0x06: {2, u16, "co2", "ppm", false},
	0x07: {2, u16, "vdd", "mV", false},
	0x08: {2, u16, "analog1", "mV", false},
	0x09: {6, gps, "", "", false},
	0x0A: {2, u16, "pulse1", "1", false},
	0x0B: {4, u32, "pulseAbs", "1", false},
	0x0C: {2, i16x10, "externalTemperature", "degC", false},
	0x0D: {1, u8, "digital", "1", false},
	0x0E: {2, u16, "distance", "mm", false},
	0x0F: {1, u8, "accMotion", "1", false},
	0x10: {4, irTemp, "", "degC", false},
	0x11: {1, u8, "occupancy", "1", false},
	0x12: {1, u8, "waterleak", "1", false},
	0x13: {65, grideye, "grideye", "degC", false},
	0x14: {4, press, "pressure", "hPa", false},
	0x15: {2, sound, "", "dB", false},
	0x16: {2, u16, "pulse2", "1", false},
	0x17: {4, u32, "pulseAbs2", "1", false},
	0x18: {2, u16, "analog2", "mV", false},
	0x19: {2, i16x10, "externalTemperature2", "degC", true},
	0x1A: {1, u8, "digital2", "1", false},
	0x1B: {4, i32, "analogUv", "uV", false},
	0x1C: {2, u16, "tvoc", "ppb", false},
}

// result accumulates values; a repeated key overwrites the earlier value,
// as the vendor decoder does.
type result struct {
	res codec.Result
	idx map[string]int
}

func (r *result) set(key, unit string, v float64) {
	r.res.Fields[key] = v
	if i, ok := r.idx[key]; ok {
		r.res.Values[i].Value = v
		return
	}
	r.idx[key] = len(r.res.Values)
	r.res.Values = append(r.res.Values, codec.Value{Field: key, Value: v, Unit: unit})
}

// Decode implements codec.Decoder. The fPort is not part of the format.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	b := in.Bytes
	if len(b) == 0 {
		return codec.Result{}, fmt.Errorf("%w: empty payload", codec.ErrTruncated)
	}
	r := result{res: codec.Result{Fields: map[string]any{}}, idx: map[string]int{}}
	var ext2 []float64
	for i := 0; i < len(b); {
		t := b[i]
		rec := types[t]
		if rec == nil {
			// Without length bytes nothing after an unknown type can be
			// located, so the rest is dropped, visibly.
			r.res.Warnings = append(r.res.Warnings,
				fmt.Sprintf("unknown record type 0x%02x at byte %d: %d bytes not decoded", t, i, len(b)-i))
			break
		}
		v := b[i+1:]
		if len(v) < rec.size {
			return r.res, fmt.Errorf("%w: record type 0x%02x at byte %d needs %d bytes, %d left",
				codec.ErrTruncated, t, i, rec.size, len(v))
		}
		v = v[:rec.size]
		i += 1 + rec.size
		switch rec.kind {
		case u8:
			r.set(rec.key, rec.unit, float64(v[0]))
		case u16:
			r.set(rec.key, rec.unit, float64(binary.BigEndian.Uint16(v)))
		case i16x10:
			x := float64(int16(binary.BigEndian.Uint16(v))) / 10
			if rec.repeat {
				ext2 = append(ext2, x)
				continue
			}
			r.set(rec.key, rec.unit, x)
		case u32:
			r.set(rec.key, rec.unit, float64(binary.BigEndian.Uint32(v)))
		case i32:
			r.set(rec.key, rec.unit, float64(int32(binary.BigEndian.Uint32(v))))
		case press:
			r.set(rec.key, rec.unit, float64(binary.BigEndian.Uint32(v))/1000)
		case accel:
			r.set("x", "", float64(int8(v[0])))
			r.set("y", "", float64(int8(v[1])))
			r.set("z", "", float64(int8(v[2])))
		case gps:
			r.set("lat", "", float64(int24(v[0:3])))
			r.set("long", "", float64(int24(v[3:6])))
		case irTemp:
			r.set("irInternalTemperature", "degC", float64(int16(binary.BigEndian.Uint16(v)))/10)
			r.set("irExternalTemperature", "degC", float64(int16(binary.BigEndian.Uint16(v[2:])))/10)
		case sound:
			r.set("soundPeak", "dB", float64(v[0]))
			r.set("soundAvg", "dB", float64(v[1]))
		case grideye:
			ref := float64(v[0])
			px := make([]float64, 64)
			for j := range px {
				px[j] = ref + float64(v[1+j])/10
			}
			// 64 pixels are for display, not for time series.
			r.res.Fields[rec.key] = px
		}
	}
	if len(ext2) > 0 {
		if len(ext2) == 1 {
			r.res.Fields["externalTemperature2"] = ext2[0]
		} else {
			r.res.Fields["externalTemperature2"] = ext2
		}
		for j, x := range ext2 {
			r.res.Values = append(r.res.Values, codec.Value{Field: "externalTemperature2", Value: x, Unit: "degC", Channel: j + 1})
		}
	}
	return r.res, nil
}

func int24(b []byte) int32 {
	v := int32(b[0])<<16 | int32(b[1])<<8 | int32(b[2])
	if v&0x800000 != 0 {
		v -= 1 << 24
	}
	return v
}

// FieldNames lists every Value.Field the decoder can return.
func (d *Decoder) FieldNames() []string {
	names := []string{"x", "y", "z", "lat", "long", "irInternalTemperature", "irExternalTemperature", "soundPeak", "soundAvg"}
	for _, r := range types {
		if r != nil && r.key != "" && r.kind != grideye {
			names = append(names, r.key)
		}
	}
	return names
}
