package codecopt_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

type opts struct {
	Model  string    `json:"model"`
	FPort  int       `json:"fport"`
	Scales []float64 `json:"scales"`
}

func TestDecode(t *testing.T) {
	var o opts
	require.NoError(t, codecopt.Decode(map[string]any{"model": "x", "fport": 10, "scales": []any{1, 0.5}}, &o))
	assert.Equal(t, opts{Model: "x", FPort: 10, Scales: []float64{1, 0.5}}, o)

	require.NoError(t, codecopt.Decode(nil, &o), "no options is fine")

	err := codecopt.Decode(map[string]any{"modle": "x"}, &o)
	require.ErrorContains(t, err, `unknown field "modle"`)
	err = codecopt.Decode(map[string]any{"fport": "ten"}, &o)
	require.Error(t, err)
}
