package layout_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/layout"
)

// roadStation is the loraedge road station layout of firmware 1.0 (the
// shipped generic/road-station profile without its optional freezing
// temperature), written as YAML-decoded options would be.
func roadStation() map[string]any {
	f := func(name string, off int, typ string, scale float64) map[string]any {
		return map[string]any{"name": name, "offset": off, "type": typ, "scale": scale}
	}
	return map[string]any{
		"fport": 10, "length": 12,
		"fields": []any{
			f("road_surface_temperature", 0, "i16", 0.01),
			f("air_temperature", 2, "i16", 0.01),
			f("relative_humidity", 4, "u16", 0.01),
			f("road_surface_state", 6, "u8", 1),
			f("water_film_height", 8, "u16", 0.001),
			f("battery_voltage", 10, "u16", 0.001),
		},
	}
}

func decoder(t testing.TB, opts map[string]any) codec.Decoder {
	t.Helper()
	d, err := layout.New(opts)
	require.NoError(t, err)
	return d
}

func input(port uint8, h string) codec.Input {
	b, _ := hex.DecodeString(h)
	return codec.Input{FPort: port, Bytes: b}
}

func TestRoadStation(t *testing.T) {
	res, err := decoder(t, roadStation()).Decode(input(10, "fc18007d222e420000960e10"))
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{
		"road_surface_temperature": -10.0, "air_temperature": 1.25, "relative_humidity": 87.5,
		"road_surface_state": 66.0, "water_film_height": 0.15, "battery_voltage": 3.6,
	}, res.Fields)
	assert.Len(t, res.Values, 6)
}

func TestTypesAndEndianness(t *testing.T) {
	opts := map[string]any{"fields": []any{
		map[string]any{"name": "a", "offset": 0, "type": "i8"},
		map[string]any{"name": "b", "offset": 1, "type": "u16", "endian": "little"},
		map[string]any{"name": "c", "offset": 3, "type": "i32"},
		map[string]any{"name": "d", "offset": 7, "type": "u32", "endian": "little"},
		map[string]any{"name": "e", "offset": 11, "type": "f32", "scale": 2, "add": -1},
		map[string]any{"name": "f", "offset": 15, "type": "i16", "endian": "little", "add": 0.5},
	}}
	res, err := decoder(t, opts).Decode(input(99, "ff"+"3412"+"fffffffe"+"01000000"+"3fc00000"+"feff"))
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"a": -1.0, "b": 4660.0, "c": -2.0, "d": 1.0, "e": 2.0, "f": -1.5}, res.Fields)
	// NaN floats are skipped with a warning.
	res, err = decoder(t, opts).Decode(input(1, "ff"+"3412"+"fffffffe"+"01000000"+"7fc00000"+"feff"))
	require.NoError(t, err)
	assert.NotContains(t, res.Fields, "e")
	assert.Len(t, res.Warnings, 1)
}

func TestErrors(t *testing.T) {
	d := decoder(t, roadStation())
	_, err := d.Decode(input(11, "fc18007d222e420000960e10"))
	assert.ErrorIs(t, err, codec.ErrFPort)
	_, err = d.Decode(input(10, "fc18007d222e420000960e"))
	assert.ErrorIs(t, err, codec.ErrTruncated)
	_, err = d.Decode(input(10, "fc18007d222e420000960e1000"))
	assert.ErrorIs(t, err, codec.ErrFormat)
}

// The shipped profile's optional freezing temperature: 12-byte payloads of
// firmware 1.0 still decode, 14-byte ones carry Tg, 0x8000 means no sensor.
func TestOptionalField(t *testing.T) {
	opts := roadStation()
	opts["fields"] = append(opts["fields"].([]any), map[string]any{"name": "freezing_temperature", "offset": 12, "type": "i16",
		"scale": 0.01, "optional": true, "missing": -32768})
	d := decoder(t, opts)
	const v1 = "fc18007d222e420000960e10"
	tests := []struct {
		name    string
		hex     string
		n       int
		tg      any
		wantErr error
	}{
		{"firmware 1.0, 12 bytes", v1, 6, nil, nil},
		{"Tg -2.5", v1 + "ff06", 7, -2.5, nil},
		{"no sensor", v1 + "8000", 6, nil, nil},
		{"ends inside Tg", v1 + "ff", 0, nil, codec.ErrTruncated},
		{"longer than the layout", v1 + "ff0600", 0, nil, codec.ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := d.Decode(input(10, tc.hex))
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, res.Values, tc.n)
			assert.Equal(t, -10.0, res.Fields["road_surface_temperature"])
			if tc.tg == nil {
				assert.NotContains(t, res.Fields, "freezing_temperature")
			} else {
				assert.InDelta(t, tc.tg, res.Fields["freezing_temperature"], 1e-9)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	for name, opts := range map[string]map[string]any{
		"no fields":    {"fport": 1},
		"unknown type": {"fields": []any{map[string]any{"name": "a", "offset": 0, "type": "u64"}}},
		"dup name": {"fields": []any{map[string]any{"name": "a", "offset": 0, "type": "u8"},
			map[string]any{"name": "a", "offset": 1, "type": "u8"}}},
		"bad endian":    {"fields": []any{map[string]any{"name": "a", "offset": 0, "type": "u16", "endian": "middle"}}},
		"unknown key":   {"fields": []any{map[string]any{"name": "a", "offset": 0, "type": "u8", "colour": 1}}},
		"short length":  {"length": 1, "fields": []any{map[string]any{"name": "a", "offset": 0, "type": "u16"}}},
		"bad fport":     {"fport": 300, "fields": []any{map[string]any{"name": "a", "offset": 0, "type": "u8"}}},
		"negative offs": {"fields": []any{map[string]any{"name": "a", "offset": -1, "type": "u8"}}},
	} {
		_, err := layout.New(opts)
		assert.Error(t, err, name)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(uint8(10), []byte{0xfc, 0x18, 0, 0x7d, 0x22, 0x2e, 0x42, 0, 0, 0x96, 0x0e, 0x10})
	d, err := layout.New(roadStation())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err == nil && len(res.Values) != 6 {
			t.Fatalf("accepted %x with %d values", b, len(res.Values))
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	d := decoder(b, roadStation())
	in := input(10, "fc18007d222e420000960e10")
	codectest.Bench(b, d, in)
}
