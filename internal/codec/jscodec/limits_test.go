package jscodec

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
)

// Native built-ins cannot be interrupted, so each of these would otherwise
// allocate gigabytes or loop for seconds before the time limit could act.
func TestNativeBombsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		body  string
		isErr error
		msg   string
	}{
		{`new Array(2e7).fill(0)`, ErrScript, "Array.prototype.fill"},
		{`new Uint8Array(4e8)`, ErrScript, "Uint8Array"},
		{`new Float64Array({length: 1e8})`, ErrScript, "Float64Array"},
		{`new ArrayBuffer(4e8)`, ErrScript, "ArrayBuffer"},
		{`Array.from({length: 2e7})`, ErrScript, "Array.from"},
		{`Uint8Array.from({length: 2e7})`, ErrScript, "Uint8Array.from"},
		{`var a = []; a[1e8] = 1; a.join(",")`, ErrScript, "Array.prototype.join"},
		{`var a = []; a.length = 1e8; a.forEach(function () {})`, ErrScript, "forEach"},
		{`"ab".repeat(1e9)`, ErrScript, "repeat"},
		{`"".padStart(1e9)`, ErrScript, "padStart"},
		{`var s = "x"; for (var i = 0; i < 40; i++) s = s + s`, ErrMemory, ""},
	} {
		t.Run(tc.body, func(t *testing.T) {
			d := newJS(t, map[string]any{"timeout": "2s", "script": "function decodeUplink(i) { " + tc.body + "; return {data: {}}; }"})
			start := time.Now()
			_, err := d.Decode(codec.Input{FPort: 1})
			require.ErrorIs(t, err, tc.isErr)
			assert.ErrorContains(t, err, tc.msg)
			assert.Less(t, time.Since(start), time.Second)
		})
	}
}

// The wrapped built-ins behave as before for normal decoder code.
func TestWrappedBuiltinsStillWork(t *testing.T) {
	d := newJS(t, map[string]any{"script": `function decodeUplink(input) {
		var u = new Uint8Array(input.bytes);
		var f = new DataView(u.buffer).getFloat32(0, false);
		var keys = [];
		for (var k in [7, 8]) keys.push(k);
		var from = Uint8Array.from([1, 2, 3]);
		return {data: {
			f: f,
			isU8: u instanceof Uint8Array ? 1 : 0,
			isView: ArrayBuffer.isView(u) ? 1 : 0,
			bpe: Float64Array.BYTES_PER_ELEMENT,
			sum: input.bytes.map(function (b) { return b * 2; }).reduce(function (a, b) { return a + b; }, 0),
			keys: keys.join(","),
			from: from.length,
			hex: input.bytes.map(function (b) { return ("0" + b.toString(16)).slice(-2); }).join(""),
			pad: "7".padStart(3, "0"),
			rep: "ab".repeat(2),
			of: Array.of(1, 2).length
		}};
	}`})
	res, err := d.Decode(codec.Input{FPort: 1, Bytes: []byte{0x3f, 0xc0, 0x00, 0x00}})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"f": 1.5, "isU8": int64(1), "isView": int64(1), "bpe": int64(8), "sum": int64(2 * (0x3f + 0xc0)),
		"keys": "0,1", "from": int64(3), "hex": "3fc00000", "pad": "007", "rep": "abab", "of": int64(2),
	}, res.Fields)
}
