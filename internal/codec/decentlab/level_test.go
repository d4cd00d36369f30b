package decentlab_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/codec/decentlab"
)

// A DL-MBX frame without a valid sample keeps its distance word, marked
// invalid: no echo is not a water level of 0 mm.
func TestMBXNoValidSample(t *testing.T) {
	res, err := decoder(t, "dl-mbx").Decode(input("02012f000304d200000bb1"))
	require.NoError(t, err)
	v, ok := codectest.ValueOf(res, "distance", 0)
	require.True(t, ok)
	assert.True(t, v.Invalid)
	assert.Equal(t, 1234.0, v.Value)
	require.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0], "distance invalid")
	n, _ := codectest.ValueOf(res, "number_of_valid_samples", 0)
	assert.False(t, n.Invalid)

	res, err = decoder(t, "dl-mbx").Decode(input("02012f000304d200010bb1"))
	require.NoError(t, err)
	v, _ = codectest.ValueOf(res, "distance", 0)
	assert.False(t, v.Invalid)
	assert.Empty(t, res.Warnings)
}

// The PR26's pressure range is printed on the sensor; the payload carries
// the position in it. 0x3e80 is 384/32768 below the bottom of the range.
func TestPR26Range(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]any
		want float64
	}{
		{nil, -0.01171875},
		{map[string]any{"pmin": 0.0, "pmax": 10.0}, -0.1171875},
		{map[string]any{"pmin": -1.0, "pmax": 1.0}, -1 - 0.0234375},
	} {
		opts := map[string]any{"model": "dl-pr26"}
		for k, v := range tc.opts {
			opts[k] = v
		}
		d, err := decentlab.New(opts)
		require.NoError(t, err)
		res, err := d.Decode(input("02016700033e8060170c7f"))
		require.NoError(t, err)
		v, ok := codectest.ValueOf(res, "pressure", 0)
		require.True(t, ok)
		assert.True(t, codectest.Close(tc.want, v.Value), "%v: %v", tc.opts, v.Value)
		assert.Equal(t, "bar", v.Unit)
	}
}

func TestLevelOptions(t *testing.T) {
	for _, opts := range []map[string]any{
		{"model": "dl-pr26", "pmin": 2.0, "pmax": 1.0},
		{"model": "dl-pr26", "pmax": 0.0},
		{"model": "dl-mbx", "pmax": 2.0},
		{"model": "dl-pr26", "pmax": "2"},
	} {
		_, err := decentlab.New(opts)
		assert.Error(t, err, "%v", opts)
	}
	assert.Contains(t, decentlab.Models(), "dl-mbx")
	assert.Contains(t, decentlab.Models(), "dl-pr26")
}

func TestLevelFieldNamesCover(t *testing.T) {
	for _, model := range []string{"dl-mbx", "dl-pr26"} {
		var ins []codec.Input
		for _, e := range codectest.Examples(t, "Decentlab", map[string]string{"dl-mbx": "DL-MBX", "dl-pr26": "DL-PR26"}[model]) {
			ins = append(ins, e.Input(1))
		}
		codectest.AssertFieldNamesCover(t, decoder(t, model), ins)
	}
}
