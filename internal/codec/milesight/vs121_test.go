package milesight_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/milesight"
)

func vs121(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := milesight.NewVS121(nil)
	require.NoError(t, err)
	return d
}

func TestVS121Examples(t *testing.T) {
	var ins []codec.Input
	for _, e := range codectest.Examples(t, "Milesight", "VS121") {
		t.Run(e.Description, func(t *testing.T) {
			res, err := vs121(t).Decode(e.Input(85))
			require.NoError(t, err)
			codectest.AssertFields(t, e.Expected, res.Fields)
			assert.Empty(t, res.Warnings)
		})
		if e.Description != "device information" && e.Description != "flows between areas A-D" {
			ins = append(ins, e.Input(85))
		}
	}
	codectest.AssertFieldNamesCover(t, vs121(t), ins)
}

// The counts reach Values: people in view, per region (channel = region
// number), and the line counts.
func TestVS121Values(t *testing.T) {
	b := codectest.Hex(t, "04c9030800a1 07d50001000000000003 05cc02000100 0dcc1027e803 10f70500ffff")
	res, err := vs121(t).Decode(codec.Input{FPort: 85, Bytes: b})
	require.NoError(t, err)
	assert.Empty(t, res.Warnings)
	for _, tc := range []struct {
		field   string
		channel int
		want    float64
	}{
		{"people_count_all", 0, 3}, {"region_count", 2, 1}, {"region_count", 8, 3}, {"region_count", 1, 0},
		{"people_in", 0, 2}, {"people_out", 0, 1}, {"people_total_in", 0, 10000}, {"people_total_out", 0, 1000},
		{"line_in", 0, 5}, {"line_out", 0, 65535},
	} {
		v, ok := codectest.ValueOf(res, tc.field, tc.channel)
		require.True(t, ok, "%s/%d", tc.field, tc.channel)
		assert.Equal(t, tc.want, v.Value, "%s/%d", tc.field, tc.channel)
		assert.False(t, v.Invalid)
	}
}

func TestVS121SkipsAndStops(t *testing.T) {
	// A reply to a downlink is skipped by its length; the count after it
	// is still decoded.
	res, err := vs121(t).Decode(codec.Input{FPort: 85, Bytes: codectest.Hex(t, "ff030a00 06cd07")})
	require.NoError(t, err)
	assert.Len(t, res.Warnings, 1)
	assert.Equal(t, 7.0, res.Fields["people_count_max"])
	// History has a content-dependent length: decoding stops there.
	res, err = vs121(t).Decode(codec.Input{FPort: 85, Bytes: codectest.Hex(t, "06cd07 20ce0102")})
	require.NoError(t, err)
	assert.Len(t, res.Warnings, 1)
	assert.Equal(t, 7.0, res.Fields["people_count_max"])
}

func TestVS121Errors(t *testing.T) {
	for _, h := range []string{"", "04", "04c9", "04c90308", "07d5000100", "ff086600b094"} {
		_, err := vs121(t).Decode(codec.Input{FPort: 85, Bytes: codectest.Hex(t, h)})
		assert.ErrorIs(t, err, codec.ErrTruncated, h)
	}
	_, err := milesight.NewVS121(map[string]any{"model": "vs121"})
	assert.Error(t, err)
}

func FuzzVS121(f *testing.F) {
	codectest.Seeds(f, "Milesight", "VS121")
	d := vs121(f)
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err == nil && len(b) == 0 {
			t.Fatal("empty payload accepted")
		}
		for _, v := range res.Values {
			if v.Field == "region_count" && (v.Channel < 1 || v.Channel > 16) {
				t.Fatalf("region channel %d", v.Channel)
			}
		}
	})
}

func BenchmarkVS121(b *testing.B) {
	codectest.Bench(b, vs121(b), codectest.Examples(b, "Milesight", "VS121")[1].Input(85))
}
