package elsys_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/elsys"
)

func decoder(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := elsys.New(nil)
	require.NoError(t, err)
	return d
}

func TestExamples(t *testing.T) {
	for _, model := range []string{"ERS CO2", "ERS VOC", "EMS"} {
		for _, e := range codectest.Examples(t, "Elsys", model) {
			t.Run(model, func(t *testing.T) {
				res, err := decoder(t).Decode(e.Input(1))
				require.NoError(t, err)
				codectest.AssertFields(t, e.Expected, res.Fields)
				assert.Empty(t, res.Warnings)
				// Every expected number is also a Value for profiles to map.
				for k, want := range e.Expected.(map[string]any) {
					v, ok := codectest.ValueOf(res, k, 0)
					require.True(t, ok, k)
					assert.InDelta(t, want.(float64), v.Value, 1e-9, k)
				}
			})
		}
	}
}

func TestRecords(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		want map[string]any
		warn bool
	}{
		{"negative temperature", "01ff9c", map[string]any{"temperature": -10.0}, false},
		{"external probe negative", "0cfe0c", map[string]any{"externalTemperature": -50.0}, false},
		{"pressure", "14000f6e30", map[string]any{"pressure": 1011.248}, false},
		{"pulse abs above 2^31 stays unsigned", "0b80000001", map[string]any{"pulseAbs": 2147483649.0}, false},
		{"accelerometer negative", "03ff01c1", map[string]any{"x": -1.0, "y": 1.0, "z": -63.0}, false},
		{"ir temperatures", "1000d2ff38", map[string]any{"irInternalTemperature": 21.0, "irExternalTemperature": -20.0}, false},
		{"tvoc and sound", "1c00fa153c28", map[string]any{"tvoc": 250.0, "soundPeak": 60.0, "soundAvg": 40.0}, false},
		{"repeated probe 2 collected", "1900641900c8", map[string]any{"externalTemperature2": []any{10.0, 20.0}}, false},
		{"unknown type stops with warning", "0100e23d01020304", map[string]any{"temperature": 22.6}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.hex)
			res, err := decoder(t).Decode(codec.Input{FPort: 5, Bytes: b})
			require.NoError(t, err)
			codectest.AssertFields(t, tc.want, res.Fields)
			assert.Equal(t, tc.warn, len(res.Warnings) > 0, res.Warnings)
		})
	}
}

func TestTruncated(t *testing.T) {
	for _, h := range []string{"", "01", "0100", "0100e206", "13000102"} {
		b, _ := hex.DecodeString(h)
		_, err := decoder(t).Decode(codec.Input{FPort: 1, Bytes: b})
		assert.ErrorIs(t, err, codec.ErrTruncated, h)
	}
}

func TestModelOption(t *testing.T) {
	_, err := elsys.Model("ers-co2")(nil)
	require.NoError(t, err)
	_, err = elsys.New(map[string]any{"model": "nope"})
	require.Error(t, err)
	_, err = elsys.New(map[string]any{"colour": "red"})
	require.Error(t, err)
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Elsys", "")
	d := decoder(f)
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err == nil && len(b) > 0 && len(res.Fields) == 0 && len(res.Warnings) == 0 {
			t.Fatalf("no fields, no warning, no error for %x", b)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	e := codectest.Examples(b, "Elsys", "ERS CO2")[0]
	in := e.Input(1)
	d := decoder(b)
	codectest.Bench(b, d, in)
}
