// Package jscodec runs payload formatters written for the LoRaWAN Payload
// Codec API (TS013-1.0.0, the format of The Things Network device
// repository): a script defining decodeUplink({bytes, fPort, recvTime})
// that returns {data, warnings, errors}. Scripts run in goja, a JavaScript
// interpreter in pure Go, under a time limit and a few size and memory
// guards, so that a vendor's codec file can be used unchanged for a device
// without a native decoder.
//
// Every number in data becomes a codec.Value whose Field is its path
// joined with "." ("meter.volume", "values.0.Value"); booleans become 0/1.
// The whole data object is Result.Fields.
//
// Limits. goja has no memory limit of its own. The decoder bounds the
// payload size, the script size, the call stack depth and the size of the
// returned object, interrupts a call after the timeout, and watches the
// process's allocation counter while a call runs longer than a few
// milliseconds, interrupting it once it allocated more than max_alloc_bytes.
// goja checks for an interrupt between JavaScript instructions only, so one
// native call that allocates or loops a lot at once (new ArrayBuffer(1e9),
// "x".repeat(1e9), new Array(1e8).fill(0)) would run to its end, using
// gigabytes; the built-ins that take a size are therefore wrapped with a
// check (see limits.go): every Array.prototype method refuses arrays longer
// than max_array_length, so do Array.from, the typed-array and ArrayBuffer
// constructors, and the string repeat/pad methods. Other slow native paths
// may remain (e.g. sorting a long array built element by element, though
// the allocation watchdog stops the building). Run only codec files you
// have read.
package jscodec

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codecopt"
)

// ID is the codec id used in firmware profiles.
const ID = "js"

// Defaults of the options.
const (
	DefaultTimeout       = 100 * time.Millisecond
	DefaultMaxPayload    = 242 // the largest LoRaWAN application payload (EU868 DR7)
	DefaultMaxNodes      = 4096
	DefaultMaxStringSize = 64 << 10
	DefaultMaxAlloc      = 32 << 20
	DefaultMaxCalls      = 1000
	DefaultMaxArrayLen   = 1 << 16
	maxScriptSize        = 1 << 20
	maxCallStack         = 256
	maxDepth             = 32
	watchInterval        = 5 * time.Millisecond
)

// Errors of script runs, checked with errors.Is.
var (
	ErrTimeout         = errors.New("script exceeded its time limit")
	ErrMemory          = errors.New("script exceeded its allocation limit")
	ErrScript          = errors.New("script error")
	ErrNoDecodeUplink  = errors.New("script defines no decodeUplink function")
	ErrResultTooLarge  = errors.New("script result too large")
	ErrPayloadTooLarge = errors.New("payload too large for the script codec")
)

// Options are the codec options of a firmware profile.
type Options struct {
	// Script is the JavaScript source, or the path of a .js file (one line
	// ending in ".js"); a relative path is resolved against BaseDir.
	Script string `json:"script"`
	// BaseDir is the directory of the profile file; whoever loads profiles
	// from a directory sets it. Empty means the working directory.
	BaseDir string `json:"base_dir"`
	// Timeout per decodeUplink call: a duration string ("100ms") or a
	// number of milliseconds.
	Timeout any `json:"timeout"`
	// MaxPayloadBytes rejects larger payloads before the script runs.
	MaxPayloadBytes int `json:"max_payload_bytes"`
	// MaxResultNodes bounds the number of values, objects and arrays in the
	// returned object; MaxStringBytes the total length of its strings.
	MaxResultNodes int `json:"max_result_nodes"`
	MaxStringBytes int `json:"max_string_bytes"`
	// MaxAllocBytes is how much the process may allocate while one call runs
	// before the call is interrupted (checked every 5 ms); 0 = default,
	// negative = off.
	MaxAllocBytes int64 `json:"max_alloc_bytes"`
	// MaxArrayLength bounds arrays and typed arrays handed to native
	// built-ins (elements); default 65536.
	MaxArrayLength int `json:"max_array_length"`
	// Isolate runs every call in a fresh runtime, so that no state survives
	// between payloads (slower; see the benchmarks). Otherwise runtimes are
	// pooled and replaced after MaxCallsPerRuntime calls.
	Isolate            bool `json:"isolate"`
	MaxCallsPerRuntime int  `json:"max_calls_per_runtime"`
}

// Decoder runs one script. It is safe for concurrent use: each call takes a
// runtime from a pool (goja runtimes are single-threaded).
type Decoder struct {
	name       string
	prog       *goja.Program
	timeout    time.Duration
	maxPayload int
	maxNodes   int
	maxStrings int
	maxAlloc   int64
	maxArray   int64
	isolate    bool
	maxCalls   int
	pool       chan *vmState
}

var _ codec.Decoder = (*Decoder)(nil)

type vmState struct {
	vm    *goja.Runtime
	fn    goja.Callable
	calls int
}

// New compiles the script and checks, by running it once, that it defines
// decodeUplink.
func New(options map[string]any) (codec.Decoder, error) {
	var o Options
	if err := codecopt.Decode(options, &o); err != nil {
		return nil, err
	}
	return NewFromOptions(o)
}

// NewFromOptions is New with typed options.
func NewFromOptions(o Options) (*Decoder, error) {
	src, name, err := loadScript(o.Script, o.BaseDir)
	if err != nil {
		return nil, err
	}
	d := &Decoder{
		name:       name,
		timeout:    DefaultTimeout,
		maxPayload: or(o.MaxPayloadBytes, DefaultMaxPayload),
		maxNodes:   or(o.MaxResultNodes, DefaultMaxNodes),
		maxStrings: or(o.MaxStringBytes, DefaultMaxStringSize),
		maxAlloc:   int64(or(int(o.MaxAllocBytes), DefaultMaxAlloc)),
		maxArray:   int64(or(o.MaxArrayLength, DefaultMaxArrayLen)),
		isolate:    o.Isolate,
		maxCalls:   or(o.MaxCallsPerRuntime, DefaultMaxCalls),
		pool:       make(chan *vmState, runtime.GOMAXPROCS(0)),
	}
	if o.Timeout != nil {
		if d.timeout, err = parseTimeout(o.Timeout); err != nil {
			return nil, err
		}
	}
	d.prog, err = goja.Compile(name, src, false)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", name, err)
	}
	st, err := d.newVM()
	if err != nil {
		return nil, err
	}
	d.put(st)
	return d, nil
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func parseTimeout(v any) (time.Duration, error) {
	var d time.Duration
	switch v := v.(type) {
	case string:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("option timeout: %w", err)
		}
	case float64: // JSON numbers: milliseconds
		d = time.Duration(v * float64(time.Millisecond))
	default:
		return 0, fmt.Errorf("option timeout: want a duration string or milliseconds, got %T", v)
	}
	if d <= 0 || d > time.Minute {
		return 0, fmt.Errorf("option timeout: %v is not in (0, 1m]", d)
	}
	return d, nil
}

// loadScript returns the source and a name for error messages.
func loadScript(script, baseDir string) (string, string, error) {
	s := strings.TrimSpace(script)
	if s == "" {
		return "", "", errors.New("option script: missing (JavaScript source or a .js file path)")
	}
	if !strings.ContainsAny(s, "\n;{") && strings.HasSuffix(s, ".js") {
		p := s
		if !filepath.IsAbs(p) && baseDir != "" {
			p = filepath.Join(baseDir, p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return "", "", fmt.Errorf("option script: %w", err)
		}
		if fi.Size() > maxScriptSize {
			return "", "", fmt.Errorf("option script: %s is %d bytes, limit %d", p, fi.Size(), maxScriptSize)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", "", fmt.Errorf("option script: %w", err)
		}
		return string(b), p, nil
	}
	if len(script) > maxScriptSize {
		return "", "", fmt.Errorf("option script: %d bytes, limit %d", len(script), maxScriptSize)
	}
	return script, "inline.js", nil
}

// newVM creates a runtime, runs the script's top level and looks up
// decodeUplink.
func (d *Decoder) newVM() (*vmState, error) {
	vm := goja.New()
	vm.SetMaxCallStackSize(maxCallStack)
	if err := d.limitBuiltins(vm); err != nil {
		return nil, err
	}
	_, err := d.guarded(vm, func() (goja.Value, error) { return vm.RunProgram(d.prog) })
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", d.name, err)
	}
	fn, ok := goja.AssertFunction(vm.Get("decodeUplink"))
	if !ok {
		return nil, fmt.Errorf("%s: %w", d.name, ErrNoDecodeUplink)
	}
	return &vmState{vm: vm, fn: fn}, nil
}

func (d *Decoder) get() (*vmState, error) {
	if !d.isolate {
		select {
		case st := <-d.pool:
			return st, nil
		default:
		}
	}
	return d.newVM()
}

func (d *Decoder) put(st *vmState) {
	if d.isolate || st.calls >= d.maxCalls {
		return
	}
	select {
	case d.pool <- st:
	default: // pool full: let the GC have it
	}
}

// guard interrupts a runtime at its deadline or when the process has
// allocated too much since the call started. It re-arms a short timer
// instead of running a goroutine, so a fast call costs one timer.
type guard struct {
	mu       sync.Mutex
	done     bool
	fired    bool
	timer    *time.Timer
	vm       *goja.Runtime
	deadline time.Time
	alloc0   uint64
	maxAlloc int64
}

var allocMetric = "/gc/heap/allocs:bytes"

func allocated() uint64 {
	s := []metrics.Sample{{Name: allocMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

func (g *guard) check() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return
	}
	now := time.Now()
	if !now.Before(g.deadline) {
		g.fired = true
		g.vm.Interrupt(ErrTimeout)
		return
	}
	if g.maxAlloc > 0 {
		if a := allocated(); g.alloc0 == 0 {
			g.alloc0 = a
		} else if int64(a-g.alloc0) > g.maxAlloc {
			g.fired = true
			g.vm.Interrupt(ErrMemory)
			return
		}
	}
	g.timer = time.AfterFunc(min(g.deadline.Sub(now), watchInterval), g.check)
}

// guarded runs f under the time and allocation guard. When the guard fired,
// the runtime must not be reused: the interrupt may have hit after f.
func (d *Decoder) guarded(vm *goja.Runtime, f func() (goja.Value, error)) (v goja.Value, err error) {
	g := &guard{vm: vm, deadline: time.Now().Add(d.timeout), maxAlloc: d.maxAlloc}
	if d.maxAlloc > 0 && d.timeout > watchInterval {
		// Baseline now; the first check fires after watchInterval.
		g.alloc0 = allocated()
	}
	g.mu.Lock()
	g.timer = time.AfterFunc(min(d.timeout, watchInterval), g.check)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.done = true
		g.timer.Stop()
		fired := g.fired
		g.mu.Unlock()
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrScript, r)
		}
		if fired && err == nil {
			// Interrupted after f returned: the result stands, but the
			// runtime's interrupt flag is set; the caller drops it.
			err = errInterruptedLate
		}
	}()
	v, err = f()
	if err != nil {
		err = scriptError(err)
	}
	return v, err
}

var errInterruptedLate = errors.New("runtime interrupted after the call")

func scriptError(err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if cause := ie.Unwrap(); cause != nil {
			return cause
		}
		return fmt.Errorf("%w: interrupted", ErrScript)
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return fmt.Errorf("%w: %s", ErrScript, ex.Value().String())
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return fmt.Errorf("%w: call stack deeper than %d", ErrScript, maxCallStack)
	}
	return fmt.Errorf("%w: %w", ErrScript, err)
}

// Decode implements codec.Decoder.
func (d *Decoder) Decode(in codec.Input) (res codec.Result, err error) {
	if len(in.Bytes) > d.maxPayload {
		return res, fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(in.Bytes), d.maxPayload)
	}
	st, err := d.get()
	if err != nil {
		return res, err
	}
	reuse := true
	defer func() {
		if reuse {
			d.put(st)
		}
	}()
	st.calls++
	vm := st.vm
	var arg *goja.Object
	out, err := d.guarded(vm, func() (goja.Value, error) {
		bytes := make([]any, len(in.Bytes))
		for i, b := range in.Bytes {
			bytes[i] = int64(b)
		}
		recv := in.RecvTime
		if recv.IsZero() {
			recv = time.Now()
		}
		date, err := vm.New(vm.Get("Date"), vm.ToValue(recv.UnixMilli()))
		if err != nil {
			return nil, err
		}
		arg = vm.NewObject()
		_ = arg.Set("bytes", vm.NewArray(bytes...))
		_ = arg.Set("fPort", int64(in.FPort))
		_ = arg.Set("recvTime", date)
		return st.fn(goja.Undefined(), arg)
	})
	if errors.Is(err, errInterruptedLate) {
		reuse, err = false, nil
	}
	if err != nil {
		// A runtime whose call failed may hold half-updated globals.
		reuse = false
		if errors.Is(err, ErrTimeout) {
			return res, fmt.Errorf("%s: decodeUplink: %w (%v)", d.name, err, d.timeout)
		}
		return res, fmt.Errorf("%s: decodeUplink: %w", d.name, err)
	}
	return d.result(vm, out)
}

// result converts the {data, warnings, errors} object.
func (d *Decoder) result(vm *goja.Runtime, out goja.Value) (codec.Result, error) {
	var res codec.Result
	obj, ok := out.(*goja.Object)
	if !ok || goja.IsNull(out) {
		return res, fmt.Errorf("%w: decodeUplink returned %s, want an object", ErrScript, typeName(out))
	}
	c := converter{vm: vm, nodesLeft: d.maxNodes, stringsLeft: d.maxStrings, res: &res}
	warnings, err := c.strings(obj.Get("warnings"), "warnings")
	if err != nil {
		return res, err
	}
	res.Warnings = warnings
	errs, err := c.strings(obj.Get("errors"), "errors")
	if err != nil {
		return res, err
	}
	data := obj.Get("data")
	if data != nil && !goja.IsUndefined(data) && !goja.IsNull(data) {
		dobj, ok := data.(*goja.Object)
		if !ok {
			return res, fmt.Errorf("%w: data is %s, want an object", ErrScript, typeName(data))
		}
		v, err := c.convert(dobj, "", 0)
		if err != nil {
			return res, err
		}
		if m, ok := v.(map[string]any); ok {
			res.Fields = m
		} else {
			res.Fields = map[string]any{"data": v}
		}
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("%w: %s", codec.ErrFormat, strings.Join(errs, "; "))
	}
	if res.Fields == nil {
		return res, fmt.Errorf("%w: decodeUplink returned no data and no errors", ErrScript)
	}
	return res, nil
}

func typeName(v goja.Value) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	}
	return v.ExportType().String()
}

// converter turns goja values into plain Go values within the size limits,
// collecting numeric leaves as codec values.
type converter struct {
	vm          *goja.Runtime
	nodesLeft   int
	stringsLeft int
	res         *codec.Result
}

func (c *converter) node() error {
	c.nodesLeft--
	if c.nodesLeft < 0 {
		return fmt.Errorf("%w: more than the limit of values", ErrResultTooLarge)
	}
	return nil
}

func (c *converter) str(s string) (string, error) {
	c.stringsLeft -= len(s)
	if c.stringsLeft < 0 {
		return "", fmt.Errorf("%w: strings longer than the limit", ErrResultTooLarge)
	}
	return s, nil
}

func (c *converter) strings(v goja.Value, what string) ([]string, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	obj, ok := v.(*goja.Object)
	if !ok || obj.ClassName() != "Array" {
		return nil, fmt.Errorf("%w: %s is %s, want an array of strings", ErrScript, what, typeName(v))
	}
	n := obj.Get("length").ToInteger()
	if n > int64(c.nodesLeft) {
		return nil, fmt.Errorf("%w: %d %s", ErrResultTooLarge, n, what)
	}
	var out []string
	for i := int64(0); i < n; i++ {
		if err := c.node(); err != nil {
			return nil, err
		}
		s, err := c.str(obj.Get(strconv.FormatInt(i, 10)).String())
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (c *converter) convert(v goja.Value, path string, depth int) (any, error) {
	if err := c.node(); err != nil {
		return nil, err
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d at %q", ErrResultTooLarge, maxDepth, path)
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	obj, isObj := v.(*goja.Object)
	if !isObj {
		switch x := v.Export().(type) {
		case int64:
			c.res.Values = append(c.res.Values, codec.Value{Field: path, Value: float64(x)})
			return x, nil
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				c.res.Warnings = append(c.res.Warnings, fmt.Sprintf("%s: %v dropped", path, x))
				return nil, nil
			}
			c.res.Values = append(c.res.Values, codec.Value{Field: path, Value: x})
			return x, nil
		case bool:
			f := 0.0
			if x {
				f = 1
			}
			c.res.Values = append(c.res.Values, codec.Value{Field: path, Value: f})
			return x, nil
		case string:
			return c.str(x)
		default: // symbols, big integers: keep as text
			return c.str(v.String())
		}
	}
	switch obj.ClassName() {
	case "Array":
		n := obj.Get("length").ToInteger()
		if n > int64(c.nodesLeft) {
			return nil, fmt.Errorf("%w: array of %d at %q", ErrResultTooLarge, n, path)
		}
		out := make([]any, n)
		for i := int64(0); i < n; i++ {
			e, err := c.convert(obj.Get(strconv.FormatInt(i, 10)), join(path, strconv.FormatInt(i, 10)), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case "Date":
		if t, ok := obj.Export().(time.Time); ok {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
		return nil, nil
	case "Function":
		return nil, nil
	}
	keys := obj.Keys()
	if len(keys) > c.nodesLeft {
		return nil, fmt.Errorf("%w: object of %d keys at %q", ErrResultTooLarge, len(keys), path)
	}
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		if _, err := c.str(k); err != nil {
			return nil, err
		}
		e, err := c.convert(obj.Get(k), join(path, k), depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = e
	}
	return out, nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
