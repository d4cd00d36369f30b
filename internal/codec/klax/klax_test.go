package klax

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
)

const published = "004add11030901454d4800006efd0f01390100bdd99000bdd99000bdd99000bdd5a8000000000000000000000000000000000175000000000000000000000000000000000000000000000000000000000000000000"

func newDecoder(t testing.TB, opts map[string]any) codec.Decoder {
	t.Helper()
	d, err := New(opts)
	require.NoError(t, err)
	return d
}

func TestPublishedExamples(t *testing.T) {
	d := newDecoder(t, map[string]any{"obis": map[string]any{"0": "1.8.0"}})
	for _, e := range codectest.Examples(t, "Alpha-Omega Technology", "KLAX") {
		t.Run(e.Description, func(t *testing.T) {
			res, err := d.Decode(e.Input(PortApp))
			require.NoError(t, err)
			codectest.AssertFields(t, e.Expected, res.Fields)
			assert.Empty(t, res.Warnings)
			v, ok := codectest.ValueOf(res, "1.8.0", 0)
			require.True(t, ok)
			assert.Equal(t, 12442000.0, v.Value)
			assert.Equal(t, "Wh", v.Unit)
			v, ok = codectest.ValueOf(res, "batteryPerc", 0)
			require.True(t, ok)
			assert.Equal(t, 100.0, v.Value)
			// Registers flagged invalid with all-zero readings give no values.
			assert.Len(t, res.Values, 2)
		})
	}
}

// frameV1 builds a format-version-1 app message with a filter block (id 1,
// float32 readings) and a "now" block (id 2).
func frameV1() []byte {
	b := []byte{0x04, 0x45, 0x07, 0x11}
	b = append(b, 1, 0x13, 0x0D) // filter 1 active, unit Wh; readings 0, 2, 3 valid
	for _, f := range []float32{12442.5, 12441.25, 1, 2} {
		b = binary.BigEndian.AppendUint32(b, math.Float32bits(f))
	}
	b = append(b, 2, 0x11, 0x02, 0x00) // register 0 set and valid, unit W
	for _, f := range []float32{1500.5, 0, 0, 0} {
		b = binary.BigEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func TestFormatVersion1(t *testing.T) {
	d := newDecoder(t, map[string]any{"obis": map[string]any{"1": "1.8.0", "0": "16.7.0"}})
	res, err := d.Decode(codec.Input{FPort: PortApp, Bytes: frameV1()})
	require.NoError(t, err)
	want := map[string]any{
		"type":    "app",
		"header":  map[string]any{"version": 1, "batteryPerc": 100, "meterType": "SML", "configured": true, "connTest": false},
		"msgInfo": map[string]any{"msgIdx": 7, "msgCnt": 1, "msgNum": 1},
		"payloads": []any{
			map[string]any{"type": "filter", "register": map[string]any{
				"filterActive": true, "filterId": 1, "unit": "Wh",
				"values": []any{
					map[string]any{"value": 12442.5, "valid": true},
					map[string]any{"value": 12441.25, "valid": false},
					map[string]any{"value": 1, "valid": true},
					map[string]any{"value": 2, "valid": true},
				},
			}},
			map[string]any{"type": "now"},
		},
	}
	codectest.AssertFields(t, want, res.Fields)
	v, ok := codectest.ValueOf(res, "1.8.0", 0)
	require.True(t, ok)
	assert.Equal(t, 12442.5, v.Value)
	v, ok = codectest.ValueOf(res, "16.7.0", 0)
	require.True(t, ok)
	assert.Equal(t, 1500.5, v.Value)
	assert.Equal(t, "W", v.Unit)
}

func TestOtherPorts(t *testing.T) {
	d := newDecoder(t, nil)
	res, err := d.Decode(codec.Input{FPort: PortConfig, Bytes: codectest.Hex(t, "004a000f")})
	require.NoError(t, err)
	assert.Equal(t, 15, res.Fields["measuringInterval"])
	res, err = d.Decode(codec.Input{FPort: PortInfo, Bytes: codectest.Hex(t, "004a0203")})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Fields["appMajorVersion"])
	assert.Equal(t, 3, res.Fields["appMinorVersion"])
	res, err = d.Decode(codec.Input{FPort: 104, Bytes: codectest.Hex(t, "004a0203")})
	require.NoError(t, err)
	assert.Len(t, res.Warnings, 1)
}

func TestUnknownBlockStopsParsing(t *testing.T) {
	b := codectest.Hex(t, published)
	b = append(b[:4+11:4+11], 0x0E, 1, 2, 3) // server id, then unknown id 14
	res, err := newDecoder(t, nil).Decode(codec.Input{FPort: PortApp, Bytes: b})
	require.NoError(t, err)
	assert.Len(t, res.Fields["payloads"], 1)
	assert.Len(t, res.Warnings, 1)
}

func TestRejects(t *testing.T) {
	d := newDecoder(t, nil)
	full := codectest.Hex(t, published)
	for _, tc := range []struct {
		name  string
		port  uint8
		b     []byte
		isErr error
	}{
		{"wrong fPort", 1, full, codec.ErrFPort},
		{"header only byte", PortApp, full[:1], codec.ErrTruncated},
		{"no msg info", PortApp, full[:3], codec.ErrTruncated},
		{"cut inside historic block", PortApp, full[:30], codec.ErrTruncated},
		{"cut inside server id", PortApp, full[:8], codec.ErrTruncated},
		{"config too short", PortConfig, full[:3], codec.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Decode(codec.Input{FPort: tc.port, Bytes: tc.b})
			require.ErrorIs(t, err, tc.isErr)
		})
	}
	for _, bad := range []map[string]any{{"obis": map[string]any{"4": "1.8.0"}}, {"obis": map[string]any{"0": ""}}, {"x": 1}} {
		_, err := New(bad)
		assert.Error(t, err, "%v", bad)
	}
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Alpha-Omega Technology", "KLAX")
	f.Add(uint8(PortApp), frameV1())
	d, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err == nil && res.Fields["header"] == nil {
			t.Fatal("no header without error")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	d := newDecoder(b, nil)
	in := codec.Input{FPort: PortApp, Bytes: codectest.Hex(b, published)}
	codectest.Bench(b, d, in)
}

// Every value a decode returns is announced by FieldNames, so profiles can
// be checked at load time.
func TestFieldNamesCoverValues(t *testing.T) {
	d, err := New(nil)
	require.NoError(t, err)
	codectest.AssertFieldNamesCover(t, d, fieldNameInputs(t))
}

func fieldNameInputs(t *testing.T) []codec.Input {
	return []codec.Input{{FPort: PortApp, Bytes: codectest.Hex(t, published)}, {FPort: PortApp, Bytes: frameV1()}, {FPort: PortConfig, Bytes: codectest.Hex(t, "004a000f")}}
}
