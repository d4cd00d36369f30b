package kamstrup

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/mbus"
)

func newDecoder(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := New(nil)
	require.NoError(t, err)
	return d
}

func TestPublishedExamples(t *testing.T) {
	d := newDecoder(t)
	for _, e := range codectest.Examples(t, "Kamstrup", "flowIQ 2200") {
		t.Run(e.Description, func(t *testing.T) {
			res, err := d.Decode(e.Input(1))
			require.NoError(t, err)
			codectest.AssertFields(t, e.Expected, res.Fields)
			assert.Empty(t, res.Warnings)
		})
	}
}

// The further examples of Kamstrup's mbusparser codec file
// (TheThingsNetwork/lorawan-devices vendor/kamstrup/mbusparser.yaml @af4ebcae),
// written out as hex; expected values as published there.
func TestVendorExamples(t *testing.T) {
	d := newDecoder(t)

	t.Run("midnight log with invalid temperatures and infocode", func(t *testing.T) {
		b := codectest.Hex(t, "78446d0020f32a4413ec00000052ff25100042ff1c0500623b0000523b0000615b80515b80")
		res, err := d.Decode(codec.Input{FPort: 1, Bytes: b})
		require.NoError(t, err)
		ts := "2023-10-19T00:00:00.000"
		want := map[string]any{
			"latestVolume": 0.236,
			"values": []any{
				map[string]any{"Type": "Volume", "Value": 0.236, "Unit": "m3", "Timestamp": ts},
				map[string]any{"Type": "Dry", "Value": false, "Unit": "NA", "Timestamp": ts},
				map[string]any{"Type": "Reverse", "Value": false, "Unit": "NA", "Timestamp": ts},
				map[string]any{"Type": "Leak", "Value": false, "Unit": "NA", "Timestamp": ts},
				map[string]any{"Type": "Burst", "Value": false, "Unit": "NA", "Timestamp": ts},
				map[string]any{"Type": "Tamper", "Value": true, "Unit": "NA", "Timestamp": ts},
				map[string]any{"Type": "Low Battery", "Value": false, "Unit": "NA", "Timestamp": ts},
				map[string]any{"Type": "Low Ambient Temperature", "Value": false, "Unit": "NA", "Timestamp": ts},
				map[string]any{"Type": "High Ambient Temperature", "Value": false, "Unit": "NA", "Timestamp": ts},
				map[string]any{"Type": "ALD last day", "Value": 5.0, "Unit": "NA", "Timestamp": ts},
				map[string]any{"Type": "Min Volume flow", "Value": 0.0, "Unit": "m3/h", "Timestamp": ts},
				map[string]any{"Type": "Max Volume flow", "Value": 0.0, "Unit": "m3/h", "Timestamp": ts},
				map[string]any{"Type": "Min Flow temperature", "Value": nil, "Unit": "Invalid", "Timestamp": ts},
				map[string]any{"Type": "Max Flow temperature", "Value": nil, "Unit": "Invalid", "Timestamp": ts},
			},
		}
		codectest.AssertFields(t, want, res.Fields)
		assert.Equal(t, []string{"Invalid value among data", "Invalid value among data"}, res.Warnings)
		// The flags become 0/1 values dated by the meter, for leak_alarm etc.
		midnight := time.Date(2023, 10, 19, 0, 0, 0, 0, time.UTC)
		for field, want := range map[string]float64{"Tamper": 1, "Leak": 0, "Burst": 0, "Dry": 0, "Reverse": 0} {
			v, ok := codectest.ValueOf(res, field, 0)
			require.True(t, ok, field)
			assert.Equal(t, want, v.Value, field)
			assert.Equal(t, midnight, v.Time, field)
		}
	})

	t.Run("installation frame with long header", func(t *testing.T) {
		b := codectest.Hex(t, "7258578853372c3c16d610080004ff16bf587000")
		res, err := d.Decode(codec.Input{FPort: 1, Bytes: b})
		require.NoError(t, err)
		want := map[string]any{"values": []any{
			map[string]any{"Type": "Module type/config number", "Value": 7362751.0, "Unit": "NA", "Timestamp": nil},
		}}
		codectest.AssertFields(t, want, res.Fields)
		assert.NotContains(t, res.Fields, "latestVolume")
		v, ok := codectest.ValueOf(res, "Module type/config number", 0)
		require.True(t, ok)
		assert.True(t, v.Time.IsZero(), "undated record keeps the receive time")
	})

	t.Run("integration guide: short header, 2-byte hourly profile", func(t *testing.T) {
		b := codectest.Hex(t, "7a08000000446d002cfd284413c1aa77004d931318620127012201220126012201220121012701220122012701"+"2f")
		res, err := d.Decode(codec.Input{FPort: 1, Bytes: b})
		require.NoError(t, err)
		want := []float64{7842.497, 7842.202, 7841.912, 7841.622, 7841.328, 7841.038, 7840.748, 7840.459, 7840.164, 7839.874, 7839.584, 7839.289}
		values := res.Fields["values"].([]entry)
		require.Len(t, values, len(want))
		base := time.Date(2023, 8, 29, 12, 0, 0, 0, time.UTC)
		for i, w := range want {
			assert.InDelta(t, w, values[i]["Value"], 1e-9*w, i)
			assert.Equal(t, base.Add(-time.Duration(i)*time.Hour).Format(timestampLayout), values[i]["Timestamp"], i)
			assert.Equal(t, base.Add(-time.Duration(i)*time.Hour), res.Values[i].Time, i)
			assert.Equal(t, "Volume", res.Values[i].Field)
		}
		assert.Equal(t, 7842.497, res.Fields["latestVolume"])
	})

	t.Run("profile without base value", func(t *testing.T) {
		b := codectest.Hex(t, "78446d003318374d93132261010000000300000000000000000000000000000000000000000000000000000000")
		res, err := d.Decode(codec.Input{FPort: 1, Bytes: b})
		require.ErrorIs(t, err, mbus.ErrNoBase)
		require.ErrorIs(t, err, codec.ErrFormat)
		assert.Equal(t, []entry{}, res.Fields["values"])
		assert.Empty(t, res.Values)
	})
}

func TestTimezoneOption(t *testing.T) {
	d, err := New(map[string]any{"timezone": "Europe/Berlin"})
	require.NoError(t, err)
	e := codectest.Examples(t, "Kamstrup", "flowIQ 2200")[0]
	res, err := d.Decode(e.Input(1))
	require.NoError(t, err)
	// 2024-07-24 19:00 CEST is 17:00 UTC.
	assert.Equal(t, time.Date(2024, 7, 24, 17, 0, 0, 0, time.UTC), res.Values[0].Time.UTC())

	_, err = New(map[string]any{"timezone": "Mars/Olympus"})
	assert.Error(t, err)
	_, err = New(map[string]any{"tz": "UTC"})
	assert.ErrorContains(t, err, "tz")
}

func TestRejects(t *testing.T) {
	d := newDecoder(t)
	for _, tc := range []struct {
		name  string
		port  uint8
		hex   string
		isErr error
	}{
		{"fPort 0", 0, "78", codec.ErrFPort},
		{"empty", 1, "", codec.ErrTruncated},
		{"unknown CI", 1, "51446d00", codec.ErrFormat},
		{"short header truncated", 1, "7a0800", codec.ErrTruncated},
		{"encrypted (mode 5)", 1, "7a08000005446d00", ErrEncrypted},
		{"long header truncated", 1, "7258578853372c", codec.ErrTruncated},
		{"record data truncated", 1, "784413ec00", codec.ErrTruncated},
		{"VIF missing", 1, "7844", codec.ErrTruncated},
		{"DIFE chain truncated", 1, "78c4", codec.ErrTruncated},
		{"special function 0x7F", 1, "787f", codec.ErrFormat},
		{"profile LVAR truncated", 1, "784413030000004d931322610100", codec.ErrTruncated},
		{"profile bad element size", 1, "78446d003318374413030000004d9313036501ff", codec.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Decode(codec.Input{FPort: tc.port, Bytes: codectest.Hex(t, tc.hex)})
			require.ErrorIs(t, err, tc.isErr)
		})
	}
}

func TestRecordVariants(t *testing.T) {
	d := newDecoder(t)
	t.Run("DIFE storage number and BCD energy", func(t *testing.T) {
		// DIF 0x8C (BCD 8, extension) DIFE 0x01 (storage 2), VIF 0x06 (kWh): 12345678 kWh;
		// date of storage 2 via DIF 0x82 DIFE 0x01 VIF 0x6C (type G): 2024-07-31.
		b := codectest.Hex(t, "78"+"82016c1f37"+"8c010678563412")
		res, err := d.Decode(codec.Input{FPort: 1, Bytes: b})
		require.NoError(t, err)
		require.Len(t, res.Values, 1)
		assert.Equal(t, "Energy", res.Values[0].Field)
		assert.Equal(t, "Wh", res.Values[0].Unit)
		assert.Equal(t, 12345678e3, res.Values[0].Value)
		assert.Equal(t, time.Date(2024, 7, 31, 0, 0, 0, 0, time.UTC), res.Values[0].Time)
	})
	t.Run("reverse volume, negative temperature, water infocode leak+burst", func(t *testing.T) {
		b := codectest.Hex(t, "78"+"0493 3c 10270000"+"0265 38ff"+"02ff25 0c00")
		res, err := d.Decode(codec.Input{FPort: 1, Bytes: b})
		require.NoError(t, err)
		v, ok := codectest.ValueOf(res, "Reverse Volume", 0)
		require.True(t, ok)
		assert.Equal(t, 10.0, v.Value)
		v, ok = codectest.ValueOf(res, "External temperature", 0)
		require.True(t, ok)
		assert.InDelta(t, -2.0, v.Value, 1e-12)
		for field, want := range map[string]float64{"Leak": 1, "Burst": 1, "Dry": 0, "Reverse": 0} {
			v, ok := codectest.ValueOf(res, field, 0)
			require.True(t, ok, field)
			assert.Equal(t, want, v.Value, field)
		}
	})
	t.Run("manufacturer data and unknown VIF do not fail", func(t *testing.T) {
		b := codectest.Hex(t, "78"+"017e05"+"0fdeadbeef")
		res, err := d.Decode(codec.Input{FPort: 1, Bytes: b})
		require.NoError(t, err)
		require.Len(t, res.Values, 1)
		assert.Equal(t, "Any VIF", res.Values[0].Field)
		assert.Len(t, res.Warnings, 1)
	})
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Kamstrup", "flowIQ 2200")
	for _, s := range []string{
		"78446d0020f32a4413ec00000052ff25100042ff1c0500623b0000523b0000615b80515b80",
		"7258578853372c3c16d610080004ff16bf587000",
		"7a08000000446d002cfd284413c1aa77004d9313186201270122012201260122012201210127012201220127012f",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(uint8(1), b)
	}
	d, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err == nil && res.Fields == nil {
			t.Fatal("nil Fields without error")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	d := newDecoder(b)
	in := codectest.Examples(b, "Kamstrup", "flowIQ 2200")[0].Input(1)
	codectest.Bench(b, d, in)
}
