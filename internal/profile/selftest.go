package profile

import (
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/codec"
)

// Test is one example payload of a profile and the fields its codec must
// decode it to: the profile's self-test, run by `loraedge validate`. A
// profile imported from a device repository carries the vendor's examples
// as tests.
type Test struct {
	Description string
	FPort       uint8
	Bytes       []byte
	// Fields are the expected codec fields (Result.Fields): numbers,
	// texts, booleans, lists and objects; fields not named are not
	// checked.
	Fields map[string]any
}

// fileTest is a test as a profile file writes it.
type fileTest struct {
	Description string         `yaml:"description"`
	FPort       int            `yaml:"fport"`
	Hex         string         `yaml:"hex"`
	Fields      map[string]any `yaml:"fields"`
}

// parseTests checks the tests of a profile file.
func parseTests(pr *problems, fts []fileTest) []Test {
	var out []Test
	for i, ft := range fts {
		b, err := hex.DecodeString(strings.ReplaceAll(ft.Hex, " ", ""))
		if err != nil || len(b) == 0 {
			pr.add(pr.line("tests", i, "hex"), "test %d: hex: expected pairs of hex digits, got %q", i, ft.Hex)
			continue
		}
		if ft.FPort < 1 || ft.FPort > 223 {
			pr.add(pr.line("tests", i, "fport"), "test %d: fport %d is outside 1..223", i, ft.FPort)
			continue
		}
		if len(ft.Fields) == 0 {
			pr.add(pr.line("tests", i), "test %d: no fields to expect", i)
			continue
		}
		out = append(out, Test{Description: ft.Description, FPort: uint8(ft.FPort), Bytes: b, Fields: ft.Fields})
	}
	return out
}

// SelfTest decodes every test payload and reports each field that differs
// from what the test expects, naming the test.
func (p *Profile) SelfTest() []error {
	var errs []error
	for i, t := range p.Tests {
		name := fmt.Sprintf("%s: test %d", p.ID, i)
		if t.Description != "" {
			name += " (" + t.Description + ")"
		}
		res, err := p.decoder.Decode(codec.Input{FPort: t.FPort, Bytes: t.Bytes, RecvTime: time.Unix(0, 0).UTC()})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for _, d := range diff("", t.Fields, res.Fields) {
			errs = append(errs, fmt.Errorf("%s: %s", name, d))
		}
	}
	return errs
}

// diff compares an expected value with a decoded one: numbers within a
// relative 1e-9, objects by the expected keys, lists element by element.
func diff(path string, want, got any) []string {
	at := path
	if at == "" {
		at = "fields"
	}
	if wn, ok := number(want); ok {
		gn, ok := number(got)
		if !ok || math.Abs(wn-gn) > 1e-9*math.Max(1, math.Abs(wn)) {
			return []string{fmt.Sprintf("%s: expected %v, decoded %v", at, want, show(got))}
		}
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: expected an object, decoded %v", at, show(got))}
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(w)) {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s: expected %v, not decoded", sub, show(w[k])))
				continue
			}
			out = append(out, diff(sub, w[k], gv)...)
		}
		return out
	case []any:
		g := reflect.ValueOf(got)
		if got == nil || g.Kind() != reflect.Slice || g.Len() != len(w) {
			return []string{fmt.Sprintf("%s: expected a list of %d, decoded %v", at, len(w), show(got))}
		}
		var out []string
		for i := range w {
			out = append(out, diff(path+"."+strconv.Itoa(i), w[i], g.Index(i).Interface())...)
		}
		return out
	}
	if !reflect.DeepEqual(want, got) {
		return []string{fmt.Sprintf("%s: expected %v, decoded %v", at, show(want), show(got))}
	}
	return nil
}

func show(v any) string {
	if v == nil {
		return "nothing"
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// number reads any Go number (YAML ints, JSON floats, goja's int64).
func number(v any) (float64, bool) {
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(r.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(r.Uint()), true
	case reflect.Float32, reflect.Float64:
		return r.Float(), true
	}
	return 0, false
}

// SelfTest runs the tests of every profile, in id order.
func (s *Set) SelfTest() []error {
	var errs []error
	for _, id := range s.IDs() {
		errs = append(errs, s.profiles[id].SelfTest()...)
	}
	return errs
}
