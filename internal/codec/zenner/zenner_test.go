package zenner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
)

const published = "270000000c0000000d0000000f"

func newDecoder(t testing.TB, opts map[string]any) codec.Decoder {
	t.Helper()
	d, err := New(opts)
	require.NoError(t, err)
	return d
}

func TestPublishedExamples(t *testing.T) {
	d := newDecoder(t, nil)
	for _, e := range codectest.Examples(t, "Minol ZENNER", "EDC") {
		t.Run(e.Description, func(t *testing.T) {
			res, err := d.Decode(e.Input(1))
			require.NoError(t, err)
			codectest.AssertFields(t, e.Expected, res.Fields)
			for ch, want := range []float64{12, 13, 15} {
				v, ok := codectest.ValueOf(res, "meter_values", ch)
				require.True(t, ok)
				assert.Equal(t, want, v.Value)
			}
		})
	}
}

func TestFlagBitsOption(t *testing.T) {
	d := newDecoder(t, map[string]any{"flag_bits": map[string]any{"hw_error": 5, "coil_manipulation": 4}})
	res, err := d.Decode(codec.Input{FPort: 1, Bytes: codectest.Hex(t, published)})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Fields["hw_error"])
	assert.Equal(t, 0, res.Fields["coil_manipulation"])

	for _, bad := range []map[string]any{
		{"flag_bits": map[string]any{"nonsense": 1}},
		{"flag_bits": map[string]any{"hw_error": 9}},
		{"scale": 2},
	} {
		_, err := New(bad)
		assert.Error(t, err, "%v", bad)
	}
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
		{"fPort 0", 0, full, codec.ErrFPort},
		{"status only", 1, full[:1], codec.ErrTruncated},
		{"partial reading", 1, full[:len(full)-1], codec.ErrTruncated},
		{"too many readings", 1, make([]byte, 1+4*61), codec.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Decode(codec.Input{FPort: tc.port, Bytes: tc.b})
			require.ErrorIs(t, err, tc.isErr)
		})
	}
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Minol ZENNER", "EDC")
	d, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err == nil && len(res.Values) != 5+(len(b)-1)/4 {
			t.Fatalf("%d values for %d bytes", len(res.Values), len(b))
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	d := newDecoder(b, nil)
	in := codec.Input{FPort: 1, Bytes: codectest.Hex(b, published)}
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
	return []codec.Input{{FPort: 1, Bytes: codectest.Hex(t, published)}}
}
