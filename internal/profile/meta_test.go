package profile_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
)

// A value the codec marks (quality=invalid) keeps its mark as the
// measurement's Meta; an unmarked one has none.
func TestDecodeCarriesMeta(t *testing.T) {
	set, err := profile.LoadDefault(registry(t), "")
	require.NoError(t, err)
	recv := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		bytes   []byte
		want    float64
		invalid bool
	}{
		{[]byte{0x0b, 0x45, 0x0b, 0x05, 0, 0x01, 0x05, 1}, 2.821, false},
		{[]byte{0x0b, 0x45, 0x00, 0xc8, 0, 0x01, 0x05, 1}, 0.2, true},
	} {
		ms, _, err := set.Decode("dragino/ldds75", codec.Input{FPort: 2, Bytes: tc.bytes, RecvTime: recv}, "01")
		require.NoError(t, err)
		var d *measurement.Measurement
		for i := range ms {
			if ms[i].Quantity == measurement.Distance {
				d = &ms[i]
			}
		}
		require.NotNil(t, d)
		assert.InDelta(t, tc.want, d.Value, 1e-9)
		assert.Equal(t, tc.invalid, d.Meta["quality"] == "invalid")
	}
}
