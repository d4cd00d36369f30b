// Package kamstrup decodes the OMS / wireless M-Bus application layer that
// Kamstrup flowIQ 2200 water meters (and the HC-003-55 MULTICAL module)
// send over LoRaWAN: a transport-layer CI byte (0x78, 0x7A or 0x72)
// followed by EN 13757-3 data records, including hourly history as an
// inverse compact profile and the Kamstrup infocode with the leak, burst,
// dry and reverse-flow flags.
//
// Result.Fields has the shape of Kamstrup's published "mbusparser" decoder:
// {"values": [{"Type", "Value", "Unit", "Timestamp"}], "latestVolume"}.
// Each numeric entry is also a codec.Value whose Field is the Type text
// ("Volume", "Max Volume flow", "Leak", ...), dated by the meter's own
// date/time record of the same storage number when there is one.
package kamstrup

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/mbus"
)

// ID is the codec id used in firmware profiles.
const ID = "kamstrup-flowiq2200"

// ErrEncrypted is returned for a transport layer with a security mode: the
// module would have to share the meter's AES key, which loraedge does not
// manage.
var ErrEncrypted = errors.New("MBus TPL encryption is not supported")

// timestampLayout is how the reference decoder prints times: ISO 8601 in
// the meter's local time, without a zone.
const timestampLayout = "2006-01-02T15:04:05.000"

// Decoder decodes Kamstrup OMS payloads. It is immutable and safe for
// concurrent use.
type Decoder struct {
	loc *time.Location
}

var _ codec.Decoder = (*Decoder)(nil)

// New builds a decoder. Option "timezone" (IANA name, default "UTC") is the
// zone the meter's clock runs in; M-Bus date/time records carry no zone.
func New(options map[string]any) (codec.Decoder, error) {
	d := &Decoder{loc: time.UTC}
	for k, v := range options {
		switch k {
		case "timezone":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("option timezone: want a string, got %T", v)
			}
			loc, err := time.LoadLocation(s)
			if err != nil {
				return nil, fmt.Errorf("option timezone: %w", err)
			}
			d.loc = loc
		default:
			return nil, fmt.Errorf("unknown option %q", k)
		}
	}
	return d, nil
}

// entry is one element of Fields["values"].
type entry = map[string]any

// Decode implements codec.Decoder.
func (d *Decoder) Decode(in codec.Input) (codec.Result, error) {
	res := codec.Result{Fields: map[string]any{"values": []entry{}}}
	if in.FPort == 0 {
		return res, fmt.Errorf("%w: fPort 0 carries MAC commands", codec.ErrFPort)
	}
	body, err := transport(in.Bytes)
	if err != nil {
		return res, err
	}
	recs, err := mbus.Parse(body)
	if err != nil {
		return res, fmt.Errorf("kamstrup: %w", err)
	}
	if len(recs.Manufacturer) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d bytes of manufacturer-specific data not decoded", len(recs.Manufacturer)))
	}

	// Date/time records date the other records of their storage number.
	times := map[uint64]time.Time{}
	descs := make([]mbus.Desc, len(recs.Records))
	for i, r := range recs.Records {
		descs[i] = mbus.Describe(r.VIF, r.VIFE)
		if k := descs[i].Kind; k == mbus.Date || k == mbus.DateTime {
			if t, ok := r.Time(d.loc); ok {
				if _, seen := times[r.Storage]; !seen {
					times[r.Storage] = t
				}
			}
		}
	}

	var values []entry
	latest, haveLatest := 0.0, false
	add := func(typ string, v any, unit string, t time.Time, ok bool) {
		ts := any(nil)
		if ok {
			ts = t.Format(timestampLayout)
		}
		values = append(values, entry{"Type": typ, "Value": v, "Unit": unit, "Timestamp": ts})
		var f float64
		switch v := v.(type) {
		case float64:
			f = v
		case bool:
			if v {
				f = 1
			}
		default:
			return
		}
		cv := codec.Value{Field: typ, Value: f, Unit: unit}
		if ok {
			cv.Time = t
		}
		res.Values = append(res.Values, cv)
	}
	invalid := func(typ string, t time.Time, ok bool) {
		values = append(values, entry{"Type": typ, "Value": nil, "Unit": "Invalid", "Timestamp": tsOrNil(t, ok)})
		res.Warnings = append(res.Warnings, "Invalid value among data")
	}

	for i, r := range recs.Records {
		desc := descs[i]
		if desc.Kind == mbus.Date || desc.Kind == mbus.DateTime {
			continue
		}
		t, tok := times[r.Storage]
		typ := r.Function.Prefix() + desc.Type
		if r.PlainUnit != "" {
			desc.Unit = r.PlainUnit
		}
		if desc.Profile {
			pts, err := d.profile(recs.Records, descs, i)
			if err != nil {
				res.Fields["values"] = []entry{}
				res.Values = nil
				return res, fmt.Errorf("kamstrup: %w", err)
			}
			for _, p := range pts {
				add(typ, round10(mbus.Scale(float64(p.Raw), desc.Exp)), desc.Unit, p.Time, true)
			}
			continue
		}
		if r.Coding == mbus.Real {
			if f, ok := r.Float(); ok {
				add(typ, round10(mbus.Scale(f, desc.Exp)), desc.Unit, t, tok)
			} else {
				invalid(typ, t, tok)
			}
			continue
		}
		if r.Coding == mbus.NoData {
			continue
		}
		if r.Coding == mbus.Variable && r.LVAR <= 0xBF {
			// LVAR text is sent last character first.
			txt := make([]byte, len(r.Data))
			for k := range r.Data {
				txt[k] = r.Data[len(r.Data)-1-k]
			}
			values = append(values, entry{"Type": typ, "Value": string(txt), "Unit": desc.Unit, "Timestamp": tsOrNil(t, tok)})
			continue
		}
		raw, valid, err := r.Raw(desc.Signed)
		if err != nil {
			return res, fmt.Errorf("kamstrup: %w", err)
		}
		if desc.InvalidAt != 0 && raw == desc.InvalidAt {
			valid = false
		}
		if !valid {
			invalid(typ, t, tok)
			continue
		}
		switch desc.Kind {
		case mbus.Infocode:
			for bit, name := range mbus.InfocodeBits {
				add(name, raw&(1<<bit) != 0, "NA", t, tok)
			}
		default:
			v := round10(mbus.Scale(float64(raw), desc.Exp))
			add(typ, v, desc.Unit, t, tok)
			if typ == "Volume" {
				latest, haveLatest = v, true
			}
		}
	}
	if values == nil {
		values = []entry{}
	}
	res.Fields["values"] = values
	if haveLatest {
		res.Fields["latestVolume"] = latest
	}
	return res, nil
}

// profile expands the inverse compact profile of record i from its base
// record: the plain record with the same type, unit, resolution, function
// and storage number.
func (d *Decoder) profile(recs []mbus.Record, descs []mbus.Desc, i int) ([]mbus.ProfilePoint, error) {
	p, pd := recs[i], descs[i]
	for j, r := range recs {
		bd := descs[j]
		if j == i || bd.Profile || bd.Type != pd.Type || bd.Unit != pd.Unit || bd.Exp != pd.Exp ||
			r.Storage != p.Storage || r.Function != p.Function || r.Tariff != p.Tariff || r.Subunit != p.Subunit {
			continue
		}
		raw, valid, err := r.Raw(bd.Signed)
		if err != nil || !valid {
			continue
		}
		var base time.Time
		found := false
		for k, tr := range recs {
			if (descs[k].Kind == mbus.DateTime || descs[k].Kind == mbus.Date) && tr.Storage == r.Storage {
				base, found = tr.Time(d.loc)
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: base value has no date/time", codec.ErrFormat)
		}
		return mbus.ExpandProfile(p.Data, raw, base)
	}
	return nil, fmt.Errorf("%w: %w", codec.ErrFormat, mbus.ErrNoBase)
}

// transport strips the transport-layer header (EN 13757-7) and returns the
// application-layer records.
func transport(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty payload", codec.ErrTruncated)
	}
	var hdr int
	switch ci := b[0]; ci {
	case 0x78: // no header
		return b[1:], nil
	case 0x7A: // short header: ACC, STS, config field
		hdr = 5
	case 0x72: // long header: ident, manufacturer, version, device type, ACC, STS, config field
		hdr = 13
	default:
		return nil, fmt.Errorf("%w: unsupported CI field 0x%02X", codec.ErrFormat, ci)
	}
	if len(b) < hdr {
		return nil, fmt.Errorf("%w: transport header needs %d bytes, have %d", codec.ErrTruncated, hdr, len(b))
	}
	cf := uint16(b[hdr-2]) | uint16(b[hdr-1])<<8
	if mode := (cf >> 8) & 0x1F; mode != 0 {
		return nil, fmt.Errorf("%w: %w (security mode %d)", codec.ErrFormat, ErrEncrypted, mode)
	}
	return b[hdr:], nil
}

func tsOrNil(t time.Time, ok bool) any {
	if !ok {
		return nil
	}
	return t.Format(timestampLayout)
}

// round10 rounds to 10 decimal places, halves up, as the reference decoder
// does; it removes binary noise such as 7842.497000000001.
func round10(x float64) float64 {
	if math.Abs(x) >= 1e5 { // no room left for 10 decimals in a float64
		return x
	}
	r := math.Floor(x*1e10+0.5) / 1e10
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return x
	}
	return r
}
