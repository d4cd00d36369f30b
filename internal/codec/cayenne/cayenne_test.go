package cayenne_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/cayenne"
	"github.com/loraedge/loraedge/internal/codec/codectest"
)

func decoder(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := cayenne.New(nil)
	require.NoError(t, err)
	return d
}

func input(h string) codec.Input {
	b, _ := hex.DecodeString(h)
	return codec.Input{FPort: 1, Bytes: b}
}

// The TTS formatter vector is an object of <name>_<channel> keys.
func TestTTSExample(t *testing.T) {
	for _, e := range codectest.Examples(t, "The Things Stack", "Cayenne LPP") {
		res, err := decoder(t).Decode(e.Input(1))
		require.NoError(t, err)
		codectest.AssertFields(t, e.Expected, res.Fields)
	}
}

// The myDevices vector is the document's table of (channel, type, value).
func TestMyDevicesExample(t *testing.T) {
	for _, e := range codectest.Examples(t, "myDevices", "Cayenne LPP") {
		res, err := decoder(t).Decode(e.Input(1))
		require.NoError(t, err)
		rows := e.Expected.([]any)
		require.Len(t, res.Values, len(rows))
		for _, r := range rows {
			row := r.(map[string]any)
			require.Equal(t, "Temperature", row["type"])
			v, ok := codectest.ValueOf(res, "temperature", int(row["channel"].(float64)))
			require.True(t, ok)
			assert.True(t, codectest.Close(row["value"].(float64), v.Value))
		}
	}
}

func TestRecords(t *testing.T) {
	res, err := decoder(t).Decode(input("0167ff9c0273ffff"))
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"temperature_1": -10.0, "barometric_pressure_2": 6553.5}, res.Fields)
	res, err = decoder(t).Decode(input("0088f0b26c00bf75fff830"))
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"gps_0": map[string]any{"latitude": -100.29, "longitude": 4.9013, "altitude": -20.0}}, res.Fields)
}

func TestErrors(t *testing.T) {
	for h, want := range map[string]error{
		"":                 codec.ErrTruncated,
		"01":               codec.ErrTruncated,
		"0167ff":           codec.ErrTruncated,
		"0188f0d8":         codec.ErrTruncated,
		"01ff0000":         codec.ErrFormat,
		"0167010001c80102": codec.ErrFormat,
	} {
		_, err := decoder(t).Decode(input(h))
		assert.ErrorIs(t, err, want, h)
	}
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "The Things Stack", "Cayenne")
	codectest.Seeds(f, "myDevices", "Cayenne")
	d := decoder(f)
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		_, _ = d.Decode(codec.Input{FPort: port, Bytes: b})
	})
}

func BenchmarkDecode(b *testing.B) {
	in := codectest.Examples(b, "The Things Stack", "Cayenne LPP")[0].Input(1)
	d := decoder(b)
	codectest.Bench(b, d, in)
}
