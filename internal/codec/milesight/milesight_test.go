package milesight_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/milesight"
)

func decoder(t testing.TB, model string) codec.Decoder {
	t.Helper()
	d, err := milesight.Model(model)(nil)
	require.NoError(t, err)
	return d
}

func TestExamples(t *testing.T) {
	for _, tc := range []struct{ model, id string }{
		{"AM319", "am319"}, {"AM307", "am307"}, {"EM300-DI", "em300-di"},
	} {
		for _, e := range codectest.Examples(t, "Milesight", tc.model) {
			t.Run(tc.model, func(t *testing.T) {
				res, err := decoder(t, tc.id).Decode(e.Input(85))
				require.NoError(t, err)
				codectest.AssertFields(t, e.Expected, res.Fields)
			})
		}
	}
}

// The AM307 vector ends in the legacy 05 6a activity record, which the v1
// decoder stops at; here it is skipped with a warning.
func TestLegacyRecordSkipped(t *testing.T) {
	b, _ := hex.DecodeString("056a490003670401")
	res, err := decoder(t, "am307").Decode(codec.Input{FPort: 85, Bytes: b})
	require.NoError(t, err)
	require.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0], "05 6a")
	codectest.AssertFields(t, map[string]any{"temperature": 26.0}, res.Fields)
}

func TestRecords(t *testing.T) {
	for _, tc := range []struct {
		name, model, hex string
		want             map[string]any
		warnings         int
	}{
		{"negative temperature", "am319", "0367f6ff", map[string]any{"temperature": -1.0}, 0},
		{"deep frost", "em300-di", "036718fc", map[string]any{"temperature": -100.0}, 0},
		{"device info then data", "am319", "ff0101ff166136d19378430000ff090140ff0a0114ff0f000367e100",
			map[string]any{"sn": "6136d19378430000", "lorawan_class": "Class A", "temperature": 22.5}, 0},
		{"unknown channel, known type skipped", "am307", "4467010003670a00", map[string]any{"temperature": 1.0}, 1},
		{"unknown type stops", "am307", "03670a0005aa0102", map[string]any{"temperature": 1.0}, 1},
		{"tvoc v2 mass", "am307", "08e6c800", map[string]any{"tvoc_ugm3": 200.0}, 0},
		{"o3 and beep", "am319", "0d7d0c000e0101", map[string]any{"o3": 0.12, "beep": "yes"}, 0},
		{"pir idle", "am319", "050000", map[string]any{"activity": "idle"}, 0},
		{"em300 gpio", "em300-di", "050001", map[string]any{"gpio": 1.0}, 0},
		{"am307 history skipped over by length", "am307", "20ce" + "80009265" + "e100" + "7800" + "01" + "02" + "a803" + "2500" + "6627" + "0367ea00",
			map[string]any{"temperature": 23.4, "history": []any{map[string]any{"temperature": 22.5, "humidity": 60.0, "co2": 936.0, "pressure": 1008.6}}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.hex)
			res, err := decoder(t, tc.model).Decode(codec.Input{FPort: 85, Bytes: b})
			require.NoError(t, err)
			codectest.AssertFields(t, tc.want, res.Fields)
			assert.Len(t, res.Warnings, tc.warnings, res.Warnings)
		})
	}
}

func TestEM300History(t *testing.T) {
	// 2024-01-01T00:00:00Z, -5.5 degC, 80 %, mode 2 (pulse), 123456 pulses; then current pulse total.
	b, _ := hex.DecodeString("20ce" + "80009265" + "c9ff" + "a0" + "02" + "00" + "40e20100" + "05c841e20100")
	res, err := decoder(t, "em300-di").Decode(codec.Input{FPort: 85, Bytes: b})
	require.NoError(t, err)
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	v, ok := codectest.ValueOf(res, "temperature", 0)
	require.True(t, ok)
	assert.Equal(t, -5.5, v.Value)
	assert.Equal(t, ts, v.Time)
	var pulses []codec.Value
	for _, v := range res.Values {
		if v.Field == "pulse" {
			pulses = append(pulses, v)
		}
	}
	require.Len(t, pulses, 2)
	assert.Equal(t, 123456.0, pulses[0].Value)
	assert.Equal(t, ts, pulses[0].Time)
	assert.Equal(t, 123457.0, pulses[1].Value)
	assert.True(t, pulses[1].Time.IsZero())
	hist := res.Fields["history"].([]map[string]any)
	require.Len(t, hist, 1)
	assert.Equal(t, 80.0, hist[0]["humidity"])
}

func TestTruncated(t *testing.T) {
	for _, h := range []string{"", "03", "0367", "036701", "05c8010203", "20ce00e0926500", "20ce0102030405"} {
		b, _ := hex.DecodeString(h)
		_, err := decoder(t, "em300-di").Decode(codec.Input{FPort: 85, Bytes: b})
		assert.ErrorIs(t, err, codec.ErrTruncated, h)
	}
}

func TestOptions(t *testing.T) {
	_, err := milesight.New(nil)
	require.Error(t, err)
	_, err = milesight.New(map[string]any{"model": "am319", "x": 1})
	require.Error(t, err)
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Milesight", "")
	f.Add(uint8(85), []byte{0x20, 0xce, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0})
	ds := []codec.Decoder{decoder(f, "am319"), decoder(f, "am307"), decoder(f, "em300-di")}
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		for _, d := range ds {
			_, _ = d.Decode(codec.Input{FPort: port, Bytes: b})
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	in := codectest.Examples(b, "Milesight", "AM319")[0].Input(85)
	d := decoder(b, "am319")
	codectest.Bench(b, d, in)
}

func TestAM319History(t *testing.T) {
	b, _ := hex.DecodeString("20ce" + "80009265" + "38ff" + "a000" + "00" + "01" + "2c01" + "0a00" + "1027" + "0c00" + "1400" + "0500")
	res, err := decoder(t, "am319").Decode(codec.Input{FPort: 85, Bytes: b})
	require.NoError(t, err)
	assert.Empty(t, res.Warnings)
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for field, want := range map[string]float64{"temperature": -20.0, "humidity": 80, "co2": 300, "pressure": 1000, "pm2.5": 12, "pm10": 20} {
		v, ok := codectest.ValueOf(res, field, 0)
		require.True(t, ok, field)
		assert.Equal(t, want, v.Value, field)
		assert.Equal(t, ts, v.Time, field)
	}
}
