package milesight

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// VS121 decodes the Milesight VS121 AI workplace occupancy sensor (a people
// counter by camera): people in view, per region, passing a line, and the
// flows between areas A-D. Safe for concurrent use.
type VS121 struct{}

var _ codec.Decoder = (*VS121)(nil)

// NewVS121 builds a decoder; the codec has no options.
func NewVS121(options map[string]any) (codec.Decoder, error) {
	var o struct{}
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	return &VS121{}, nil
}

// vs121Len are the value lengths of the data records, by channel and type.
var vs121Len = map[[2]byte]int{
	{0x04, 0xC9}: 4, {0x05, 0xCC}: 4, {0x06, 0xCD}: 1, {0x07, 0xD5}: 8, {0x08, 0xD5}: 8,
	{0x09, 0xDA}: 8, {0x0A, 0xDA}: 8, {0x0B, 0xDA}: 8, {0x0C, 0xDA}: 8,
	{0x0D, 0xCC}: 4, {0x0E, 0xE4}: 5, {0x0F, 0x85}: 4, {0x10, 0xF7}: 4,
}

// vs121AttrLen are the lengths of the device-information records and of the
// replies to configuration downlinks (channel 0xFF or 0xFE).
var vs121AttrLen = map[byte]int{
	0x01: 1, 0x08: 6, 0x09: 2, 0x1F: 4,
	0x03: 2, 0x04: 1, 0x10: 1, 0x35: 8, 0x40: 1, 0x43: 1, 0x44: 1, 0x45: 1, 0x46: 3, 0x48: 1,
	0x50: 1, 0x51: 1, 0x84: 1,
}

func vs121RecordLen(ch, ty byte) (int, bool) {
	if ch == 0xFF || ch == 0xFE {
		n, ok := vs121AttrLen[ty]
		return n, ok
	}
	n, ok := vs121Len[[2]byte{ch, ty}]
	return n, ok
}

// Decode implements codec.Decoder. The sensor sends on fPort 85; the format
// does not depend on it.
func (d *VS121) Decode(in codec.Input) (codec.Result, error) {
	// History (0x20 0xCE) and the extended replies (0xF8, 0xF9) have
	// lengths that depend on their content: decoding ends there.
	o, err := walk(in.Bytes, vs121RecordLen, d.record)
	return o.res, err
}

// record decodes one complete record of known length.
func (d *VS121) record(o *out, ch, ty byte, v []byte) bool {
	le16 := func(i int) float64 { return float64(binary.LittleEndian.Uint16(v[i:])) }
	switch ch {
	case 0xFF, 0xFE:
		vs121Attr(o, ch, ty, v)
	case 0x04:
		o.num("people_count_all", "1", float64(v[0]))
		o.res.Fields["region_count"] = float64(v[1])
		mask := binary.BigEndian.Uint16(v[2:])
		for r := 0; r < int(min(v[1], 16)); r++ {
			o.res.Fields["region_"+strconv.Itoa(r+1)] = float64(mask >> r & 1)
		}
	case 0x05:
		o.num("people_in", "1", float64(int16(binary.LittleEndian.Uint16(v))))
		o.num("people_out", "1", float64(int16(binary.LittleEndian.Uint16(v[2:]))))
	case 0x06:
		o.num("people_count_max", "1", float64(v[0]))
	case 0x07, 0x08:
		first := 1 + 8*int(ch-0x07)
		for k, n := range v {
			r := first + k
			o.res.Fields["region_"+strconv.Itoa(r)+"_count"] = float64(n)
			o.res.Values = append(o.res.Values, codec.Value{Field: "region_count", Value: float64(n), Unit: "1", Channel: r})
		}
	case 0x09, 0x0A, 0x0B, 0x0C:
		from := string(rune('a' + ch - 0x09))
		for k := range 4 {
			o.res.Fields[from+"_to_"+string(rune('a'+k))] = le16(2 * k)
		}
	case 0x0D:
		o.num("people_total_in", "1", le16(0))
		o.num("people_total_out", "1", le16(2))
	case 0x0E:
		o.res.Fields["dwell_time_avg"] = le16(1)
		o.res.Fields["dwell_time_max"] = le16(3)
	case 0x0F:
		o.res.Fields["timestamp"] = float64(binary.LittleEndian.Uint32(v))
	case 0x10:
		o.num("line_in", "1", le16(0))
		o.num("line_out", "1", le16(2))
	}
	return true
}

// vs121Attr decodes device information into Fields; replies to
// configuration downlinks are skipped by length.
func vs121Attr(o *out, ch, ty byte, v []byte) {
	dotted := func() string {
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = strconv.Itoa(int(x))
		}
		return strings.Join(parts, ".")
	}
	switch {
	case ch == 0xFF && ty == 0x01:
		o.res.Fields["protocol_version"] = float64(v[0])
	case ch == 0xFF && ty == 0x08:
		o.res.Fields["sn"] = hex.EncodeToString(v)
	case ch == 0xFF && ty == 0x09:
		o.res.Fields["hardware_version"] = dotted()
	case ch == 0xFF && ty == 0x1F:
		o.res.Fields["firmware_version"] = dotted()
	default:
		o.warn("reply to configuration downlink %02x %02x not decoded", ch, ty)
	}
}

// FieldNames lists every Value.Field the decoder can return.
func (d *VS121) FieldNames() []string {
	return []string{"people_count_all", "people_in", "people_out", "people_count_max", "region_count",
		"people_total_in", "people_total_out", "line_in", "line_out"}
}
