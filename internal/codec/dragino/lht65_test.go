package dragino_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/dragino"
)

func decoder(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := dragino.New(nil)
	require.NoError(t, err)
	return d
}

func input(h string) codec.Input {
	b, _ := hex.DecodeString(h)
	return codec.Input{FPort: dragino.FPort, Bytes: b}
}

func TestExamples(t *testing.T) {
	for _, e := range codectest.Examples(t, "Dragino", "LHT65") {
		res, err := decoder(t).Decode(e.Input(2))
		require.NoError(t, err)
		codectest.AssertFields(t, e.Expected, res.Fields)
		assert.Empty(t, res.Warnings)
	}
}

func TestExternalSensors(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		want      map[string]any
		absent    []string
	}{
		{"negative internal and probe", "cbf6fc18037601f8307fff",
			map[string]any{"TempC_SHT": -10.0, "TempC_DS": -20.0, "Hum_SHT": 88.6, "BatV": 3.062}, nil},
		{"no external sensor", "cbf60b0d0376007fff7fff",
			map[string]any{"Ext_sensor": "No external sensor", "TempC_SHT": 28.29}, []string{"TempC_DS"}},
		{"probe disconnected", "cbf60b0d0376817fff7fff",
			map[string]any{"No_connect": "Sensor no connection"}, []string{"TempC_DS"}},
		{"illuminance", "cbf60b0d03760501f40000", map[string]any{"ILL_lx": 500.0, "Work_mode": "Illumination Sensor"}, nil},
		{"adc", "cbf60b0d03760605dc0000", map[string]any{"ADC_V": 1.5}, nil},
		{"counter 32 bit", "cbf60b0d03760800012345", map[string]any{"Exit_count": 74565.0}, nil},
		{"interrupt", "cbf60b0d0376040100ffff", map[string]any{"Exti_pin_level": "High", "Exti_status": "False"}, nil},
		{"probe with timestamp", "fe0c0b0dc3760965a1f280",
			map[string]any{"TempC_DS": -5.0, "Bat_status": 3.0, "Systimestamp": 1705112192.0}, []string{"BatV"}},
		{"probe id", "cbf6280102030fa1b2c3d4", map[string]any{"ID": "28010203a1b2c3d4"}, []string{"TempC_SHT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := decoder(t).Decode(input(tc.hex))
			require.NoError(t, err)
			codectest.AssertFields(t, tc.want, res.Fields)
			for _, k := range tc.absent {
				assert.NotContains(t, res.Fields, k)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	d := decoder(t)
	_, err := d.Decode(codec.Input{FPort: 42, Bytes: input("cbf60b0d0376010add7fff").Bytes})
	assert.ErrorIs(t, err, codec.ErrFPort)
	_, err = d.Decode(input("cbf60b0d0376010add7f"))
	assert.ErrorIs(t, err, codec.ErrTruncated)
	_, err = d.Decode(input(""))
	assert.ErrorIs(t, err, codec.ErrTruncated)
	_, err = d.Decode(input("cbf60b0d0376010add7fff00"))
	assert.ErrorIs(t, err, codec.ErrFormat)
	res, err := d.Decode(input("cbf60b0d0376410add7fff"))
	require.NoError(t, err)
	assert.Empty(t, res.Values)
	assert.NotEmpty(t, res.Warnings)
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Dragino", "LHT65")
	d := decoder(f)
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err == nil && (port != dragino.FPort || len(b) != 11) {
			t.Fatalf("accepted port %d len %d", port, len(b))
		}
		_ = res
	})
}

func BenchmarkDecode(b *testing.B) {
	in := codectest.Examples(b, "Dragino", "LHT65")[0].Input(2)
	d := decoder(b)
	codectest.Bench(b, d, in)
}
