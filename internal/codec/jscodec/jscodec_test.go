package jscodec

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/axioma"
	"github.com/loraedge/loraedge/internal/codec/codectest"
)

const axiomaHex = "01aeac986a003217000000000000000000008003800054000e4005100048000240020000200000000000000000000000000000"

func newJS(t testing.TB, opts map[string]any) codec.Decoder {
	t.Helper()
	d, err := New(opts)
	require.NoError(t, err)
	return d
}

func axiomaJS(t testing.TB) codec.Decoder {
	return newJS(t, map[string]any{"script": "qalcosonic-w1.js", "base_dir": "testdata"})
}

// jsonShape turns native Fields into what JSON (and so examples.json) has.
func jsonShape(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func TestAxiomaScriptMatchesPublishedAndNative(t *testing.T) {
	js := axiomaJS(t)
	native, err := axioma.New(nil)
	require.NoError(t, err)
	for _, e := range codectest.Examples(t, "Axioma", "QALCOSONIC W1") {
		in := e.Input(axioma.FPort)
		jres, err := js.Decode(in)
		require.NoError(t, err)
		nres, err := native.Decode(in)
		require.NoError(t, err)

		codectest.AssertFields(t, e.Expected, jres.Fields)
		// Same object both ways, key for key.
		nf := jsonShape(t, nres.Fields).(map[string]any)
		jf := jsonShape(t, jres.Fields).(map[string]any)
		assert.Equal(t, len(nf), len(jf))
		codectest.AssertFields(t, nf, jres.Fields)

		// Every numeric leaf is a value; those the native decoder also
		// returns undated agree.
		jv := map[string]float64{}
		for _, v := range jres.Values {
			jv[v.Field] = v.Value
		}
		assert.Len(t, jv, 40) // 42 fields but payload_format and timestamp_utc are strings
		compared := 0
		for _, v := range nres.Values {
			if !v.Time.IsZero() {
				continue
			}
			w, ok := jv[v.Field]
			require.True(t, ok, v.Field)
			assert.True(t, codectest.Close(w, v.Value), "%s: js %v native %v", v.Field, w, v.Value)
			compared++
		}
		assert.Greater(t, compared, 8)
		assert.Equal(t, 6.054, jv["current_volume_m3"])
	}
}

func TestInlineScriptAndPaths(t *testing.T) {
	d := newJS(t, map[string]any{"script": `function decodeUplink(input) {
		return {data: {port: input.fPort, n: input.bytes.length, first: input.bytes[0],
			year: input.recvTime.getUTCFullYear(), nested: {list: [1.5, true, "x"]}}};
	}`})
	res, err := d.Decode(codec.Input{FPort: 7, Bytes: []byte{9, 8}, RecvTime: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)})
	require.NoError(t, err)
	got := map[string]float64{}
	for _, v := range res.Values {
		got[v.Field] = v.Value
	}
	assert.Equal(t, map[string]float64{"port": 7, "n": 2, "first": 9, "year": 2025, "nested.list.0": 1.5, "nested.list.1": 1}, got)
	assert.Equal(t, "x", res.Fields["nested"].(map[string]any)["list"].([]any)[2])

	_, err = New(map[string]any{"script": "missing.js", "base_dir": "testdata"})
	assert.ErrorContains(t, err, "missing.js")
	_, err = New(map[string]any{})
	assert.ErrorContains(t, err, "script")
	_, err = New(map[string]any{"script": "function decodeUplink(", "timeout": "10ms"})
	assert.ErrorContains(t, err, "compile")
	_, err = New(map[string]any{"script": "qalcosonic-w1.js", "base_dir": "testdata", "timeout": "forever"})
	assert.ErrorContains(t, err, "timeout")
	_, err = New(map[string]any{"script": "qalcosonic-w1.js", "base_dir": "testdata", "unknown": 1})
	assert.Error(t, err)
}

func TestScriptFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		opts   map[string]any
		isErr  error
		msg    string
	}{
		{"infinite loop", `function decodeUplink(i) { while (true) {} }`, map[string]any{"timeout": "50ms"}, ErrTimeout, "time limit"},
		{"throws", `function decodeUplink(i) { throw new Error("boom at byte " + i.bytes[0]); }`, nil, ErrScript, "boom at byte 1"},
		{"errors array", `function decodeUplink(i) { return {errors: ["bad frame", "really"]}; }`, nil, codec.ErrFormat, "bad frame; really"},
		{"no object", `function decodeUplink(i) { return 42; }`, nil, ErrScript, "want an object"},
		{"no data", `function decodeUplink(i) { return {}; }`, nil, ErrScript, "no data"},
		{"deep recursion", `function f(n) { return f(n + 1) + 1; } function decodeUplink(i) { return {data: {v: f(0)}}; }`, nil, ErrScript, "stack"},
		{"huge array result", `function decodeUplink(i) { var a = []; for (var k = 0; k < 10000; k++) a.push(k); return {data: {a: a}}; }`, nil, ErrResultTooLarge, ""},
		{"cyclic result", `function decodeUplink(i) { var o = {}; o.self = o; return {data: o}; }`, nil, ErrResultTooLarge, "deeper"},
		{"repeat bomb", `function decodeUplink(i) { return {data: {s: "x".repeat(1e9)}}; }`, nil, ErrScript, "exceeds"},
		{"allocation loop", `function decodeUplink(i) { var a = []; while (true) { a.push(new Array(1000).join("y")); } }`,
			map[string]any{"timeout": "5s", "max_alloc_bytes": 8 << 20}, ErrMemory, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A generous limit elsewhere: the race detector and a loaded
			// machine slow the interpreter by 10x or more.
			opts := map[string]any{"script": tc.script, "timeout": "2s"}
			for k, v := range tc.opts {
				opts[k] = v
			}
			d := newJS(t, opts)
			start := time.Now()
			_, err := d.Decode(codec.Input{FPort: 1, Bytes: []byte{1, 2}})
			require.ErrorIs(t, err, tc.isErr)
			if tc.msg != "" {
				assert.ErrorContains(t, err, tc.msg)
			}
			assert.Less(t, time.Since(start), 3*time.Second)
		})
	}
}

func TestTimeoutLeavesDecoderUsable(t *testing.T) {
	d := newJS(t, map[string]any{"timeout": 200.0, "script": `function decodeUplink(i) {
		if (i.bytes[0] === 0xff) { for (;;) {} }
		return {data: {v: i.bytes[0]}};
	}`})
	start := time.Now()
	_, err := d.Decode(codec.Input{FPort: 1, Bytes: []byte{0xff}})
	require.ErrorIs(t, err, ErrTimeout)
	assert.ErrorContains(t, err, "decodeUplink: script exceeded its time limit (200ms)")
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	res, err := d.Decode(codec.Input{FPort: 1, Bytes: []byte{3}})
	require.NoError(t, err)
	assert.Equal(t, 3.0, res.Values[0].Value)
}

func TestLoadTimeChecks(t *testing.T) {
	_, err := New(map[string]any{"script": `function decode(i) { return {}; }`})
	require.ErrorIs(t, err, ErrNoDecodeUplink)
	_, err = New(map[string]any{"script": `var decodeUplink = 5;`})
	require.ErrorIs(t, err, ErrNoDecodeUplink)
	_, err = New(map[string]any{"script": `while (true) {} function decodeUplink(i) {}`, "timeout": "20ms"})
	require.ErrorIs(t, err, ErrTimeout)
	_, err = New(map[string]any{"script": `throw new Error("top")`})
	require.ErrorIs(t, err, ErrScript)
}

func TestPayloadLimit(t *testing.T) {
	d := newJS(t, map[string]any{"script": "qalcosonic-w1.js", "base_dir": "testdata", "max_payload_bytes": 10})
	_, err := d.Decode(codec.Input{FPort: 100, Bytes: codectest.Hex(t, axiomaHex)})
	require.ErrorIs(t, err, ErrPayloadTooLarge)
}

func TestStateBetweenCalls(t *testing.T) {
	src := `var n = 0; function decodeUplink(i) { n++; return {data: {n: n}}; }`
	pooled := newJS(t, map[string]any{"script": src})
	isolated := newJS(t, map[string]any{"script": src, "isolate": true})
	recycled := newJS(t, map[string]any{"script": src, "max_calls_per_runtime": 2})
	var last [3]float64
	for k := 0; k < 3; k++ {
		for i, d := range []codec.Decoder{pooled, isolated, recycled} {
			res, err := d.Decode(codec.Input{FPort: 1})
			require.NoError(t, err)
			last[i] = res.Values[0].Value
		}
	}
	assert.Equal(t, [3]float64{3, 1, 1}, last)
}

func TestConcurrentUse(t *testing.T) {
	// The time limit is wall-clock; 8 goroutines on a shared 2-core test
	// machine (and the race detector) must not trip it.
	d := newJS(t, map[string]any{"script": "qalcosonic-w1.js", "base_dir": "testdata", "timeout": "5s"})
	in := codec.Input{FPort: 100, Bytes: codectest.Hex(t, axiomaHex)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 20; k++ {
				res, err := d.Decode(in)
				if err != nil {
					errs <- err
					return
				}
				if res.Fields["current_volume_m3"] != 6.054 {
					errs <- assert.AnError
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func FuzzDecode(f *testing.F) {
	codectest.Seeds(f, "Axioma", "QALCOSONIC W1")
	d, err := New(map[string]any{"script": "qalcosonic-w1.js", "base_dir": "testdata"})
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

// The same payload through the JS port and the native decoder; the ratio of
// the two payloads/s figures is the cost of running a script.
func BenchmarkAxiomaNative(b *testing.B) {
	d, err := axioma.New(nil)
	require.NoError(b, err)
	benchDecode(b, d)
}

// The benchmarks raise the time limit: on a loaded shared machine a single
// call can wait for a CPU longer than the default 100 ms.
func BenchmarkAxiomaJS(b *testing.B) {
	benchDecode(b, newJS(b, map[string]any{"script": "qalcosonic-w1.js", "base_dir": "testdata", "timeout": "10s"}))
}

func BenchmarkAxiomaJSIsolated(b *testing.B) {
	benchDecode(b, newJS(b, map[string]any{"script": "qalcosonic-w1.js", "base_dir": "testdata", "timeout": "10s", "isolate": true}))
}

func benchDecode(b *testing.B, d codec.Decoder) {
	in := codec.Input{FPort: 100, Bytes: codectest.Hex(b, axiomaHex), RecvTime: time.Now()}
	codectest.Bench(b, d, in)
}

// BenchmarkAxiomaRatio alternates one native and one JS decode of the same
// payload so that both see the same machine load (shared CI machines vary
// by 2x between runs); it reports the ratio of their times.
func BenchmarkAxiomaRatio(b *testing.B) {
	native, err := axioma.New(nil)
	require.NoError(b, err)
	js := newJS(b, map[string]any{"script": "qalcosonic-w1.js", "base_dir": "testdata", "timeout": "10s"})
	in := codec.Input{FPort: 100, Bytes: codectest.Hex(b, axiomaHex), RecvTime: time.Now()}
	var tn, tj time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := native.Decode(in); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := js.Decode(in); err != nil {
			b.Fatal(err)
		}
		tj += time.Since(t1)
		tn += t1.Sub(t0)
	}
	b.ReportMetric(float64(b.N)/tn.Seconds(), "native_payloads/s")
	b.ReportMetric(float64(b.N)/tj.Seconds(), "js_payloads/s")
	b.ReportMetric(float64(tj)/float64(tn), "js/native")
}
