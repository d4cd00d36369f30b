package paxcounter_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/paxcounter"
)

func decoder(t testing.TB, encoder string) codec.Decoder {
	t.Helper()
	d, err := paxcounter.New(map[string]any{"encoder": encoder})
	require.NoError(t, err)
	return d
}

func TestExamples(t *testing.T) {
	for _, enc := range []string{"packed", "plain"} {
		var ins []codec.Input
		for _, e := range codectest.Examples(t, "ESP32-Paxcounter", "Paxcounter "+enc) {
			res, err := decoder(t, enc).Decode(e.Input(1))
			require.NoError(t, err)
			codectest.AssertFields(t, e.Expected, res.Fields)
			assert.Empty(t, res.Warnings)
			w, ok := codectest.ValueOf(res, "wifi", paxcounter.ChannelWifi)
			require.True(t, ok)
			assert.Equal(t, 42.0, w.Value)
			b, ok := codectest.ValueOf(res, "ble", paxcounter.ChannelBLE)
			require.True(t, ok)
			assert.Equal(t, 7.0, b.Value)
			ins = append(ins, e.Input(1))
		}
		codectest.AssertFieldNamesCover(t, decoder(t, enc), ins)
	}
	// The default encoder is packed.
	d, err := paxcounter.New(nil)
	require.NoError(t, err)
	res, err := d.Decode(codec.Input{FPort: 1, Bytes: codectest.Hex(t, "2a00")})
	require.NoError(t, err)
	assert.Equal(t, 42.0, res.Fields["wifi"])
	assert.NotContains(t, res.Fields, "ble")
}

// Frames built from the README's port table: a GPS fix after the counts,
// the device status and the battery voltage.
func TestOtherFrames(t *testing.T) {
	// Packed: wifi 300, ble 20, 50.110924 N, 8.682127 E, 7 satellites,
	// HDOP 1.25, 112 m.
	res, err := decoder(t, "packed").Decode(codec.Input{FPort: 1, Bytes: codectest.Hex(t, "2c01 1400 cca1fc02 8f7a8400 07 7d00 7000")})
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"wifi": 300.0, "ble": 20.0, "latitude": 50.110924, "longitude": 8.682127,
		"sats": 7.0, "hdop": 1.25, "altitude": 112.0}, res.Fields)
	// Plain, wifi only with the fix, southern and western.
	res, err = decoder(t, "plain").Decode(codec.Input{FPort: 1, Bytes: codectest.Hex(t, "012c fcfbf5f4 ff7b85ee 07 007d fff6")})
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"wifi": 300.0, "latitude": -50.596364, "longitude": -8.682002, "altitude": -10.0}, res.Fields)

	// Status: 3.9 V, uptime 3600 s, 45 degC, 120000 bytes free, resets 1 and 12.
	res, err = decoder(t, "packed").Decode(codec.Input{FPort: 2, Bytes: codectest.Hex(t, "3c0f 100e000000000000 2d c0d40100 01 0c")})
	require.NoError(t, err)
	codectest.AssertFields(t, map[string]any{"voltage": 3900.0, "uptime": 3600.0, "cputemp": 45.0, "memory": 120000.0}, res.Fields)
	v, ok := codectest.ValueOf(res, "battery_voltage", 0)
	require.True(t, ok)
	assert.Equal(t, 3.9, v.Value)

	res, err = decoder(t, "plain").Decode(codec.Input{FPort: 8, Bytes: codectest.Hex(t, "0f3c")})
	require.NoError(t, err)
	v, _ = codectest.ValueOf(res, "battery_voltage", 0)
	assert.Equal(t, 3.9, v.Value)
	// 0 mV: no battery probe, no value.
	res, err = decoder(t, "plain").Decode(codec.Input{FPort: 8, Bytes: codectest.Hex(t, "0000")})
	require.NoError(t, err)
	assert.Empty(t, res.Values)

	res, err = decoder(t, "packed").Decode(codec.Input{FPort: 5, Bytes: []byte{1}})
	require.NoError(t, err)
	assert.Len(t, res.Warnings, 1)
	assert.Empty(t, res.Values)
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		port uint8
		hex  string
		err  error
	}{
		{1, "", codec.ErrFormat},
		{1, "2a", codec.ErrFormat},
		{1, "2a0007", codec.ErrFormat},
		{1, "2a000700000000", codec.ErrFormat},
		{2, "3c0f", codec.ErrTruncated},
		{2, "3c0f100e0000000000002dc0d40100010c00", codec.ErrFormat},
		{8, "3c", codec.ErrTruncated},
		{8, "3c0f00", codec.ErrFormat},
		{10, "2a00", codec.ErrFPort},
	} {
		_, err := decoder(t, "packed").Decode(codec.Input{FPort: tc.port, Bytes: codectest.Hex(t, tc.hex)})
		assert.ErrorIs(t, err, tc.err, "%d %s", tc.port, tc.hex)
	}
	for _, o := range []map[string]any{{"encoder": "cayenne"}, {"encoder": 2}, {"port": 1}} {
		_, err := paxcounter.New(o)
		assert.Error(t, err, "%v", o)
	}
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "ESP32-Paxcounter", "")
	f.Add(uint8(2), codectest.Hex(f, "3c0f100e0000000000002dc0d40100010c"))
	ds := []codec.Decoder{decoder(f, "packed"), decoder(f, "plain")}
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		for _, d := range ds {
			res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
			if err == nil && port == 1 && len(res.Values) == 0 {
				t.Fatalf("count frame %x without counts", b)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	codectest.Bench(b, decoder(b, "packed"), codectest.Examples(b, "ESP32-Paxcounter", "Paxcounter packed")[0].Input(1))
}
