package axioma

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
)

const published = "01aeac986a003217000000000000000000008003800054000e4005100048000240020000200000000000000000000000000000"

func newDecoder(t testing.TB) codec.Decoder {
	t.Helper()
	d, err := New(nil)
	require.NoError(t, err)
	return d
}

func TestPublishedExamples(t *testing.T) {
	d := newDecoder(t)
	for _, e := range codectest.Examples(t, "Axioma", "QALCOSONIC W1") {
		t.Run(e.Description, func(t *testing.T) {
			res, err := d.Decode(e.Input(FPort))
			require.NoError(t, err)
			codectest.AssertFields(t, e.Expected, res.Fields)
			assert.Empty(t, res.Warnings)
		})
	}
}

func TestHistoryIsDated(t *testing.T) {
	d := newDecoder(t)
	res, err := d.Decode(codec.Input{FPort: FPort, Bytes: codectest.Hex(t, published)})
	require.NoError(t, err)
	var hist []codec.Value
	for _, v := range res.Values {
		if v.Field == "current_volume_m3" {
			hist = append(hist, v)
		}
	}
	require.Len(t, hist, 24)
	// Meter time 2026-09-02T23:09:34Z: the last delta ends at 23:00, the log
	// volume is at 00:00.
	end := time.Date(2026, 9, 2, 23, 0, 0, 0, time.UTC)
	for i, v := range hist {
		assert.Equal(t, end.Add(time.Duration(i-23)*time.Hour), v.Time, i)
	}
	assert.Equal(t, 5.938, hist[0].Value)
	assert.Equal(t, 6.054, hist[23].Value)
	// Deltas 6 and 7 are 14 and 8 litres.
	assert.InDelta(t, 5.938, hist[5].Value, 1e-12)
	assert.InDelta(t, 5.952, hist[6].Value, 1e-12)
	assert.InDelta(t, 5.960, hist[7].Value, 1e-12)
}

func TestStatusFlags(t *testing.T) {
	d := newDecoder(t)
	for _, tc := range []struct {
		status byte
		want   map[string]bool
	}{
		{0x10, map[string]bool{"pipe_empty": true, "temporary_error": true, "leakage": false}},
		{0x14, map[string]bool{"pipe_empty": false, "temporary_error": true, "low_battery": true}},
		{0x20, map[string]bool{"leakage": true, "backflow": false, "burst": false}},
		{0x60, map[string]bool{"backflow": true, "leakage": false}},
		{0xA0, map[string]bool{"burst": true, "leakage": false, "low_temperature": false}},
		{0x80, map[string]bool{"low_temperature": true, "burst": false}},
		{0x08, map[string]bool{"permanent_error": true}},
	} {
		b := codectest.Hex(t, published)
		b[5] = tc.status
		res, err := d.Decode(codec.Input{FPort: FPort, Bytes: b})
		require.NoError(t, err)
		for k, w := range tc.want {
			assert.Equal(t, w, res.Fields[k], "status 0x%02X %s", tc.status, k)
			v, ok := codectest.ValueOf(res, k, 0)
			require.True(t, ok)
			assert.Equal(t, b2f(w), v.Value)
		}
	}
}

func TestBitStream(t *testing.T) {
	// All-ones deltas (16383 L each) and multiplier 0x3F: checks that values
	// straddling byte boundaries are read LSB first.
	b := codectest.Hex(t, published)
	for i := historyStart; i < FrameLen; i++ {
		b[i] = 0xFF
	}
	res, err := newDecoder(t).Decode(codec.Input{FPort: FPort, Bytes: b})
	require.NoError(t, err)
	assert.Equal(t, 16.383, res.Fields["delta_23_m3"])
	assert.Equal(t, 63, res.Fields["history_multiplier"])
	assert.Len(t, res.Warnings, 1)
	// A single bit at stream position 14 is delta 2 = 1 L.
	b = make([]byte, FrameLen)
	b[0] = 1
	b[historyStart+1] = 0x40
	res, err = newDecoder(t).Decode(codec.Input{FPort: FPort, Bytes: b})
	require.NoError(t, err)
	assert.Equal(t, 0.0, res.Fields["delta_1_m3"])
	assert.Equal(t, 0.001, res.Fields["delta_2_m3"])
}

func TestRejects(t *testing.T) {
	d := newDecoder(t)
	full := codectest.Hex(t, published)
	bad := append([]byte{0x02}, full[1:]...)
	for _, tc := range []struct {
		name  string
		port  uint8
		b     []byte
		isErr error
	}{
		{"wrong fPort", 1, full, codec.ErrFPort},
		{"truncated", FPort, full[:50], codec.ErrTruncated},
		{"empty", FPort, nil, codec.ErrTruncated},
		{"too long", FPort, append(append([]byte{}, full...), 0), codec.ErrFormat},
		{"frame version", FPort, bad, codec.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Decode(codec.Input{FPort: tc.port, Bytes: tc.b})
			require.ErrorIs(t, err, tc.isErr)
		})
	}
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Axioma", "QALCOSONIC W1")
	d, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, port uint8, b []byte) {
		res, err := d.Decode(codec.Input{FPort: port, Bytes: b})
		if err == nil && len(res.Values) == 0 {
			t.Fatal("no values without error")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	d := newDecoder(b)
	in := codec.Input{FPort: FPort, Bytes: codectest.Hex(b, published)}
	codectest.Bench(b, d, in)
}

// Every value a decode returns is announced by FieldNames, so profiles can
// be checked at load time.
func TestFieldNamesCoverValues(t *testing.T) {
	d, err := New(nil)
	require.NoError(t, err)
	codectest.AssertFieldNamesCover(t, d, fieldNameInputs(t))
}

func fieldNameInputs(t *testing.T) []codec.Input {
	return []codec.Input{{FPort: FPort, Bytes: codectest.Hex(t, published)}}
}
