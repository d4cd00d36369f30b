// Package decentlab decodes the Decentlab protocol v2 shared by all
// Decentlab devices: a 5-byte header (version 2, device id, sensor flags)
// followed, for every flag bit set, by that sensor group's fixed number of
// big-endian 16-bit words. Only the per-model sensor table differs, so one
// decoder serves DL-IAM, DL-PM, DL-ITST, DL-ATM41, DL-SHT35 and the level
// sensors DL-MBX and DL-PR26.
package decentlab

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// FPort is the port of Decentlab data uplinks.
const FPort = 1

type sensor struct {
	name, display, unit string
	conv                func(w []float64) float64
}

type group struct {
	words   int
	sensors []sensor
}

func battery() group {
	return group{1, []sensor{{"battery_voltage", "Battery voltage", "V", func(w []float64) float64 { return w[0] / 1000 }}}}
}

// offsetBinary is the ATM41 word encoding: value = (word-32768)/div.
func offsetBinary(i int, div float64) func(w []float64) float64 {
	return func(w []float64) float64 { return (w[i] - 32768) / div }
}

const (
	degC  = "°C"
	mps   = "m⋅s⁻¹"
	ugm3  = "µg⋅m⁻³"
	perCm = "1⋅cm⁻³"
	deg   = "°"
)

// models are the sensor tables, group i = flag bit i.
var models = map[string][]group{
	"dl-iam": {
		battery(),
		{2, []sensor{
			{"air_temperature", "Air temperature", degC, func(w []float64) float64 { return 175*w[0]/65535 - 45 }},
			{"air_humidity", "Air humidity", "%", func(w []float64) float64 { return 100 * w[1] / 65535 }},
		}},
		{1, []sensor{{"barometric_pressure", "Barometric pressure", "Pa", func(w []float64) float64 { return w[0] * 2 }}}},
		{2, []sensor{
			{"ambient_light_visible_infrared", "Ambient light (visible + infrared)", "", func(w []float64) float64 { return w[0] }},
			{"ambient_light_infrared", "Ambient light (infrared)", "", func(w []float64) float64 { return w[1] }},
			{"illuminance", "Illuminance", "lx", func(w []float64) float64 {
				return math.Max(math.Max(w[0]-1.64*w[1], 0.59*w[0]-0.86*w[1]), 0) * 1.5504
			}},
		}},
		{3, []sensor{
			{"co2_concentration", "CO2 concentration", "ppm", func(w []float64) float64 { return w[0] - 32768 }},
			{"co2_sensor_status", "CO2 sensor status", "", func(w []float64) float64 { return w[1] }},
			{"raw_ir_reading", "Raw IR reading", "", func(w []float64) float64 { return w[2] }},
		}},
		{1, []sensor{{"activity_counter", "Activity counter", "", func(w []float64) float64 { return w[0] }}}},
		{1, []sensor{{"total_voc", "Total VOC", "ppb", func(w []float64) float64 { return w[0] }}}},
	},
	"dl-pm": {
		battery(),
		{10, []sensor{
			{"pm1_0_mass_concentration", "PM1.0 mass concentration", ugm3, func(w []float64) float64 { return w[0] / 10 }},
			{"pm2_5_mass_concentration", "PM2.5 mass concentration", ugm3, func(w []float64) float64 { return w[1] / 10 }},
			{"pm4_mass_concentration", "PM4 mass concentration", ugm3, func(w []float64) float64 { return w[2] / 10 }},
			{"pm10_mass_concentration", "PM10 mass concentration", ugm3, func(w []float64) float64 { return w[3] / 10 }},
			{"typical_particle_size", "Typical particle size", "nm", func(w []float64) float64 { return w[4] }},
			{"pm0_5_number_concentration", "PM0.5 number concentration", perCm, func(w []float64) float64 { return w[5] / 10 }},
			{"pm1_0_number_concentration", "PM1.0 number concentration", perCm, func(w []float64) float64 { return w[6] / 10 }},
			{"pm2_5_number_concentration", "PM2.5 number concentration", perCm, func(w []float64) float64 { return w[7] / 10 }},
			{"pm4_number_concentration", "PM4 number concentration", perCm, func(w []float64) float64 { return w[8] / 10 }},
			{"pm10_number_concentration", "PM10 number concentration", perCm, func(w []float64) float64 { return w[9] / 10 }},
		}},
		{2, []sensor{
			{"air_temperature", "Air temperature", degC, func(w []float64) float64 { return 175.72*w[0]/65536 - 46.85 }},
			{"air_humidity", "Air humidity", "%", func(w []float64) float64 { return 125*w[1]/65536 - 6 }},
		}},
		{1, []sensor{{"barometric_pressure", "Barometric pressure", "Pa", func(w []float64) float64 { return w[0] * 2 }}}},
	},
	"dl-itst": {
		{2, []sensor{
			{"temperature_target", "Temperature target", degC, func(w []float64) float64 { return (w[0] - 1000) / 10 }},
			{"temperature_head", "Temperature head", degC, func(w []float64) float64 { return (w[1] - 1000) / 10 }},
		}},
		battery(),
	},
	"dl-atm41": {
		{17, []sensor{
			{"solar_radiation", "Solar radiation", "W⋅m⁻²", offsetBinary(0, 1)},
			{"precipitation", "Precipitation", "mm", offsetBinary(1, 1000)},
			{"lightning_strike_count", "Lightning strike count", "", offsetBinary(2, 1)},
			{"lightning_average_distance", "Lightning average distance", "km", offsetBinary(3, 1)},
			{"wind_speed", "Wind speed", mps, offsetBinary(4, 100)},
			{"wind_direction", "Wind direction", deg, offsetBinary(5, 10)},
			{"maximum_wind_speed", "Maximum wind speed", mps, offsetBinary(6, 100)},
			{"air_temperature", "Air temperature", degC, offsetBinary(7, 10)},
			{"vapor_pressure", "Vapor pressure", "kPa", offsetBinary(8, 100)},
			{"atmospheric_pressure", "Atmospheric pressure", "kPa", offsetBinary(9, 100)},
			{"relative_humidity", "Relative humidity", "%", offsetBinary(10, 10)},
			{"sensor_temperature_internal", "Sensor temperature (internal)", degC, offsetBinary(11, 10)},
			{"x_orientation_angle", "X orientation angle", deg, offsetBinary(12, 10)},
			{"y_orientation_angle", "Y orientation angle", deg, offsetBinary(13, 10)},
			{"compass_heading", "Compass heading", deg, offsetBinary(14, 1)},
			{"north_wind_speed", "North wind speed", mps, offsetBinary(15, 100)},
			{"east_wind_speed", "East wind speed", mps, offsetBinary(16, 100)},
		}},
		battery(),
	},
	"dl-sht35": {
		{2, []sensor{
			{"air_temperature", "Air temperature", degC, func(w []float64) float64 { return 175*w[0]/65535 - 45 }},
			{"air_humidity", "Air humidity", "%", func(w []float64) float64 { return 100 * w[1] / 65535 }},
		}},
		battery(),
	},
}

// Reading is one sensor value in the vendor's published output shape.
type Reading struct {
	DisplayName string  `json:"displayName"`
	Value       float64 `json:"value"`
	Unit        string  `json:"unit,omitempty"`
}

// Models lists the supported models ("dl-iam", ...), sorted.
func Models() []string {
	out := make([]string, 0, len(models)+len(paramModels))
	for m := range models {
		out = append(out, m)
	}
	for m := range paramModels {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Options of the Decentlab codec.
type Options struct {
	Model string `json:"model"`
	// PMin and PMax are the DL-PR26's pressure range in bar (default 0..1).
	PMin *float64 `json:"pmin,omitempty"`
	PMax *float64 `json:"pmax,omitempty"`
}

// Decoder decodes one model; safe for concurrent use.
type Decoder struct {
	model  string
	groups []group
	words  int // max words per group, for the scratch buffer
	level  levelModel
}

var _ codec.Decoder = (*Decoder)(nil)

// New builds a decoder; the model option is required.
func New(options map[string]any) (codec.Decoder, error) {
	var o Options
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	gs, ok := models[o.Model]
	mk, param := paramModels[o.Model]
	switch {
	case param:
		var err error
		if gs, err = mk(o); err != nil {
			return nil, err
		}
	case !ok:
		return nil, fmt.Errorf("model option must be one of %v, got %q", Models(), o.Model)
	case o.PMin != nil || o.PMax != nil:
		return nil, fmt.Errorf("options: pmin and pmax apply to dl-pr26 only, not %s", o.Model)
	}
	d := &Decoder{model: o.Model, groups: gs, level: levelModels[o.Model]}
	for _, g := range gs {
		d.words = max(d.words, g.words)
	}
	return d, nil
}

// Model returns a constructor with the model preset, for registering one
// codec id per model ("decentlab-dl-iam", ...).
func Model(model string) codec.Constructor {
	return func(options map[string]any) (codec.Decoder, error) {
		o := map[string]any{"model": model}
		for k, v := range options {
			o[k] = v
		}
		return New(o)
	}
}

// Decode implements codec.Decoder.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	if in.FPort != FPort {
		return codec.Result{}, fmt.Errorf("%w: %d, Decentlab data uplinks use %d", codec.ErrFPort, in.FPort, FPort)
	}
	b := in.Bytes
	if len(b) < 5 {
		return codec.Result{}, fmt.Errorf("%w: %d bytes, header needs 5", codec.ErrTruncated, len(b))
	}
	if b[0] != 2 {
		return codec.Result{}, fmt.Errorf("%w: protocol version %d doesn't match v2", codec.ErrFormat, b[0])
	}
	flags := binary.BigEndian.Uint16(b[3:])
	res := codec.Result{Fields: map[string]any{
		"protocol_version": 2,
		"device_id":        binary.BigEndian.Uint16(b[1:]),
	}}
	if extra := flags >> len(d.groups); extra != 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("flags 0x%04x name sensor groups %s does not have", flags, d.model))
	}
	w := make([]float64, d.words)
	pos := 5
	for i, g := range d.groups {
		if flags&(1<<i) == 0 {
			continue
		}
		if len(b)-pos < 2*g.words {
			return res, fmt.Errorf("%w: sensor group %d needs %d bytes at %d, %d left",
				codec.ErrTruncated, i, 2*g.words, pos, len(b)-pos)
		}
		for j := range g.words {
			w[j] = float64(binary.BigEndian.Uint16(b[pos+2*j:]))
		}
		pos += 2 * g.words
		for _, s := range g.sensors {
			v := s.conv(w)
			res.Fields[s.name] = Reading{DisplayName: s.display, Value: v, Unit: s.unit}
			res.Values = append(res.Values, d.value(&res, s, v, w))
		}
	}
	if pos < len(b) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d trailing bytes ignored", len(b)-pos))
	}
	return res, nil
}

// value is the Value of sensor s, marked invalid (with a warning) where the
// sensor says so.
func (d *Decoder) value(res *codec.Result, s sensor, v float64, w []float64) codec.Value {
	out := codec.Value{Field: s.name, Value: v, Unit: s.unit}
	if d.level.invalid != nil {
		if why, bad := d.level.invalid(s.name, w); bad {
			out.Invalid = true
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s invalid: %s", s.name, why))
		}
	}
	return out
}

// FieldNames lists every Value.Field the decoder can return for its model.
func (d *Decoder) FieldNames() []string {
	var names []string
	for _, g := range d.groups {
		for _, s := range g.sensors {
			names = append(names, s.name)
		}
	}
	return names
}
