package mbus

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/loraedge/loraedge/internal/codec"
)

// Kind says what a record's value means beyond "a number".
type Kind uint8

// Kinds of record values.
const (
	Number          Kind = iota
	Date                 // type G (CP16)
	DateTime             // type F (CP32) or I (CP48)
	Identifier           // fabrication or identification number, no unit
	Bits                 // bit field (type D), e.g. error flags
	Infocode             // Kamstrup water-meter infocode
	InfocodeMCType4      // Kamstrup MULTICAL heat-meter infocode
)

// Desc is what a VIF/VIFE chain says about a record.
type Desc struct {
	// Type is the quantity text, e.g. "Volume", "Flow temperature".
	Type string
	// Unit of the value after scaling by 10^Exp, e.g. "m3", "Wh", "°C".
	Unit string
	// Exp is the decimal exponent: value = raw × 10^Exp.
	Exp int
	// Signed selects Annex A type B (two's complement, most negative value
	// invalid) over type C (unsigned, all ones invalid) for binary data.
	Signed bool
	Kind   Kind
	// Profile is set by the orthogonal VIFE 0x13 (inverse compact profile).
	Profile bool
	// InvalidAt, when non-zero, is an extra raw value meaning "invalid"
	// (Kamstrup ALD last day uses 4095).
	InvalidAt int64
}

var durationUnits = [4]string{"s", "min", "h", "d"}

// Describe interprets a VIF and its VIFEs (EN 13757-3 tables 10, 12, 14 and
// 15; VIF 0xFF as Kamstrup's manufacturer-specific table).
func Describe(vif byte, vife []byte) Desc {
	var d Desc
	rest := vife
	first := func() byte {
		if len(vife) == 0 {
			return 0xFF // no VIFE after an extension VIF: nothing matches
		}
		rest = vife[1:]
		return vife[0] & 0x7F
	}
	switch vif {
	case 0xFD:
		d = describeFD(first())
	case 0xFB:
		d = describeFB(first())
	case 0xFF:
		d = describeKamstrup(first())
	default:
		d = describePrimary(vif & 0x7F)
	}
	for _, e := range rest {
		switch e &= 0x7F; {
		case e == 0x13:
			d.Profile = true
		case e == 0x3B:
			d.Type = "Forward " + d.Type
		case e == 0x3C:
			d.Type = "Reverse " + d.Type
		case e >= 0x70 && e <= 0x77: // multiplicative correction 10^(nnn-6)
			d.Exp += int(e&7) - 6
		case e == 0x7D: // multiplicative correction 10^3
			d.Exp += 3
		}
	}
	return d
}

func describePrimary(c byte) Desc {
	n := int(c & 7)
	switch {
	case c <= 0x07:
		return Desc{Type: "Energy", Unit: "Wh", Exp: n - 3}
	case c <= 0x0F:
		return Desc{Type: "Energy", Unit: "J", Exp: n}
	case c <= 0x17:
		return Desc{Type: "Volume", Unit: "m3", Exp: n - 6}
	case c <= 0x1F:
		return Desc{Type: "Mass", Unit: "kg", Exp: n - 3}
	case c <= 0x23:
		return Desc{Type: "On time", Unit: durationUnits[c&3]}
	case c <= 0x27:
		return Desc{Type: "Operating time", Unit: durationUnits[c&3]}
	case c <= 0x2F:
		return Desc{Type: "Power", Unit: "W", Exp: n - 3, Signed: true}
	case c <= 0x37:
		return Desc{Type: "Power", Unit: "J/h", Exp: n, Signed: true}
	case c <= 0x3F:
		return Desc{Type: "Volume flow", Unit: "m3/h", Exp: n - 6, Signed: true}
	case c <= 0x47:
		return Desc{Type: "Volume flow", Unit: "m3/min", Exp: n - 7, Signed: true}
	case c <= 0x4F:
		return Desc{Type: "Volume flow", Unit: "m3/s", Exp: n - 9, Signed: true}
	case c <= 0x57:
		return Desc{Type: "Mass flow", Unit: "kg/h", Exp: n - 3, Signed: true}
	case c <= 0x5B:
		return Desc{Type: "Flow temperature", Unit: "°C", Exp: int(c&3) - 3, Signed: true}
	case c <= 0x5F:
		return Desc{Type: "Return temperature", Unit: "°C", Exp: int(c&3) - 3, Signed: true}
	case c <= 0x63:
		return Desc{Type: "Temperature difference", Unit: "K", Exp: int(c&3) - 3, Signed: true}
	case c <= 0x67:
		return Desc{Type: "External temperature", Unit: "°C", Exp: int(c&3) - 3, Signed: true}
	case c <= 0x6B:
		return Desc{Type: "Pressure", Unit: "bar", Exp: int(c&3) - 3, Signed: true}
	case c == 0x6C:
		return Desc{Type: "Date", Kind: Date}
	case c == 0x6D:
		return Desc{Type: "Date time", Kind: DateTime}
	case c == 0x6E:
		return Desc{Type: "Units for H.C.A.", Unit: "NA"}
	case c >= 0x70 && c <= 0x73:
		return Desc{Type: "Averaging duration", Unit: durationUnits[c&3]}
	case c >= 0x74 && c <= 0x77:
		return Desc{Type: "Actuality duration", Unit: durationUnits[c&3]}
	case c == 0x78:
		return Desc{Type: "Fabrication no", Unit: "NA", Kind: Identifier}
	case c == 0x79:
		return Desc{Type: "Enhanced identification", Unit: "NA", Kind: Identifier}
	case c == 0x7A:
		return Desc{Type: "Bus address", Unit: "NA", Kind: Identifier}
	case c == 0x7C:
		return Desc{Type: "Plain text unit"}
	case c == 0x7E:
		return Desc{Type: "Any VIF", Unit: "NA"}
	case c == 0x7F:
		return Desc{Type: "Manufacturer specific", Unit: "NA"}
	}
	return Desc{Type: fmt.Sprintf("VIF 0x%02X", c), Unit: "NA"}
}

var fdNames = map[byte]string{
	0x08: "Access number", 0x09: "Medium", 0x0A: "Manufacturer", 0x0B: "Parameter set identification",
	0x0C: "Model/Version", 0x0D: "Hardware version", 0x0E: "Firmware version", 0x0F: "Software version",
	0x10: "Customer location", 0x11: "Customer", 0x16: "Password", 0x1A: "Digital output",
	0x1B: "Digital input", 0x1C: "Baudrate", 0x1D: "Response delay time", 0x1E: "Retry",
	0x60: "Reset counter", 0x61: "Cumulation counter",
}

func describeFD(c byte) Desc {
	switch {
	case c == 0x17:
		return Desc{Type: "Error flags", Unit: "NA", Kind: Bits}
	case c == 0x18:
		return Desc{Type: "Error mask", Unit: "NA", Kind: Bits}
	case c >= 0x40 && c <= 0x4F:
		return Desc{Type: "Voltage", Unit: "V", Exp: int(c&0x0F) - 9}
	case c >= 0x50 && c <= 0x5F:
		return Desc{Type: "Current", Unit: "A", Exp: int(c&0x0F) - 12}
	case c == 0x74:
		return Desc{Type: "Remaining battery life", Unit: "d"}
	}
	if name, ok := fdNames[c]; ok {
		return Desc{Type: name, Unit: "NA"}
	}
	return Desc{Type: fmt.Sprintf("VIF FD 0x%02X", c), Unit: "NA"}
}

func describeFB(c byte) Desc {
	n := int(c & 1)
	switch {
	case c <= 0x01: // MWh × 10^(n-1)
		return Desc{Type: "Energy", Unit: "Wh", Exp: n + 5}
	case c >= 0x08 && c <= 0x09: // GJ × 10^(n-1)
		return Desc{Type: "Energy", Unit: "J", Exp: n + 8}
	case c >= 0x10 && c <= 0x11: // m3 × 10^(n+2)
		return Desc{Type: "Volume", Unit: "m3", Exp: n + 2}
	case c >= 0x18 && c <= 0x19: // t × 10^(n+2)
		return Desc{Type: "Mass", Unit: "kg", Exp: n + 5}
	case c >= 0x28 && c <= 0x29: // MW × 10^(n-1)
		return Desc{Type: "Power", Unit: "W", Exp: n + 5, Signed: true}
	case c >= 0x30 && c <= 0x31: // GJ/h × 10^(n-1)
		return Desc{Type: "Power", Unit: "J/h", Exp: n + 8, Signed: true}
	}
	return Desc{Type: fmt.Sprintf("VIF FB 0x%02X", c), Unit: "NA"}
}

// describeKamstrup reads VIF 0xFF as Kamstrup's manufacturer-specific table.
func describeKamstrup(c byte) Desc {
	switch c {
	case 0x25:
		return Desc{Type: "Infocode", Unit: "NA", Kind: Infocode}
	case 0x22:
		return Desc{Type: "Infocode MC Type 4", Unit: "NA", Kind: InfocodeMCType4}
	case 0x1C:
		return Desc{Type: "ALD last day", Unit: "NA", InvalidAt: 4095}
	case 0x1B:
		return Desc{Type: "ALD", Unit: "NA"}
	case 0x16:
		return Desc{Type: "Module type/config number", Unit: "NA"}
	}
	return Desc{Type: fmt.Sprintf("Manufacturer specific 0x%02X", c), Unit: "NA"}
}

// InfocodeBits names bits 0-7 of a Kamstrup water-meter infocode.
var InfocodeBits = [8]string{
	"Dry", "Reverse", "Leak", "Burst", "Tamper", "Low Battery",
	"Low Ambient Temperature", "High Ambient Temperature",
}

// Raw returns the integer value of a binary or BCD record. valid is false
// when the value is the type's invalid marker (EN 13757-3 Annex A) or a BCD
// digit is not decimal.
func (r Record) Raw(signed bool) (v int64, valid bool, err error) {
	switch r.Coding {
	case Binary:
		return binaryValue(r.Data, signed)
	case BCD:
		v, ok := decodeBCD(r.Data)
		return v, ok, nil
	case Variable:
		switch l := r.LVAR; {
		case l >= 0xC0 && l <= 0xC9:
			v, ok := decodeBCD(r.Data)
			return v, ok, nil
		case l >= 0xD0 && l <= 0xD9:
			v, ok := decodeBCD(r.Data)
			return -v, ok, nil
		case l >= 0xE0 && l <= 0xE8:
			return binaryValue(r.Data, signed)
		}
	}
	return 0, false, fmt.Errorf("%w: record DIF 0x%02X is not a number", codec.ErrFormat, r.DIF)
}

// Float returns the value of a 32-bit real record.
func (r Record) Float() (float64, bool) {
	if r.Coding != Real || len(r.Data) != 4 {
		return 0, false
	}
	f := math.Float32frombits(binary.LittleEndian.Uint32(r.Data))
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return 0, false
	}
	return float64(f), true
}

func binaryValue(d []byte, signed bool) (int64, bool, error) {
	if len(d) == 0 || len(d) > 8 {
		return 0, false, fmt.Errorf("%w: %d-byte integer", codec.ErrFormat, len(d))
	}
	var u uint64
	for i := len(d) - 1; i >= 0; i-- {
		u = u<<8 | uint64(d[i])
	}
	bits := uint(8 * len(d))
	if !signed {
		if bits == 64 {
			if u == math.MaxUint64 || u > math.MaxInt64 {
				return 0, false, nil
			}
			return int64(u), true, nil
		}
		return int64(u), u != 1<<bits-1, nil
	}
	// Sign-extend, then reject the most negative value.
	v := int64(u<<(64-bits)) >> (64 - bits)
	minV := int64(-1) << (bits - 1)
	return v, v != minV, nil
}

// decodeBCD reads packed BCD, least significant byte first. A 0xF in the
// top nibble is a minus sign (Annex A, type A).
func decodeBCD(d []byte) (int64, bool) {
	var v int64
	neg := false
	for i := len(d) - 1; i >= 0; i-- {
		hi, lo := d[i]>>4, d[i]&0x0F
		if i == len(d)-1 && hi == 0x0F {
			neg, hi = true, 0
		}
		if hi > 9 || lo > 9 {
			return 0, false
		}
		v = v*100 + int64(hi)*10 + int64(lo)
	}
	if neg {
		v = -v
	}
	return v, true
}

// Time decodes a date (type G, 2 bytes), date/time (type F, 4 bytes) or
// date/time with seconds (type I, 6 bytes) in loc. ok is false for the
// invalid flag, all-ones data, or fields out of range.
func (r Record) Time(loc *time.Location) (time.Time, bool) {
	d := r.Data
	if r.Coding != Binary {
		return time.Time{}, false
	}
	var year, month, day, hour, minute, sec int
	switch len(d) {
	case 2:
		if d[0] == 0xFF && d[1] == 0xFF {
			return time.Time{}, false
		}
		day, month = int(d[0]&0x1F), int(d[1]&0x0F)
		year = 2000 + (int(d[0]>>5) | int(d[1]>>4)<<3)
	case 4:
		if d[0]&0x80 != 0 { // IV: time invalid
			return time.Time{}, false
		}
		minute, hour = int(d[0]&0x3F), int(d[1]&0x1F)
		day, month = int(d[2]&0x1F), int(d[3]&0x0F)
		y := int(d[2]>>5) | int(d[3]>>4)<<3
		hundred := int(d[1]>>5) & 3
		// Meters that leave the hundred-year bits at 0 mean 20xx for small
		// years (EN 13757-3 compatibility rule).
		if hundred == 0 && y <= 80 {
			hundred = 1
		}
		year = 1900 + 100*hundred + y
	case 6:
		if d[1]&0x80 != 0 {
			return time.Time{}, false
		}
		sec, minute, hour = int(d[0]&0x3F), int(d[1]&0x3F), int(d[2]&0x1F)
		day, month = int(d[3]&0x1F), int(d[4]&0x0F)
		year = 2000 + (int(d[3]>>5) | int(d[4]>>4)<<3)
	default:
		return time.Time{}, false
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc)
	if t.Day() != day { // e.g. 31 February
		return time.Time{}, false
	}
	return t, true
}

// Scale returns raw × 10^exp, dividing for negative exponents so that
// results match the decimal value a JavaScript decoder prints (3/1000 is
// 0.003, 3 × 0.001 is 0.0030000000000000001).
func Scale(raw float64, exp int) float64 {
	if exp < 0 {
		return raw / math.Pow10(-exp)
	}
	return raw * math.Pow10(exp)
}
