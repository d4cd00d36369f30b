package adr

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The compact form round-trips, the object form of earlier records still
// decodes, and a non-finite SNR is an error, not invalid JSON.
func TestHistoryJSON(t *testing.T) {
	h := History{{FCnt: 4294967295, DR: 5, TXPowerIndex: 3, SNR: -7.25}, {FCnt: 1, DR: 0, TXPowerIndex: 0, SNR: 9.5}}
	b, err := json.Marshal(State{History: h})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"history":[[4294967295,5,3,-7.25],[1,0,0,9.5]]`)
	var got State
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, h, got.History)

	var old State
	require.NoError(t, json.Unmarshal([]byte(`{"history":[{"f_cnt":7,"dr":2,"tx_power_index":1,"snr":3.5}]}`), &old))
	assert.Equal(t, History{{FCnt: 7, DR: 2, TXPowerIndex: 1, SNR: 3.5}}, old.History)

	var empty State
	require.NoError(t, json.Unmarshal([]byte(`{"history":null}`), &empty))
	assert.Nil(t, empty.History)

	_, err = json.Marshal(State{History: History{{SNR: math.NaN()}}})
	assert.Error(t, err)
	assert.Error(t, json.Unmarshal([]byte(`{"history":[[-1,0,0,0]]}`), &empty))
	assert.Error(t, json.Unmarshal([]byte(`{"history":[[1,0]`), &empty))
}
