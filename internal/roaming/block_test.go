package roaming

import (
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBlock(t *testing.T) {
	tests := []struct {
		in, err string
		size    uint64
	}{
		{in: "00000000/7", size: 1 << 25},
		{in: "01000000/12", size: 1 << 20},
		{in: "01fffff0/28", size: 16},
		{in: "01000000", err: "is not <devaddr>/<bits>"},
		{in: "0100000/12", err: "DevAddr prefix"},
		{in: "01000000/0", err: "1..32"},
		{in: "01000000/x", err: "1..32"},
		{in: "01000001/12", err: "beyond the prefix length"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b, err := ParseBlock(tt.in)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.in, b.String())
			assert.Equal(t, tt.size, b.Size())
		})
	}
}

func TestBlockContainsOverlapsAt(t *testing.T) {
	a := mustBlock(t, "01000000/12")
	assert.True(t, a.Contains(lorawan.DevAddr{0x01, 0x0f, 0xff, 0xff}))
	assert.False(t, a.Contains(lorawan.DevAddr{0x01, 0x10, 0x00, 0x00}))
	assert.True(t, a.Overlaps(mustBlock(t, "01080000/13")))
	assert.True(t, mustBlock(t, "01080000/13").Overlaps(a))
	assert.False(t, a.Overlaps(mustBlock(t, "01100000/12")))
	assert.Equal(t, lorawan.DevAddr{0x01, 0x00, 0x00, 0x05}, a.At(5))
	assert.Equal(t, lorawan.DevAddr{0x01, 0x00, 0x00, 0x05}, a.At(5+a.Size()), "wraps")
	for i := range uint64(1000) {
		assert.True(t, a.Contains(a.At(i*7919)))
	}
}

func TestBlockInNetID(t *testing.T) {
	assert.True(t, mustBlock(t, "00000000/7").InNetID(lorawan.NetID{0, 0, 0}))
	assert.True(t, mustBlock(t, "01000000/12").InNetID(lorawan.NetID{0, 0, 0}))
	assert.False(t, mustBlock(t, "00000000/6").InNetID(lorawan.NetID{0, 0, 0}), "wider than the NetID")
	assert.False(t, mustBlock(t, "02000000/7").InNetID(lorawan.NetID{0, 0, 0}), "NwkID 1")
	assert.True(t, mustBlock(t, "02000000/7").InNetID(lorawan.NetID{0, 0, 1}))
}

func mustBlock(t *testing.T, s string) Block {
	t.Helper()
	b, err := ParseBlock(s)
	require.NoError(t, err)
	return b
}
