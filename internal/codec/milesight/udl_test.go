package milesight_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/milesight"
)

func udl(t testing.TB, model string) codec.Decoder {
	t.Helper()
	d, err := milesight.UDLModel(model)(nil)
	require.NoError(t, err)
	return d
}

func TestUDLExamples(t *testing.T) {
	for _, tc := range []struct{ model, id string }{{"EM500-UDL", "em500-udl"}, {"EM310-UDL", "em310-udl"}} {
		es := codectest.Examples(t, "Milesight", tc.model)
		var ins []codec.Input
		for _, e := range es {
			t.Run(tc.model, func(t *testing.T) {
				res, err := udl(t, tc.id).Decode(e.Input(85))
				require.NoError(t, err)
				codectest.AssertFields(t, e.Expected, res.Fields)
				// The Value is the published distance in m.
				v, ok := codectest.ValueOf(res, "distance", 0)
				require.True(t, ok)
				assert.Equal(t, "m", v.Unit)
				mm := e.Expected.(map[string]any)["distance"].(float64)
				assert.True(t, codectest.Close(mm/1000, v.Value))
			})
			ins = append(ins, e.Input(85))
		}
		codectest.AssertFieldNamesCover(t, udl(t, tc.id), ins)
	}
}

// The EM310-UDL README example reports a tilted sensor: its distance is
// kept but marked invalid. A frame without tilt is a normal reading.
func TestUDLInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, model, hex string
		invalid          bool
		mm               float64
	}{
		{"tilted", "em310-udl", "01755c03824408040001", true, 2116},
		{"tilt before distance", "em310-udl", "04000103824408", true, 2116},
		{"upright", "em310-udl", "01755c03824408040000", false, 2116},
		{"no echo", "em500-udl", "01755c03820000", true, 0},
		{"no value", "em500-udl", "0382ffff", true, 65535},
		{"near", "em500-udl", "03821e00", false, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := udl(t, tc.model).Decode(codec.Input{FPort: 85, Bytes: codectest.Hex(t, tc.hex)})
			require.NoError(t, err)
			v, ok := codectest.ValueOf(res, "distance", 0)
			require.True(t, ok)
			assert.Equal(t, tc.invalid, v.Invalid)
			assert.True(t, codectest.Close(tc.mm/1000, v.Value))
			assert.Equal(t, tc.mm, res.Fields["distance"])
			if tc.invalid {
				require.Len(t, res.Warnings, 1)
				assert.Contains(t, res.Warnings[0], "distance invalid")
			} else {
				assert.Empty(t, res.Warnings)
			}
		})
	}
}

func TestUDLHistoryAndAttributes(t *testing.T) {
	// Device information, then a stored reading of 2024-01-01T00:00:00Z at
	// 1.5 m, then the current distance.
	b := codectest.Hex(t, "ff0101 ff166136d19378430000 ff0a0114 20ce 80009265 dc05 0382e803")
	res, err := udl(t, "em500-udl").Decode(codec.Input{FPort: 85, Bytes: b})
	require.NoError(t, err)
	assert.Empty(t, res.Warnings)
	assert.Equal(t, "6136d19378430000", res.Fields["sn"])
	var ds []codec.Value
	for _, v := range res.Values {
		if v.Field == "distance" {
			ds = append(ds, v)
		}
	}
	require.Len(t, ds, 2)
	assert.Equal(t, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), ds[0].Time)
	assert.True(t, codectest.Close(1.5, ds[0].Value))
	assert.True(t, ds[1].Time.IsZero())
	assert.True(t, codectest.Close(1.0, ds[1].Value))
}

func TestUDLErrors(t *testing.T) {
	for _, h := range []string{"", "01", "0175", "0382e8", "20ce80009265dc", "ff166136"} {
		b := codectest.Hex(t, h)
		_, err := udl(t, "em310-udl").Decode(codec.Input{FPort: 85, Bytes: b})
		assert.ErrorIs(t, err, codec.ErrTruncated, h)
	}
	// An unknown record type ends decoding with a warning, keeping what
	// came before.
	res, err := udl(t, "em310-udl").Decode(codec.Input{FPort: 85, Bytes: codectest.Hex(t, "01755c 83e9e8030000")})
	require.NoError(t, err)
	assert.Len(t, res.Warnings, 1)
	assert.Equal(t, 92.0, res.Fields["battery"])
	_, err = milesight.NewUDL(map[string]any{"model": "em300-di"})
	assert.Error(t, err)
	_, err = milesight.NewUDL(map[string]any{"model": "em500-udl", "x": 1})
	assert.Error(t, err)
}

func FuzzUDL(f *testing.F) {
	codectest.Seeds(f, "Milesight", "EM500-UDL")
	codectest.Seeds(f, "Milesight", "EM310-UDL")
	f.Add(uint8(85), codectest.Hex(f, "20ce80009265dc05"))
	ds := []codec.Decoder{udl(f, "em500-udl"), udl(f, "em310-udl")}
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		for _, d := range ds {
			res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
			if err == nil && len(b) == 0 {
				t.Fatal("empty payload accepted")
			}
			for _, v := range res.Values {
				if v.Field == "distance" && (v.Value < 0 || v.Value > 65.535) {
					t.Fatalf("distance %v out of the word's range", v.Value)
				}
			}
		}
	})
}

func BenchmarkUDL(b *testing.B) {
	codectest.Bench(b, udl(b, "em310-udl"), codectest.Examples(b, "Milesight", "EM310-UDL")[0].Input(85))
}
