package imbuildings_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/imbuildings"
)

func decoder(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := imbuildings.New(nil)
	require.NoError(t, err)
	return d
}

func TestExamples(t *testing.T) {
	var ins []codec.Input
	for _, e := range codectest.Examples(t, "IMBUILDINGS", "People Counter") {
		res, err := decoder(t).Decode(e.Input(1))
		require.NoError(t, err)
		codectest.AssertFields(t, e.Expected, res.Fields)
		assert.Empty(t, res.Warnings)
		ins = append(ins, e.Input(1))
	}
	codectest.AssertFieldNamesCover(t, decoder(t), ins)
}

// The published frame's body, sent without header on fPort 26, and the
// other LoRaWAN variants built from the vendor decoder's layout.
func TestVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		port uint8
		hex  string
		want map[string]any
	}{
		{"variant 6 without header", 26, "00 0100 0000 0000 20 000d 000a 6a", map[string]any{
			"battery_voltage": 2.56, "total_counter_a": 13.0, "total_counter_b": 10.0, "payload_counter": 106.0, "sensor_status": 32.0}},
		{"variant 7 without header", 27, "20 000d 000a", map[string]any{"total_counter_a": 13.0, "total_counter_b": 10.0}},
		{"variant 7", 1, "0207 0004a30b00f0d40e 00 0136 20 012c 00c8", map[string]any{
			"device_type_variant": 7.0, "device_id": "0004a30b00f0d40e", "battery_voltage": 3.1,
			"total_counter_a": 300.0, "total_counter_b": 200.0}},
		{"variant 5", 1, "0205 0004a30b00f0d40e 00 0136 0003 0001 00 07", map[string]any{
			"device_type_variant": 5.0, "counter_a": 3.0, "counter_b": 1.0, "payload_counter": 7.0}},
		{"any port with header", 3, "02060004a30b00f0d40e0001000000000020000d000a6a", map[string]any{"total_counter_a": 13.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := decoder(t).Decode(codec.Input{FPort: tc.port, Bytes: codectest.Hex(t, tc.hex)})
			require.NoError(t, err)
			codectest.AssertFields(t, tc.want, res.Fields)
			for k, w := range tc.want {
				if v, ok := codectest.ValueOf(res, k, 0); ok {
					assert.Equal(t, w, v.Value, k)
				}
			}
		})
	}
	res, err := decoder(t).Decode(codec.Input{FPort: 27, Bytes: codectest.Hex(t, "20000d000a")})
	require.NoError(t, err)
	assert.NotContains(t, res.Fields, "device_id")
	_, ok := codectest.ValueOf(res, "battery_voltage", 0)
	assert.False(t, ok)
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		port uint8
		hex  string
		err  error
		msg  string
	}{
		{1, "", codec.ErrTruncated, "header"},
		{1, "02", codec.ErrTruncated, "header"},
		{1, "0103", codec.ErrFormat, "Comfort Sensor"},
		{1, "0901", codec.ErrFormat, "type 9"},
		{1, "0202", codec.ErrFormat, "variant 2"},
		{1, "02060004a30b00f0d40e0001000000000020", codec.ErrTruncated, "want 23"},
		{1, "02060004a30b00f0d40e0001000000000020000d000a6a00", codec.ErrFormat, "want 23"},
		{26, "00010000", codec.ErrTruncated, "want 13"},
		{27, "20000d000a00", codec.ErrFormat, "want 5"},
	} {
		_, err := decoder(t).Decode(codec.Input{FPort: tc.port, Bytes: codectest.Hex(t, tc.hex)})
		assert.ErrorIs(t, err, tc.err, tc.hex)
		assert.ErrorContains(t, err, tc.msg, tc.hex)
	}
	_, err := imbuildings.New(map[string]any{"variant": 6})
	assert.Error(t, err)
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "IMBUILDINGS", "")
	f.Add(uint8(26), codectest.Hex(f, "0001000000000020000d000a6a"))
	f.Add(uint8(27), codectest.Hex(f, "20000d000a"))
	d := decoder(f)
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err == nil && len(res.Values) == 0 {
			t.Fatalf("accepted %x without values", b)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	codectest.Bench(b, decoder(b), codectest.Examples(b, "IMBUILDINGS", "People Counter")[0].Input(1))
}
