// Package mbus parses the application layer of wired and wireless M-Bus
// (EN 13757-3): data records made of a DIF with DIFEs, a VIF with VIFEs and
// the data, plus the value types of its Annex A (signed and unsigned binary,
// BCD, dates) and the inverse compact profile of its Annex F. The Elvaco
// CMi4140 and the Kamstrup OMS decoders share it so that the record rules
// live in one place.
package mbus

import (
	"errors"
	"fmt"

	"github.com/loraedge/loraedge/internal/codec"
)

// Function is the function field of a DIF (bits 5-4).
type Function uint8

// Function values.
const (
	Instantaneous Function = 0
	Maximum       Function = 1
	Minimum       Function = 2
	ErrorState    Function = 3
)

// Prefix is the text the Kamstrup decoder puts before a record's type.
func (f Function) Prefix() string {
	switch f {
	case Maximum:
		return "Max "
	case Minimum:
		return "Min "
	case ErrorState:
		return "Error state "
	}
	return ""
}

// Coding says how the data bytes of a record are encoded.
type Coding uint8

// Codings of the DIF data field.
const (
	NoData   Coding = iota // data field 0 or 8
	Binary                 // integer, little-endian, 1-8 bytes
	Real                   // 32-bit IEEE float, little-endian
	BCD                    // packed BCD, least significant byte first
	Variable               // LVAR: see Record.LVAR
)

// maxDIFE bounds the DIF and VIF extension chains: the standard allows 10,
// and a bound keeps a run of 0xFF bytes from being read as one huge header.
const maxExt = 10

// Record is one data record.
type Record struct {
	DIF      byte
	Function Function
	// Storage, Tariff and Subunit come from the DIF bit 6 and the DIFEs.
	Storage uint64
	Tariff  uint32
	Subunit uint32
	Coding  Coding
	// VIF is the primary VIF byte including its extension bit; VIFE the
	// extension bytes that follow it, in order.
	VIF  byte
	VIFE []byte
	// PlainUnit is the unit text of a plain-text VIF (0x7C/0xFC).
	PlainUnit string
	// LVAR is the length byte of a variable-length record (data field 0xD).
	LVAR byte
	// Data is the record's data (for LVAR without the length byte).
	Data []byte
}

// Records is the result of Parse.
type Records struct {
	Records []Record
	// Manufacturer holds the bytes after a 0x0F or 0x1F DIF (manufacturer
	// specific data); MoreFollows is true for 0x1F.
	Manufacturer []byte
	MoreFollows  bool
}

// ErrSpecialFunction marks a DIF the parser does not accept (0x7F, global
// readout request, is only sent by a master).
var ErrSpecialFunction = errors.New("unsupported special function DIF")

// dataLen maps the DIF data field to the number of data bytes and coding.
func dataLen(df byte) (int, Coding) {
	switch df {
	case 0x0, 0x8:
		return 0, NoData
	case 0x1, 0x2, 0x3, 0x4:
		return int(df), Binary
	case 0x5:
		return 4, Real
	case 0x6:
		return 6, Binary
	case 0x7:
		return 8, Binary
	case 0x9, 0xA, 0xB, 0xC:
		return int(df - 0x8), BCD
	case 0xE:
		return 6, BCD
	}
	return -1, Variable // 0xD
}

// Parse reads data records until the end of b. Errors wrap
// codec.ErrTruncated or codec.ErrFormat and name the byte offset.
func Parse(b []byte) (Records, error) {
	var out Records
	i := 0
	for i < len(b) {
		start := i
		dif := b[i]
		i++
		switch dif {
		case 0x2F: // idle filler
			continue
		case 0x0F, 0x1F:
			out.Manufacturer = b[i:]
			out.MoreFollows = dif == 0x1F
			return out, nil
		case 0x7F, 0x6F, 0x5F, 0x4F, 0x3F:
			return out, fmt.Errorf("%w: %w 0x%02X at byte %d", codec.ErrFormat, ErrSpecialFunction, dif, start)
		}
		r := Record{DIF: dif, Function: Function((dif >> 4) & 3), Storage: uint64(dif>>6) & 1}
		ext := dif&0x80 != 0
		for n := 0; ext; n++ {
			if n >= maxExt {
				return out, fmt.Errorf("%w: more than %d DIFEs at byte %d", codec.ErrFormat, maxExt, start)
			}
			if i >= len(b) {
				return out, fmt.Errorf("%w: DIFE at byte %d", codec.ErrTruncated, i)
			}
			dife := b[i]
			i++
			r.Storage |= uint64(dife&0x0F) << (1 + 4*n)
			r.Tariff |= uint32((dife>>4)&3) << (2 * n)
			r.Subunit |= uint32((dife>>6)&1) << n
			ext = dife&0x80 != 0
		}
		if i >= len(b) {
			return out, fmt.Errorf("%w: VIF at byte %d", codec.ErrTruncated, i)
		}
		r.VIF = b[i]
		i++
		ext = r.VIF&0x80 != 0
		for n := 0; ext; n++ {
			if n >= maxExt {
				return out, fmt.Errorf("%w: more than %d VIFEs at byte %d", codec.ErrFormat, maxExt, start)
			}
			if i >= len(b) {
				return out, fmt.Errorf("%w: VIFE at byte %d", codec.ErrTruncated, i)
			}
			r.VIFE = append(r.VIFE, b[i])
			ext = b[i]&0x80 != 0
			i++
		}
		if r.VIF&0x7F == 0x7C { // plain-text unit: length byte + ASCII, stored reversed
			if i >= len(b) || i+1+int(b[i]) > len(b) {
				return out, fmt.Errorf("%w: plain-text VIF at byte %d", codec.ErrTruncated, i)
			}
			n := int(b[i])
			txt := make([]byte, n)
			for k := 0; k < n; k++ {
				txt[k] = b[i+n-k]
			}
			r.PlainUnit = string(txt)
			i += 1 + n
		}
		n, coding := dataLen(dif & 0x0F)
		r.Coding = coding
		if coding == Variable {
			if i >= len(b) {
				return out, fmt.Errorf("%w: LVAR at byte %d", codec.ErrTruncated, i)
			}
			r.LVAR = b[i]
			i++
			switch l := r.LVAR; {
			case l <= 0xBF: // text or, for profiles, raw bytes
				n = int(l)
			case l >= 0xC0 && l <= 0xC9, l >= 0xD0 && l <= 0xD9: // BCD, positive/negative
				n = int(l & 0x0F)
			case l >= 0xE0 && l <= 0xEF: // binary
				n = int(l - 0xE0)
			default:
				return out, fmt.Errorf("%w: LVAR 0x%02X at byte %d", codec.ErrFormat, l, i-1)
			}
		}
		if i+n > len(b) {
			return out, fmt.Errorf("%w: record at byte %d needs %d data bytes, %d left", codec.ErrTruncated, start, n, len(b)-i)
		}
		r.Data = b[i : i+n : i+n]
		i += n
		out.Records = append(out.Records, r)
	}
	return out, nil
}
