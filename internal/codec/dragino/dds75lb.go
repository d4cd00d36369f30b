package dragino

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// DDS75-LB ports and limits. The LB generation adds a device status frame
// (fPort 5), a data log (fPort 3) and a detection-mode frame (fPort 6) to
// the 8-byte reading on fPort 2.
const (
	dds75FPortData   = 2
	dds75FPortLog    = 3
	dds75FPortStatus = 5
	dds75FPortDetect = 6
	dds75FrameLen    = 8
	dds75StatusLen   = 7
	dds75ModelID     = 0x27
	// dds75MinMM is the near end of the measuring range: the manual calls
	// any smaller value invalid, 0 meaning no ultrasonic sensor answered.
	dds75MinMM = 280
)

// dds75Bands are the frequency-band codes of the device status frame.
var dds75Bands = map[byte]string{
	0x01: "EU868", 0x02: "US915", 0x03: "IN865", 0x04: "AU915", 0x05: "KZ865", 0x06: "RU864", 0x07: "AS923",
	0x08: "AS923_1", 0x09: "AS923_2", 0x0A: "AS923_3", 0x0B: "CN470", 0x0C: "EU433", 0x0D: "KR920", 0x0E: "MA869",
}

// DDS75LB decodes the Dragino DDS75-LB ultrasonic distance sensor. Fields
// keep the vendor decoder's names and units (Distance in mm); the Distance
// Value is in m. Safe for concurrent use.
type DDS75LB struct{}

var _ codec.Decoder = (*DDS75LB)(nil)

// NewDDS75LB builds a decoder; the codec has no options.
func NewDDS75LB(options map[string]any) (codec.Decoder, error) {
	var o struct{}
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	return &DDS75LB{}, nil
}

// Decode implements codec.Decoder.
func (d *DDS75LB) Decode(in codec.Input) (codec.Result, error) {
	b := in.Bytes
	o := &out{res: codec.Result{Fields: map[string]any{}}}
	switch in.FPort {
	case dds75FPortData:
		return d.data(o, b)
	case dds75FPortStatus:
		return d.status(o, b)
	case dds75FPortLog:
		if len(b) == 0 || len(b)%11 != 0 {
			return codec.Result{}, fmt.Errorf("%w: data log of %d bytes, want a multiple of 11", codec.ErrFormat, len(b))
		}
		// Poll replies with logged readings: their field layout is not
		// published precisely enough to turn into measurements.
		o.res.Warnings = append(o.res.Warnings, fmt.Sprintf("data log (%d entries) not decoded", len(b)/11))
		return o.res, nil
	case dds75FPortDetect:
		if len(b) == 0 || len(b)%2 != 0 {
			return codec.Result{}, fmt.Errorf("%w: detection data of %d bytes, want pairs", codec.ErrFormat, len(b))
		}
		o.res.Fields["Detect_Mode_Data"] = dds75Words(b)
		return o.res, nil
	}
	return codec.Result{}, fmt.Errorf("%w: %d, DDS75-LB uses 2 (data), 3 (log), 5 (status), 6 (detection)", codec.ErrFPort, in.FPort)
}

// data decodes the reading frame: battery, distance, interrupt flag,
// DS18B20 temperature, sensor flag.
func (d *DDS75LB) data(o *out, b []byte) (codec.Result, error) {
	if len(b) < 2 {
		return codec.Result{}, fmt.Errorf("%w: %d bytes, want %d", codec.ErrTruncated, len(b), dds75FrameLen)
	}
	o.res.Fields["Node_type"] = "DDS75-LB"
	if b[0]&0x10 != 0 {
		// Multi-sample mode: the battery and up to 20 distances from byte 8.
		o.num("Bat", "V", float64(binary.BigEndian.Uint16(b)&0x0FFF)/1000)
		if len(b) > dds75FrameLen {
			o.res.Fields["Additional_Distance_Data"] = dds75Words(b[dds75FrameLen : dds75FrameLen+min(40, (len(b)-dds75FrameLen)&^1)])
		}
		o.res.Warnings = append(o.res.Warnings, "multi-sample frame: the distances stay in the decoded fields")
		return o.res, nil
	}
	switch {
	case len(b) < dds75FrameLen:
		return codec.Result{}, fmt.Errorf("%w: %d bytes, want %d", codec.ErrTruncated, len(b), dds75FrameLen)
	case len(b) > dds75FrameLen:
		return codec.Result{}, fmt.Errorf("%w: %d bytes, want %d", codec.ErrFormat, len(b), dds75FrameLen)
	}
	o.num("Bat", "V", float64(binary.BigEndian.Uint16(b)&0x3FFF)/1000)
	mm := binary.BigEndian.Uint16(b[2:])
	o.res.Fields["Distance"] = float64(mm)
	dist := codec.Value{Field: "Distance", Value: float64(mm) / 1000, Unit: "m"}
	sensor := b[7]
	switch {
	case sensor == 0:
		dist.Invalid = true
		o.res.Warnings = append(o.res.Warnings, "Distance invalid: no ultrasonic sensor detected (sensor flag 0)")
	case mm < dds75MinMM:
		dist.Invalid = true
		o.res.Warnings = append(o.res.Warnings, fmt.Sprintf("Distance invalid: %d mm is below the %d mm measuring range", mm, dds75MinMM))
	}
	o.res.Values = append(o.res.Values, dist)
	o.num("Interrupt_flag", "1", float64(b[4]))
	o.num("TempC_DS18B20", "degC", float64(int16(binary.BigEndian.Uint16(b[5:])))/10)
	o.res.Fields["Sensor_flag"] = float64(sensor)
	return o.res, nil
}

// status decodes the device status frame (model, firmware, band, battery).
func (d *DDS75LB) status(o *out, b []byte) (codec.Result, error) {
	if len(b) < dds75StatusLen {
		return codec.Result{}, fmt.Errorf("%w: status of %d bytes, want %d", codec.ErrTruncated, len(b), dds75StatusLen)
	}
	if b[0] != dds75ModelID {
		o.res.Warnings = append(o.res.Warnings, fmt.Sprintf("status names sensor model 0x%02x, not the DDS75-LB (0x%02x)", b[0], dds75ModelID))
	} else {
		o.res.Fields["SENSOR_MODEL"] = "DDS75-LB"
	}
	o.res.Fields["FIRMWARE_VERSION"] = strconv.Itoa(int(b[1]&0x0F)) + "." + strconv.Itoa(int(b[2]>>4)) + "." + strconv.Itoa(int(b[2]&0x0F))
	if band, ok := dds75Bands[b[3]]; ok {
		o.res.Fields["FREQUENCY_BAND"] = band
	}
	if b[4] == 0xFF {
		o.res.Fields["SUB_BAND"] = "NULL"
	} else {
		o.res.Fields["SUB_BAND"] = float64(b[4])
	}
	bat := float64(binary.BigEndian.Uint16(b[5:])) / 1000
	o.res.Fields["BAT"] = bat
	o.res.Values = append(o.res.Values, codec.Value{Field: "Bat", Value: bat, Unit: "V"})
	return o.res, nil
}

func dds75Words(b []byte) []float64 {
	out := make([]float64, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		out = append(out, float64(binary.BigEndian.Uint16(b[i:])))
	}
	return out
}

// FieldNames lists every Value.Field the decoder can return.
func (d *DDS75LB) FieldNames() []string {
	return []string{"Bat", "Distance", "Interrupt_flag", "TempC_DS18B20"}
}
