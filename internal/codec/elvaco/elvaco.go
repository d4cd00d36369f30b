// Package elvaco decodes the Elvaco CMi4140, a LoRaWAN module for Kamstrup
// MULTICAL heat meters. Its "standard" message (fPort 2, first byte 0x15)
// is a run of wired M-Bus data records, parsed with package mbus.
//
// Fields use Elvaco's published names and units: energy kWh, volume m3,
// power kW, flow m3/h, flow_temperature and return_temperature °C, serial,
// error_flag. error_flag reproduces the published decoder, which prints the
// 32-bit error field as hex digits and reads them as a decimal number (raw
// 0x00010000 → 10000), so existing dashboards and the published examples
// agree; error_flags_raw carries the real bit field (65536 there).
package elvaco

import (
	"fmt"
	"strconv"
	"time"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
	"github.com/loraedge/loraedge/internal/codec/mbus"
)

// ID is the codec id used in firmware profiles.
const ID = "elvaco-cmi4140"

// FPort is the only port the module sends meter data on.
const FPort = 2

// formatStandard is the only message format the decoder knows.
const formatStandard = 0x15

// timeZone is the zone of the meter clock; the module documents none, and
// the date/time record is only shown, never used to date values.
var timeZone = time.UTC

// Decoder decodes CMi4140 uplinks; immutable and safe for concurrent use.
type Decoder struct{}

var _ codec.Decoder = Decoder{}

// New builds a decoder; the codec takes no options.
func New(options map[string]any) (codec.Decoder, error) {
	var o struct{}
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	return Decoder{}, nil
}

// Decode implements codec.Decoder.
func (Decoder) Decode(in codec.Input) (codec.Result, error) {
	res := codec.Result{Fields: map[string]any{}}
	if in.FPort != FPort {
		return res, fmt.Errorf("%w: %d, CMi4140 sends meter data on %d", codec.ErrFPort, in.FPort, FPort)
	}
	if len(in.Bytes) == 0 {
		return res, fmt.Errorf("%w: empty payload", codec.ErrTruncated)
	}
	if f := in.Bytes[0]; f != formatStandard {
		return res, fmt.Errorf("%w: message format 0x%02X, only 0x15 (standard) is supported", codec.ErrFormat, f)
	}
	recs, err := mbus.Parse(in.Bytes[1:])
	if err != nil {
		return res, fmt.Errorf("cmi4140: %w", err)
	}
	if len(recs.Manufacturer) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d bytes of manufacturer-specific data not decoded", len(recs.Manufacturer)))
	}
	num := func(field, unit string, v float64) {
		res.Fields[field] = v
		res.Values = append(res.Values, codec.Value{Field: field, Value: v, Unit: unit})
	}
	for _, r := range recs.Records {
		d := mbus.Describe(r.VIF, r.VIFE)
		if r.Function != mbus.Instantaneous || r.Storage != 0 || r.Tariff != 0 || r.Subunit != 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("record %s (storage %d, tariff %d) skipped", d.Type, r.Storage, r.Tariff))
			continue
		}
		if d.Kind == mbus.DateTime || d.Kind == mbus.Date {
			if t, ok := r.Time(timeZone); ok {
				res.Fields["datetime_heat_meter"] = t.Format("2006-01-02T15:04")
			}
			continue
		}
		raw, valid, err := r.Raw(d.Signed)
		if err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("record %s: %v", d.Type, err))
			continue
		}
		if !valid && d.Kind != mbus.Bits { // all ones is a valid bit field
			res.Warnings = append(res.Warnings, fmt.Sprintf("record %s: invalid value", d.Type))
			continue
		}
		x := float64(raw)
		switch {
		case d.Type == "Energy" && d.Unit == "Wh":
			num("energy", "kWh", mbus.Scale(x, d.Exp-3))
		case d.Type == "Energy" && d.Unit == "J":
			num("energy", "kWh", mbus.Scale(x, d.Exp)/3.6e6)
		case d.Type == "Volume":
			num("volume", "m3", mbus.Scale(x, d.Exp))
		case d.Type == "Power" && d.Unit == "W":
			num("power", "kW", mbus.Scale(x, d.Exp-3))
		case d.Type == "Volume flow" && d.Unit == "m3/h":
			num("flow", "m3/h", mbus.Scale(x, d.Exp))
		case d.Type == "Flow temperature":
			num("flow_temperature", "°C", mbus.Scale(x, d.Exp))
		case d.Type == "Return temperature":
			num("return_temperature", "°C", mbus.Scale(x, d.Exp))
		case d.Type == "Fabrication no":
			res.Fields["serial"] = raw
		case d.Type == "Error flags":
			quirk, err := strconv.ParseFloat(fmt.Sprintf("%0*X", 2*len(r.Data), raw), 64)
			if err != nil {
				// Hex digits A-F make the published decoder print NaN;
				// keep only the real bit field then.
				res.Fields["error_flag"] = nil
			} else {
				num("error_flag", "", quirk)
			}
			num("error_flags_raw", "", x)
		default:
			res.Warnings = append(res.Warnings, fmt.Sprintf("record %s (DIF 0x%02X VIF 0x%02X) not in the CMi4140 standard message, skipped", d.Type, r.DIF, r.VIF))
		}
	}
	return res, nil
}

// FieldNames lists every Value.Field the decoder can return.
func (Decoder) FieldNames() []string {
	return []string{"energy", "volume", "power", "flow", "flow_temperature", "return_temperature", "error_flag", "error_flags_raw"}
}
