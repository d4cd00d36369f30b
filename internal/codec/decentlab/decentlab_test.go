package decentlab_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/decentlab"
)

func decoder(t testing.TB, model string) codec.Decoder {
	t.Helper()
	d, err := decentlab.Model(model)(nil)
	require.NoError(t, err)
	return d
}

func input(h string) codec.Input {
	b, _ := hex.DecodeString(h)
	return codec.Input{FPort: 1, Bytes: b}
}

func TestExamples(t *testing.T) {
	for _, model := range decentlab.Models() {
		for _, e := range codectest.Examples(t, "Decentlab", strings.ToUpper(model)) {
			t.Run(model, func(t *testing.T) {
				res, err := decoder(t, model).Decode(e.Input(1))
				require.NoError(t, err)
				codectest.AssertFields(t, e.Expected, res.Fields)
				assert.Empty(t, res.Warnings)
				// Every published sensor is a Value too.
				for k, v := range e.Expected.(map[string]any) {
					if m, ok := v.(map[string]any); ok {
						got, ok := codectest.ValueOf(res, k, 0)
						require.True(t, ok, k)
						assert.True(t, codectest.Close(m["value"].(float64), got.Value), k)
					}
				}
			})
		}
	}
}

func TestPartialFrames(t *testing.T) {
	for _, tc := range []struct {
		name, model, hex string
		want             map[string]any
		absent           []string
	}{
		{"iam battery only", "dl-iam", "020bbd00010b92", map[string]any{"battery_voltage": map[string]any{"value": 2.962}},
			[]string{"air_temperature", "co2_concentration"}},
		{"iam co2 and voc only", "dl-iam", "020bbd005081c7000000000111",
			map[string]any{"co2_concentration": map[string]any{"value": 455.0}, "total_voc": map[string]any{"value": 273.0}},
			[]string{"battery_voltage", "activity_counter"}},
		{"itst negative surface temperature", "dl-itst", "0202d90001014803e2",
			map[string]any{"temperature_target": map[string]any{"value": -67.2}, "temperature_head": map[string]any{"value": -0.6}},
			[]string{"battery_voltage"}},
		{"sht35 frost", "dl-sht35", "02030e00013a5e8000",
			map[string]any{"air_temperature": map[string]any{"value": 175*14942.0/65535 - 45}}, nil},
		{"pm battery only", "dl-pm", "021b5000010c25", map[string]any{"battery_voltage": map[string]any{"value": 3.109}},
			[]string{"pm10_mass_concentration"}},
		{"atm41 battery only", "dl-atm41", "02035a00020bf5", map[string]any{"battery_voltage": map[string]any{"value": 3.061}},
			[]string{"air_temperature"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := decoder(t, tc.model).Decode(input(tc.hex))
			require.NoError(t, err)
			codectest.AssertFields(t, tc.want, res.Fields)
			for _, k := range tc.absent {
				assert.NotContains(t, res.Fields, k)
			}
		})
	}
	// The frost value is below zero: check the sign explicitly.
	res, err := decoder(t, "dl-sht35").Decode(input("02030e00013a5e8000"))
	require.NoError(t, err)
	v, _ := codectest.ValueOf(res, "air_temperature", 0)
	assert.Less(t, v.Value, -5.0)
}

func TestErrors(t *testing.T) {
	d := decoder(t, "dl-iam")
	for _, tc := range []struct {
		in  codec.Input
		err error
	}{
		{input(""), codec.ErrTruncated},
		{input("020bbd00"), codec.ErrTruncated},
		{input("020bbd007f0b926a51"), codec.ErrTruncated},
		{input("030bbd00010b92"), codec.ErrFormat},
		{codec.Input{FPort: 2, Bytes: input("020bbd00010b92").Bytes}, codec.ErrFPort},
	} {
		_, err := d.Decode(tc.in)
		assert.ErrorIs(t, err, tc.err, "%x", tc.in.Bytes)
	}
	_, err := d.Decode(input("030bbd00010b92"))
	assert.ErrorContains(t, err, "protocol version 3 doesn't match v2")
}

func TestUnknownFlagsAndTrailingBytesWarn(t *testing.T) {
	res, err := decoder(t, "dl-sht35").Decode(input("02030e00040c6000"))
	require.NoError(t, err)
	assert.Len(t, res.Warnings, 2)
}

func TestOptions(t *testing.T) {
	_, err := decentlab.New(map[string]any{"model": "dl-xyz"})
	require.Error(t, err)
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Decentlab", "")
	var ds []codec.Decoder
	for _, m := range decentlab.Models() {
		ds = append(ds, decoder(f, m))
	}
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		for _, d := range ds {
			res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
			if err == nil && len(res.Fields) < 2 {
				t.Fatalf("no header fields for %x", b)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, model := range []string{"dl-iam", "dl-atm41"} {
		b.Run(model, func(b *testing.B) {
			in := codectest.Examples(b, "Decentlab", strings.ToUpper(model))[0].Input(1)
			d := decoder(b, model)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Decode(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
		})
	}
}
