package profile

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// A downlink template is hex text with placeholders in braces:
//
//	"ff03{interval:u16le}"           Milesight: set report interval
//	"0001{period:u16be}{crc16modbus}" Decentlab: set period, CRC appended
//
// {name:enc} writes parameter name with encoding enc (u8, i8, u16be, u16le,
// i16be, i16le, u24be, u32be, u32le, i32be, i32le). {crc16modbus} appends the
// CRC-16/MODBUS of all bytes before it, high byte first, as Decentlab
// devices expect. Spaces between hex pairs are ignored.

type partKind int

const (
	partLiteral partKind = iota
	partParam
	partCRC16Modbus
)

type part struct {
	kind  partKind
	lit   []byte
	param int // index into Command.Params
	enc   encoding
}

type encoding struct {
	size   int
	signed bool
	little bool
}

var encodings = map[string]encoding{
	"u8": {1, false, false}, "i8": {1, true, false},
	"u16be": {2, false, false}, "u16le": {2, false, true},
	"i16be": {2, true, false}, "i16le": {2, true, true},
	"u24be": {3, false, false},
	"u32be": {4, false, false}, "u32le": {4, false, true},
	"i32be": {4, true, false}, "i32le": {4, true, true},
}

func (e encoding) bounds() (lo, hi float64) {
	bits := uint(e.size * 8)
	if e.signed {
		return -math.Ldexp(1, int(bits-1)), math.Ldexp(1, int(bits-1)) - 1
	}
	return 0, math.Ldexp(1, int(bits)) - 1
}

var commandName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func parseCommand(pr *problems, i int, fc fileCommand) (Command, bool) {
	nerr := len(pr.errs)
	c := Command{Name: fc.Name, Description: fc.Description, Confirmed: fc.Confirmed, Hex: fc.Hex, Template: fc.Template}
	if !commandName.MatchString(fc.Name) {
		pr.add(pr.line("downlinks", i, "name"), "downlink %d: bad or missing name %q (want snake_case)", i, fc.Name)
	}
	if fc.FPort < 1 || fc.FPort > 223 {
		pr.add(pr.line("downlinks", i, "fport"), "downlink %s: fport %d outside 1..223", fc.Name, fc.FPort)
	}
	c.FPort = uint8(fc.FPort)
	names := map[string]int{}
	for j, fp := range fc.Params {
		p := Param{Name: fp.Name, Description: fp.Description, Unit: fp.Unit, Min: fp.Min, Max: fp.Max, Scale: 1}
		if fp.Scale != nil {
			if *fp.Scale == 0 {
				pr.add(pr.line("downlinks", i, "params", j, "scale"), "downlink %s: param scale must not be 0", fc.Name)
			}
			p.Scale = *fp.Scale
		}
		if fp.Min != nil && fp.Max != nil && *fp.Min > *fp.Max {
			pr.add(pr.line("downlinks", i, "params", j), "downlink %s: param %s min above max", fc.Name, fp.Name)
		}
		if _, dup := names[fp.Name]; dup || !commandName.MatchString(fp.Name) {
			pr.add(pr.line("downlinks", i, "params", j, "name"), "downlink %s: bad or duplicate param name %q", fc.Name, fp.Name)
		}
		names[fp.Name] = j
		c.Params = append(c.Params, p)
	}
	switch {
	case fc.Hex != "" && fc.Template != "":
		pr.add(pr.line("downlinks", i), "downlink %s: give hex or template, not both", fc.Name)
	case fc.Hex != "":
		b, err := hex.DecodeString(strings.ReplaceAll(fc.Hex, " ", ""))
		if err != nil {
			pr.add(pr.line("downlinks", i, "hex"), "downlink %s: bad hex %q", fc.Name, fc.Hex)
		}
		if len(fc.Params) > 0 {
			pr.add(pr.line("downlinks", i, "params"), "downlink %s: params need a template, not hex", fc.Name)
		}
		c.parts = []part{{kind: partLiteral, lit: b}}
	case fc.Template != "":
		parts, used, err := parseTemplate(fc.Template, names)
		if err != nil {
			pr.add(pr.line("downlinks", i, "template"), "downlink %s: template: %v", fc.Name, err)
		}
		for name := range names {
			if !used[name] {
				pr.add(pr.line("downlinks", i, "params"), "downlink %s: param %s not used in template", fc.Name, name)
			}
		}
		c.parts = parts
	default:
		pr.add(pr.line("downlinks", i), "downlink %s: missing hex or template", fc.Name)
	}
	return c, len(pr.errs) == nerr
}

func parseTemplate(t string, params map[string]int) ([]part, map[string]bool, error) {
	var parts []part
	used := map[string]bool{}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			parts = append(parts, part{kind: partLiteral, lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(t); {
		switch t[i] {
		case ' ':
			i++
		case '{':
			end := strings.IndexByte(t[i:], '}')
			if end < 0 {
				return nil, used, fmt.Errorf("unclosed { at %d", i)
			}
			ph := t[i+1 : i+end]
			i += end + 1
			flush()
			if ph == "crc16modbus" {
				parts = append(parts, part{kind: partCRC16Modbus})
				continue
			}
			name, encName, ok := strings.Cut(ph, ":")
			if !ok {
				return nil, used, fmt.Errorf("placeholder {%s}: want {param:encoding} or {crc16modbus}", ph)
			}
			idx, ok := params[name]
			if !ok {
				return nil, used, fmt.Errorf("placeholder {%s}: no param %q declared", ph, name)
			}
			enc, ok := encodings[encName]
			if !ok {
				return nil, used, fmt.Errorf("placeholder {%s}: unknown encoding %q", ph, encName)
			}
			used[name] = true
			parts = append(parts, part{kind: partParam, param: idx, enc: enc})
		default:
			if i+1 >= len(t) {
				return nil, used, fmt.Errorf("odd number of hex digits")
			}
			b, err := hex.DecodeString(t[i : i+2])
			if err != nil {
				return nil, used, fmt.Errorf("bad hex %q at %d", t[i:i+2], i)
			}
			lit = append(lit, b[0])
			i += 2
		}
	}
	flush()
	return parts, used, nil
}

// Build renders the command's payload from args (parameter name -> value).
func (c Command) Build(args map[string]float64) ([]byte, error) {
	for name := range args {
		found := false
		for _, p := range c.Params {
			found = found || p.Name == name
		}
		if !found {
			return nil, fmt.Errorf("%w: command %s has no parameter %q", ErrBadArgument, c.Name, name)
		}
	}
	var out []byte
	for _, pt := range c.parts {
		switch pt.kind {
		case partLiteral:
			out = append(out, pt.lit...)
		case partCRC16Modbus:
			crc := CRC16Modbus(out)
			out = append(out, byte(crc>>8), byte(crc))
		case partParam:
			p := c.Params[pt.param]
			v, ok := args[p.Name]
			if !ok {
				return nil, fmt.Errorf("%w: command %s needs parameter %q", ErrBadArgument, c.Name, p.Name)
			}
			if math.IsNaN(v) || (p.Min != nil && v < *p.Min) || (p.Max != nil && v > *p.Max) {
				return nil, fmt.Errorf("%w: %s=%v outside [%s, %s]", ErrBadArgument, p.Name, v, bound(p.Min), bound(p.Max))
			}
			raw := math.Round(v * p.Scale)
			lo, hi := pt.enc.bounds()
			if raw < lo || raw > hi {
				return nil, fmt.Errorf("%w: %s=%v does not fit the payload field", ErrBadArgument, p.Name, v)
			}
			out = appendInt(out, int64(raw), pt.enc)
		}
	}
	return out, nil
}

func bound(b *float64) string {
	if b == nil {
		return "-"
	}
	return fmt.Sprint(*b)
}

func appendInt(out []byte, v int64, e encoding) []byte {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(v))
	b := buf[8-e.size:]
	if e.little {
		for i := len(b) - 1; i >= 0; i-- {
			out = append(out, b[i])
		}
		return out
	}
	return append(out, b...)
}

// CRC16Modbus is CRC-16/MODBUS (reflected polynomial 0x8005, init 0xFFFF).
func CRC16Modbus(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, x := range b {
		crc ^= uint16(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}
