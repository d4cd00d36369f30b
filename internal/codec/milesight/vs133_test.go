package milesight_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/milesight"
)

func vs133(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := milesight.NewVS133(nil)
	require.NoError(t, err)
	return d
}

func vsIn(h string) codec.Input {
	b, _ := hex.DecodeString(h)
	return codec.Input{FPort: 85, Bytes: b}
}

// The vendor's example: TheThingsNetwork/lorawan-devices
// vendor/milesight-iot/vs133-codec.yaml (decoder vs133.js, Milesight IoT):
// line 1 total in 72, total out 200, period 0/0; line 2 all 0.
func TestVS133VendorExample(t *testing.T) {
	res, err := vs133(t).Decode(vsIn("03d24800000004d2c800000006d20000000007d20000000005cc0000000008cc00000000"))
	require.NoError(t, err)
	assert.Empty(t, res.Warnings)
	codectest.AssertFields(t, map[string]any{
		"line_1": map[string]any{"total_in": 72.0, "total_out": 200.0, "period_in": 0.0, "period_out": 0.0},
		"line_2": map[string]any{"total_in": 0.0, "total_out": 0.0, "period_in": 0.0, "period_out": 0.0},
	}, res.Fields)
	got := map[string]float64{}
	for _, v := range res.Values {
		got[v.Field+"/"+string(rune('0'+v.Channel))] = v.Value
	}
	assert.Equal(t, 72.0, got["total_in/1"])
	assert.Equal(t, 200.0, got["total_out/1"])
	assert.Equal(t, 0.0, got["total_in/2"])
}

func TestVS133Records(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		want      map[string]any
		warnings  int
	}{
		{"line 4 and period", "0cd2102700000ecc0a000b00", map[string]any{"line_4": map[string]any{"total_in": 10000.0, "period_in": 10.0, "period_out": 11.0}}, 0},
		{"device info first", "ff0101ff0a010203d20100000004d202000000", map[string]any{"ipso_version": "v0.1", "firmware_version": "v1.2",
			"line_1": map[string]any{"total_in": 1.0, "total_out": 2.0}}, 0},
		{"unknown record stops", "03d20100000099aa0102", map[string]any{"line_1": map[string]any{"total_in": 1.0}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := vs133(t).Decode(vsIn(tc.hex))
			require.NoError(t, err)
			codectest.AssertFields(t, tc.want, res.Fields)
			assert.Len(t, res.Warnings, tc.warnings)
		})
	}
	_, err := vs133(t).Decode(vsIn("03d20100"))
	assert.ErrorIs(t, err, codec.ErrTruncated)
	_, err = vs133(t).Decode(vsIn(""))
	assert.ErrorIs(t, err, codec.ErrTruncated)
	_, err = vs133(t).Decode(vsIn("03"))
	assert.ErrorIs(t, err, codec.ErrTruncated)
}

func FuzzVS133(f *testing.F) {
	for _, h := range []string{"03d24800000004d2c800000006d20000000007d20000000005cc0000000008cc00000000", "ff0101", "0ed20a000b00"} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	d := vs133(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := d.Decode(codec.Input{FPort: 85, Bytes: b})
		if err != nil {
			return
		}
		for _, v := range res.Values {
			if v.Channel < 1 || v.Channel > 4 {
				t.Fatalf("line %d", v.Channel)
			}
		}
	})
}
