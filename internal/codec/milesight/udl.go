package milesight

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// UDLModels are the ultrasonic distance/level sensors: EM500-UDL and
// EM310-UDL (the latter with a tilt switch).
var UDLModels = []string{"em500-udl", "em310-udl"}

// Distance words that are no reading: 0 (no echo) and all ones (65.5 m,
// far beyond the few metres these sensors reach).
const (
	udlNoEcho  = 0
	udlNoValue = 0xFFFF
)

// UDL decodes the ultrasonic distance sensors; safe for concurrent use.
// Fields keep the vendor's shape (distance in mm); Values carry the
// distance in m.
type UDL struct{ model string }

var _ codec.Decoder = (*UDL)(nil)

// NewUDL builds a decoder; the model option is required.
func NewUDL(options map[string]any) (codec.Decoder, error) {
	var o Options
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	for _, m := range UDLModels {
		if m == o.Model {
			return &UDL{model: o.Model}, nil
		}
	}
	return nil, fmt.Errorf("model option must be one of %v, got %q", UDLModels, o.Model)
}

// UDLModel returns a constructor with the model preset.
func UDLModel(model string) codec.Constructor { return preset(model, NewUDL) }

// recordLen is the value length of every record the sensors send.
func (d *UDL) recordLen(ch, ty byte) (int, bool) {
	switch {
	case ch == 0xFF:
		n, ok := attrLen[ty]
		return n, ok
	case ch == 0x01 && ty == 0x75, ch == 0x04 && ty == 0x00:
		return 1, true
	case ch == 0x03 && ty == 0x82:
		return 2, true
	case ch == 0x20 && ty == 0xCE:
		return 6, true
	}
	return 0, false
}

// Decode implements codec.Decoder. Like the other Milesight devices, the
// sensors send on fPort 85, but the format does not depend on it.
func (d *UDL) Decode(in codec.Input) (codec.Result, error) {
	distance := -1 // index into Values of this frame's current distance
	tilt := false
	o, err := walk(in.Bytes, d.recordLen, func(o *out, ch, ty byte, v []byte) bool {
		switch ch {
		case 0x01:
			o.num("battery", "%", float64(v[0]))
		case 0x03:
			mm := binary.LittleEndian.Uint16(v)
			o.res.Fields["distance"] = float64(mm)
			distance = len(o.res.Values)
			o.res.Values = append(o.res.Values, udlDistance(o, mm, time.Time{}))
		case 0x04:
			tilt = d.position(o, v[0])
		case 0x20:
			d.history(o, v)
		default:
			return attr(o, ch, ty, v)
		}
		return true
	})
	if err != nil {
		return o.res, err
	}
	if tilt && distance >= 0 && !o.res.Values[distance].Invalid {
		// A tilted sensor no longer looks straight down at the water: its
		// echo is off the surface, not a level.
		o.res.Values[distance].Invalid = true
		o.warn("distance invalid: sensor tilted")
	}
	return o.res, nil
}

// udlDistance is the Value of a distance word, marked invalid when the
// word is no echo.
func udlDistance(o *out, mm uint16, t time.Time) codec.Value {
	v := codec.Value{Field: "distance", Value: float64(mm) / 1000, Unit: "m", Time: t}
	if mm == udlNoEcho || mm == udlNoValue {
		v.Invalid = true
		o.warn("distance invalid: raw value 0x%04x is no echo", mm)
	}
	return v
}

// position decodes the EM310-UDL's tilt switch; true if tilted.
func (d *UDL) position(o *out, p byte) bool {
	switch p {
	case 0:
		o.res.Fields["position"] = "normal"
	case 1:
		o.res.Fields["position"] = "tilt"
	default:
		o.res.Fields["position"] = "unknown"
		o.warn("position value %d unknown", p)
	}
	o.res.Values = append(o.res.Values, codec.Value{Field: "position", Value: float64(p), Unit: "1"})
	return p == 1
}

// history decodes a stored reading (timestamp, distance) sent after a gap
// in coverage; its Value carries the record's own time.
func (d *UDL) history(o *out, v []byte) {
	ts := time.Unix(int64(binary.LittleEndian.Uint32(v)), 0).UTC()
	mm := binary.LittleEndian.Uint16(v[4:])
	o.res.Values = append(o.res.Values, udlDistance(o, mm, ts))
	hist, _ := o.res.Fields["history"].([]map[string]any)
	o.res.Fields["history"] = append(hist, map[string]any{"timestamp": ts.Unix(), "distance": float64(mm)})
}

// FieldNames lists every Value.Field the decoder can return.
func (d *UDL) FieldNames() []string {
	// The EM500-UDL has no tilt switch, but a record of one is decoded
	// wherever it comes from.
	return []string{"battery", "distance", "position"}
}
