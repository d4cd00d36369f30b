package dragino

import (
	"encoding/binary"
	"fmt"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// LDDS75FPort is the LDDS75 data port.
const LDDS75FPort = 2

// ldds75MinDistance is the smallest distance the LDDS75 measures (280 mm,
// 0x0118): the manual calls a smaller value an invalid reading.
const ldds75MinDistance = 280

// LDDS75 decodes the Dragino LDDS75 ultrasonic distance sensor: big-endian
// battery (mV, top two bits flags), distance (mm), interrupt flag, DS18B20
// temperature (0.1 degC, signed) and sensor flag; 8 bytes. Early firmware
// and the TTN example send only battery and distance (4 bytes) or those and
// the interrupt flag (5 bytes). Safe for concurrent use.
type LDDS75 struct{}

var _ codec.Decoder = (*LDDS75)(nil)

// NewLDDS75 builds an LDDS75 decoder; the codec has no options.
func NewLDDS75(options map[string]any) (codec.Decoder, error) {
	var o struct{}
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	return &LDDS75{}, nil
}

// Decode implements codec.Decoder. A distance of 0 or a cleared sensor
// flag means no ultrasonic sensor answered: no distance is returned. A
// distance below 280 mm is returned marked quality=invalid.
func (d *LDDS75) Decode(in codec.Input) (codec.Result, error) {
	if in.FPort != LDDS75FPort {
		return codec.Result{}, fmt.Errorf("%w: %d, LDDS75 data uses %d", codec.ErrFPort, in.FPort, LDDS75FPort)
	}
	b := in.Bytes
	switch len(b) {
	case 4, 5, 8:
	default:
		if len(b) < 4 {
			return codec.Result{}, fmt.Errorf("%w: %d bytes, want 8", codec.ErrTruncated, len(b))
		}
		return codec.Result{}, fmt.Errorf("%w: %d bytes, want 4, 5 or 8", codec.ErrFormat, len(b))
	}
	o := &out{res: codec.Result{Fields: map[string]any{"Node_type": "LDDS75"}}}
	u16 := func(i int) uint16 { return binary.BigEndian.Uint16(b[i:]) }
	o.num("Bat", "V", float64(u16(0)&0x3FFF)/1000)
	dist := u16(2)
	sensor := true
	if len(b) >= 5 {
		o.num("Interrupt_flag", "1", float64(b[4]))
	}
	if len(b) == 8 {
		t := float64(int16(u16(5))) / 10
		o.num("TempC_DS18B20", "degC", t)
		o.res.Fields["Sensor_flag"] = float64(b[7])
		sensor = b[7] != 0
	}
	switch {
	case dist == 0 || !sensor:
		o.res.Fields["Distance"] = "No Sensor"
		o.res.Warnings = append(o.res.Warnings, "no ultrasonic sensor detected: no distance")
	case dist < ldds75MinDistance:
		o.res.Fields["Distance"] = float64(dist)
		o.res.Fields["Distance_status"] = "Invalid Reading"
		o.res.Values = append(o.res.Values, codec.Value{Field: "Distance", Value: float64(dist), Unit: "mm",
			Invalid: true})
		o.res.Warnings = append(o.res.Warnings, fmt.Sprintf("distance %d mm below the 280 mm range: marked invalid", dist))
	default:
		o.num("Distance", "mm", float64(dist))
	}
	return o.res, nil
}

// FieldNames lists every Value.Field the decoder can return.
func (d *LDDS75) FieldNames() []string {
	return []string{"Bat", "Distance", "Interrupt_flag", "TempC_DS18B20"}
}
