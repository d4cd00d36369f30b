// Package inputerr turns the errors of decoding operator input (JSON
// bodies, the YAML configuration, query and path values) into texts that
// name the field and say what it expects, such as
// "dev_eui: expected 16 hex digits, got 15". The texts never name a Go type
// or package: the decoders' own errors stay available through Unwrap for
// developers' logs.
package inputerr

import (
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldError is one rejected input value: Field is its path as the
// operator wrote it ("devices[3].app_key", "f_port"), Message what was
// expected and what came. Err is the decoder's cause, for logs only.
type FieldError struct {
	Field   string
	Message string
	Err     error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Unwrap gives the decoder's cause.
func (e *FieldError) Unwrap() error { return e.Err }

// New returns a FieldError for field with a message and no cause.
func New(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
	timeType        = reflect.TypeFor[time.Time]()
)

// hexBytes returns the length of t if it is a fixed-size byte array that
// is written as hex text (EUIs, keys, addresses), else 0.
func hexBytes(t reflect.Type) int {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Array && t.Elem().Kind() == reflect.Uint8 && reflect.PointerTo(t).Implements(textUnmarshaler) {
		return t.Len()
	}
	return 0
}

// Hex checks s as the hex text of exactly n bytes.
func Hex(field, s string, n int) *FieldError {
	if len(s) != 2*n {
		return &FieldError{Field: field, Message: fmt.Sprintf("expected %d hex digits, got %d", 2*n, len(s))}
	}
	if _, err := hex.DecodeString(s); err != nil {
		return &FieldError{Field: field, Message: fmt.Sprintf("expected %d hex digits, got %s", 2*n, Quote(s)), Err: err}
	}
	return nil
}

// Expect says in words what a value of type t looks like.
func Expect(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n := hexBytes(t); n > 0 {
		return fmt.Sprintf("%d hex digits", 2*n)
	}
	switch t {
	case durationType:
		return "a duration like 90s, 15m or 2h"
	case timeType:
		return "a time like 2026-01-02T15:04:05Z"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a text"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		if bits == 64 {
			return "a whole number"
		}
		return fmt.Sprintf("a whole number from %d to %d", int64(-1)<<(bits-1), int64(1)<<(bits-1)-1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if t.Bits() == 64 {
			return "a whole number from 0"
		}
		return fmt.Sprintf("a whole number from 0 to %d", uint64(math.MaxUint64)>>(64-t.Bits()))
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list of " + plural(Expect(t.Elem()))
	case reflect.Map:
		return "an object of " + plural(Expect(t.Elem()))
	case reflect.Struct:
		return "an object"
	}
	return "a value"
}

// plural turns "a text" into "texts" for list descriptions; other
// descriptions stay as they are.
func plural(s string) string {
	if rest, ok := strings.CutPrefix(s, "a "); ok && !strings.Contains(rest, " ") {
		return rest + "s"
	}
	if rest, ok := strings.CutPrefix(s, "an "); ok && !strings.Contains(rest, " ") {
		return rest + "s"
	}
	return "values (" + s + ")"
}

// Quote quotes an input value for a message, cut to 40 characters so that
// a pasted document does not flood the log.
func Quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return strconv.Quote(s)
}

// Got describes a decoded input value (from YAML, a query or JSON) in
// words: a quoted text, a number, a list, an object.
func Got(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x)
	}
	switch reflect.TypeOf(v).Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another kind of value"
}

// gotJSON describes a raw JSON value in words.
func gotJSON(raw []byte) string {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "no valid value"
	}
	return Got(v)
}

// Text parses s into a new value of t the way a configuration file or a
// query writes it: hex for EUIs and keys, a duration, or the type's own
// UnmarshalText. The error is a FieldError without a field name; the
// caller sets it.
func Text(t reflect.Type, s string) (reflect.Value, error) {
	if n := hexBytes(t); n > 0 {
		if fe := Hex("", s, n); fe != nil {
			return reflect.Value{}, fe
		}
	}
	if t == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return reflect.Value{}, &FieldError{Message: "expected " + Expect(t) + ", got " + Quote(s), Err: err}
		}
		return reflect.ValueOf(d), nil
	}
	p := reflect.New(t)
	u, ok := p.Interface().(encoding.TextUnmarshaler)
	if !ok {
		return reflect.Value{}, &FieldError{Message: "expected " + Expect(t)}
	}
	if err := u.UnmarshalText([]byte(s)); err != nil {
		return reflect.Value{}, &FieldError{Message: "invalid value " + Quote(s), Err: err}
	}
	return p.Elem(), nil
}
