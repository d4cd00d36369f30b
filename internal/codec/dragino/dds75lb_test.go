package dragino_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/dragino"
)

func dds75(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := dragino.NewDDS75LB(nil)
	require.NoError(t, err)
	return d
}

func TestDDS75LBExamples(t *testing.T) {
	var ins []codec.Input
	for _, e := range codectest.Examples(t, "Dragino", "DDS75-LB") {
		res, err := dds75(t).Decode(e.Input(2))
		require.NoError(t, err)
		codectest.AssertFields(t, e.Expected, res.Fields)
		assert.Empty(t, res.Warnings)
		v, ok := codectest.ValueOf(res, "Distance", 0)
		require.True(t, ok)
		assert.Equal(t, "m", v.Unit)
		assert.True(t, codectest.Close(e.Expected.(map[string]any)["Distance"].(float64)/1000, v.Value))
		assert.False(t, v.Invalid)
		ins = append(ins, e.Input(2))
	}
	codectest.AssertFieldNamesCover(t, dds75(t), ins)
}

// The manual's other field examples: an interrupt uplink, -19.3 degC, and
// the distances it calls invalid (0 = no sensor, below 280 mm).
func TestDDS75LBReadings(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		want      map[string]any
		invalid   bool
	}{
		{"interrupt, frost", "0b490b0501ff3f01", map[string]any{"Bat": 2.889, "Interrupt_flag": 1.0, "TempC_DS18B20": -19.3, "Distance": 2821.0}, false},
		{"no sensor", "0b45000000010500", map[string]any{"Distance": 0.0, "Sensor_flag": 0.0}, true},
		{"sensor flag 0", "0b450b0500010500", map[string]any{"Distance": 2821.0}, true},
		{"too near", "0b45011700010501", map[string]any{"Distance": 279.0}, true},
		{"nearest valid", "0b45011800010501", map[string]any{"Distance": 280.0}, false},
		{"interrupt bit in battery word masked", "8b450b0500010501", map[string]any{"Bat": 2.885}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := dds75(t).Decode(codec.Input{FPort: 2, Bytes: codectest.Hex(t, tc.hex)})
			require.NoError(t, err)
			codectest.AssertFields(t, tc.want, res.Fields)
			v, ok := codectest.ValueOf(res, "Distance", 0)
			require.True(t, ok)
			assert.Equal(t, tc.invalid, v.Invalid)
			if tc.invalid {
				require.Len(t, res.Warnings, 1)
				assert.Contains(t, res.Warnings[0], "Distance invalid")
			} else {
				assert.Empty(t, res.Warnings)
			}
		})
	}
}

func TestDDS75LBOtherPorts(t *testing.T) {
	// Device status: DDS75-LB, firmware 1.0.0, EU868, no sub-band, 3.445 V.
	res, err := dds75(t).Decode(codec.Input{FPort: 5, Bytes: codectest.Hex(t, "27010001ff0d75")})
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"SENSOR_MODEL": "DDS75-LB", "FIRMWARE_VERSION": "1.0.0",
		"FREQUENCY_BAND": "EU868", "SUB_BAND": "NULL", "BAT": 3.445}, res.Fields)
	v, ok := codectest.ValueOf(res, "Bat", 0)
	require.True(t, ok)
	assert.Equal(t, 3.445, v.Value)

	res, err = dds75(t).Decode(codec.Input{FPort: 5, Bytes: codectest.Hex(t, "0b010001ff0d75")})
	require.NoError(t, err)
	assert.Len(t, res.Warnings, 1)

	res, err = dds75(t).Decode(codec.Input{FPort: 6, Bytes: codectest.Hex(t, "0b050b06")})
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"Detect_Mode_Data": []any{2821.0, 2822.0}}, res.Fields)
	assert.Empty(t, res.Values)

	res, err = dds75(t).Decode(codec.Input{FPort: 3, Bytes: make([]byte, 22)})
	require.NoError(t, err)
	assert.Empty(t, res.Values)
	assert.Len(t, res.Warnings, 1)

	// Multi-sample mode: battery and the distances from byte 8.
	res, err = dds75(t).Decode(codec.Input{FPort: 2, Bytes: codectest.Hex(t, "1b45000000000000 0b05 0b06 0b07")})
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"Bat": 2.885, "Additional_Distance_Data": []any{2821.0, 2822.0, 2823.0}}, res.Fields)
	_, ok = codectest.ValueOf(res, "Distance", 0)
	assert.False(t, ok)
}

func TestDDS75LBErrors(t *testing.T) {
	for _, tc := range []struct {
		port uint8
		hex  string
		err  error
	}{
		{2, "", codec.ErrTruncated},
		{2, "0b", codec.ErrTruncated},
		{2, "0b450b05000105", codec.ErrTruncated},
		{2, "0b450b050001050100", codec.ErrFormat},
		{5, "27010001ff0d", codec.ErrTruncated},
		{3, "0102", codec.ErrFormat},
		{6, "0b", codec.ErrFormat},
		{1, "0b450b0500010501", codec.ErrFPort},
	} {
		b := codectest.Hex(t, tc.hex)
		_, err := dds75(t).Decode(codec.Input{FPort: tc.port, Bytes: b})
		assert.ErrorIs(t, err, tc.err, "%d %s", tc.port, tc.hex)
	}
	_, err := dragino.NewDDS75LB(map[string]any{"model": "x"})
	assert.Error(t, err)
}

func FuzzDDS75LB(f *testing.F) {
	codectest.Seeds(f, "Dragino", "DDS75-LB")
	f.Add(uint8(5), codectest.Hex(f, "27010001ff0d75"))
	f.Add(uint8(2), codectest.Hex(f, "1b450000000000000b05"))
	d := dds75(f)
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err != nil {
			return
		}
		for _, v := range res.Values {
			if v.Field == "Distance" && v.Value*1000 < 280 && !v.Invalid {
				t.Fatalf("distance %v m below the range not marked invalid", v.Value)
			}
		}
	})
}

func BenchmarkDDS75LB(b *testing.B) {
	codectest.Bench(b, dds75(b), codectest.Examples(b, "Dragino", "DDS75-LB")[0].Input(2))
}
