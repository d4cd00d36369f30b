// Package codectest holds helpers for decoder tests: it reads the shared
// payload vectors (internal/codec/testdata/examples.json, a copy of the
// published examples, and examples-*.json beside it) and compares decoded
// fields with the published values at a relative tolerance.
package codectest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
)

// Example is one published payload vector.
type Example struct {
	Vendor      string `json:"vendor"`
	Model       string `json:"model"`
	Source      string `json:"source"`
	FPort       *int   `json:"fport"`
	Hex         string `json:"hex"`
	Expected    any    `json:"expected"`
	Description string `json:"description"`
	Note        string `json:"note"`
}

// Input returns the example as a decoder input; fallback is the fPort for
// examples that have none (fPort-independent formats).
func (e Example) Input(fallback uint8) codec.Input {
	b, err := hex.DecodeString(e.Hex)
	if err != nil {
		panic(fmt.Sprintf("codectest: bad hex in examples.json: %v", err))
	}
	port := fallback
	if e.FPort != nil {
		port = uint8(*e.FPort)
	}
	return codec.Input{FPort: port, Bytes: b}
}

// Path is the location of the shared examples file.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "examples.json")
}

// Examples returns the vectors whose vendor equals vendor and whose model
// starts with model; it fails the test if there are none.
func Examples(t testing.TB, vendor, model string) []Example {
	t.Helper()
	all := All(t)
	var out []Example
	for _, e := range all {
		if e.Vendor == vendor && strings.HasPrefix(e.Model, model) {
			out = append(out, e)
		}
	}
	require.NotEmpty(t, out, "no examples for %s %s in %s", vendor, model, Path())
	return out
}

// All returns every vector: those of examples.json and of every
// examples-*.json beside it (one file per group of device families, so
// that families added in parallel do not edit one file).
func All(t testing.TB) []Example {
	t.Helper()
	more, err := filepath.Glob(filepath.Join(filepath.Dir(Path()), "examples-*.json"))
	require.NoError(t, err)
	var all []Example
	for _, p := range append([]string{Path()}, more...) {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		var es []Example
		require.NoError(t, json.Unmarshal(b, &es), p)
		all = append(all, es...)
	}
	return all
}

// Seeds adds the payload of every vector to a fuzz corpus.
func Seeds(f *testing.F, vendor, model string) {
	for _, e := range Examples(f, vendor, model) {
		in := e.Input(1)
		f.Add(in.FPort, in.Bytes)
	}
}

// AssertFields checks that every key of want (decoded JSON) is in got with
// an equal value; numbers compare at relative tolerance 1e-9. Keys that got
// has beyond want are allowed (decoders may add e.g. warnings context).
func AssertFields(t testing.TB, want, got any) {
	t.Helper()
	var diffs []string
	diffs = append(diffs, codec.Compare("", want, got)...)
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("decoded fields differ from the published values:\n  %s", strings.Join(diffs, "\n  "))
	}
}

// Close reports whether a and b are equal at relative tolerance 1e-9.
func Close(a, b float64) bool { return codec.Close(a, b) }

// ValueOf returns the first value with field (and channel) from res.
func ValueOf(res codec.Result, field string, channel int) (codec.Value, bool) {
	for _, v := range res.Values {
		if v.Field == field && v.Channel == channel {
			return v, true
		}
	}
	return codec.Value{}, false
}

// AssertFieldNamesCover checks that every value d returns for inputs is
// announced by its FieldNames, so that profiles mapping a field the codec
// can never return are refused at load time.
func AssertFieldNamesCover(t testing.TB, d codec.Decoder, inputs []codec.Input) {
	t.Helper()
	namer, ok := d.(interface{ FieldNames() []string })
	require.True(t, ok, "decoder has no FieldNames")
	names := map[string]bool{}
	for _, n := range namer.FieldNames() {
		names[n] = true
	}
	for _, in := range inputs {
		res, err := d.Decode(in)
		require.NoError(t, err)
		require.NotEmpty(t, res.Values)
		for _, v := range res.Values {
			assert.True(t, names[v.Field], "field %q not in FieldNames", v.Field)
		}
	}
}

// Hex decodes a hex payload of a test, spaces allowed.
func Hex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// Bench decodes in with d for the benchmark and reports payloads/s.
func Bench(b *testing.B, d codec.Decoder, in codec.Input) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "payloads/s")
}
