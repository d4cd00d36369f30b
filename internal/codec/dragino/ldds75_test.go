package dragino_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/dragino"
)

func ldds75(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := dragino.NewLDDS75(nil)
	require.NoError(t, err)
	return d
}

func ldds75In(h string) codec.Input {
	b, _ := hex.DecodeString(h)
	return codec.Input{FPort: dragino.LDDS75FPort, Bytes: b}
}

// The vendor's examples. Field values from the Dragino LDDS75 user manual
// (wiki.dragino.com, "LDDS75 - LoRaWAN Distance Detection Sensor User
// Manual", section 2.3: battery 0x0B45 = 2885 mV and 0x0B49 = 2889 mV,
// distance 0x0B05 = 2821 mm, DS18B20 0x0105 = 26.1 degC and 0xFF3F =
// -19.3 degC, sensor flag 1 = ultrasonic sensor detected) assembled into
// the 8-byte frame of Dragino's decoder (dragino/dragino-end-node-decoder
// LDDS75/LDDS75_Decoder_V1.1.4.js); the 4-byte frame is the example of
// TheThingsNetwork/lorawan-devices vendor/dragino/ldds75-codec.yaml, whose
// bytes are battery 0x0E1C and distance 0x0B05. Its published output
// "No Sensor" comes from that decoder's check for exactly 5 bytes; here
// the two values it carries are decoded.
func TestLDDS75VendorExamples(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		want      map[string]any
	}{
		{"manual frame", "0b450b0500010501", map[string]any{"Bat": 2.885, "Distance": 2821.0, "Interrupt_flag": 0.0,
			"TempC_DS18B20": 26.1, "Sensor_flag": 1.0, "Node_type": "LDDS75"}},
		{"manual negative probe", "0b490b0501ff3f01", map[string]any{"Bat": 2.889, "Distance": 2821.0, "Interrupt_flag": 1.0,
			"TempC_DS18B20": -19.3}},
		{"ttn 4-byte example", "0e1c0b05", map[string]any{"Bat": 3.612, "Distance": 2821.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ldds75(t).Decode(ldds75In(tc.hex))
			require.NoError(t, err)
			codectest.AssertFields(t, tc.want, res.Fields)
			assert.Empty(t, res.Warnings)
			for _, v := range res.Values {
				assert.False(t, v.Invalid, v.Field)
			}
		})
	}
}

func TestLDDS75Invalid(t *testing.T) {
	// 0x00C8 = 200 mm is below the 280 mm range: kept, marked invalid.
	res, err := ldds75(t).Decode(ldds75In("0b4500c800010501"))
	require.NoError(t, err)
	var dist *codec.Value
	for i := range res.Values {
		if res.Values[i].Field == "Distance" {
			dist = &res.Values[i]
		}
	}
	require.NotNil(t, dist)
	assert.InDelta(t, 200, dist.Value, 1e-9)
	assert.True(t, dist.Invalid)
	assert.NotEmpty(t, res.Warnings)

	// Sensor flag 0 or distance 0: no ultrasonic sensor, no distance.
	for _, h := range []string{"0b450b0500010500", "0b45000000010501"} {
		res, err = ldds75(t).Decode(ldds75In(h))
		require.NoError(t, err)
		assert.Equal(t, "No Sensor", res.Fields["Distance"])
		for _, v := range res.Values {
			assert.NotEqual(t, "Distance", v.Field)
		}
		assert.NotEmpty(t, res.Warnings)
	}
}

func TestLDDS75Errors(t *testing.T) {
	d := ldds75(t)
	_, err := d.Decode(codec.Input{FPort: 3, Bytes: ldds75In("0b450b0500010501").Bytes})
	assert.ErrorIs(t, err, codec.ErrFPort)
	_, err = d.Decode(ldds75In("0b450b"))
	assert.ErrorIs(t, err, codec.ErrTruncated)
	_, err = d.Decode(ldds75In("0b450b050001"))
	assert.ErrorIs(t, err, codec.ErrFormat)
	_, err = d.Decode(ldds75In("0b450b050001050100"))
	assert.ErrorIs(t, err, codec.ErrFormat)
}

func FuzzLDDS75(f *testing.F) {
	for _, h := range []string{"0b450b0500010501", "0e1c0b05", "0b4500c800010501", "0b450b0500"} {
		b, _ := hex.DecodeString(h)
		f.Add(uint8(2), b)
	}
	d := ldds75(f)
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err != nil {
			return
		}
		if port != dragino.LDDS75FPort || (len(b) != 4 && len(b) != 5 && len(b) != 8) {
			t.Fatalf("accepted port %d len %d", port, len(b))
		}
		for _, v := range res.Values {
			if v.Field == "Distance" && (v.Value < 1 || v.Value > 65535) {
				t.Fatalf("distance %v", v.Value)
			}
		}
	})
}
