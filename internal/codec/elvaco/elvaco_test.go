package elvaco

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
)

const published = "150405fc437f0e041340919822022e9015023c482b0259d825025de8140c782794817904fd1700000100"

func newDecoder(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := New(nil)
	require.NoError(t, err)
	return d
}

func TestPublishedExamples(t *testing.T) {
	d := newDecoder(t)
	for _, e := range codectest.Examples(t, "Elvaco", "CMi4140") {
		t.Run(e.Description, func(t *testing.T) {
			res, err := d.Decode(e.Input(FPort))
			require.NoError(t, err)
			codectest.AssertFields(t, e.Expected, res.Fields)
			assert.Empty(t, res.Warnings)
			// The quirky error_flag stays as published; the bit field is separate.
			v, ok := codectest.ValueOf(res, "error_flags_raw", 0)
			require.True(t, ok)
			assert.Equal(t, float64(0x00010000), v.Value)
			v, ok = codectest.ValueOf(res, "energy", 0)
			require.True(t, ok)
			assert.Equal(t, "kWh", v.Unit)
		})
	}
}

func TestRecordVariants(t *testing.T) {
	d := newDecoder(t)
	// Energy in kWh (VIF 0x06), volume in 10 L (VIF 0x14), power in 0.01 W
	// (VIF 0x29), flow in 0.1 L/h (VIF 0x3A), error flags with hex digits.
	b := codectest.Hex(t, "15"+"0406e8030000"+"0414d2040000"+"02291027"+"023a6400"+"04fd17000000a0")
	res, err := d.Decode(codec.Input{FPort: FPort, Bytes: b})
	require.NoError(t, err)
	want := map[string]any{"energy": 1000.0, "volume": 12.34, "power": 0.1, "flow": 0.01, "error_flag": nil, "error_flags_raw": float64(0xa0000000)}
	codectest.AssertFields(t, want, res.Fields)
}

func TestUnknownRecordIsSkipped(t *testing.T) {
	d := newDecoder(t)
	// A pressure record (VIF 0x6A) between energy and volume.
	b := codectest.Hex(t, "15"+"0406e8030000"+"026a1400"+"0414d2040000")
	res, err := d.Decode(codec.Input{FPort: FPort, Bytes: b})
	require.NoError(t, err)
	assert.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0], "Pressure")
	codectest.AssertFields(t, map[string]any{"energy": 1000.0, "volume": 12.34}, res.Fields)
}

func TestRejects(t *testing.T) {
	d := newDecoder(t)
	full := codectest.Hex(t, published)
	for _, tc := range []struct {
		name  string
		port  uint8
		b     []byte
		isErr error
	}{
		{"wrong fPort", 1, full, codec.ErrFPort},
		{"empty", FPort, nil, codec.ErrTruncated},
		{"unknown message format", FPort, append([]byte{0x00}, full[1:]...), codec.ErrFormat},
		{"cut inside energy", FPort, full[:5], codec.ErrTruncated},
		{"cut inside error flags", FPort, full[:len(full)-1], codec.ErrTruncated},
		{"special function", FPort, codectest.Hex(t, "157f"), codec.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Decode(codec.Input{FPort: tc.port, Bytes: tc.b})
			require.ErrorIs(t, err, tc.isErr)
		})
	}
	_, err := New(map[string]any{"bogus": 1})
	assert.Error(t, err)
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Elvaco", "CMi4140")
	d, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err == nil && res.Fields == nil {
			t.Fatal("nil Fields without error")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	d := newDecoder(b)
	in := codec.Input{FPort: FPort, Bytes: codectest.Hex(b, published)}
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
	return []codec.Input{{FPort: FPort, Bytes: codectest.Hex(t, published)},
		{FPort: FPort, Bytes: codectest.Hex(t, "15"+"0406e8030000"+"0414d2040000"+"02291027"+"023a6400"+"04fd17000000a0")}}
}
