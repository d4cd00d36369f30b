package codec

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
)

// Close reports whether a and b are equal at relative tolerance 1e-9.
func Close(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// Compare lists where got differs from want, each as "path: want …, got
// …": numbers within a relative 1e-9, objects (maps, or structs in their
// JSON shape) by want's keys only, lists element by element, anything
// else by deep equality. It checks decoders against published payload
// examples (tests, profile self-tests).
func Compare(path string, want, got any) []string {
	var diffs []string
	compare(path, want, got, &diffs)
	return diffs
}

func compare(path string, want, got any, diffs *[]string) {
	if wf, ok := number(want); ok {
		gf, ok := number(got)
		if !ok || !Close(wf, gf) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %v, got %s", path, want, show(got)))
		}
		return
	}
	switch w := want.(type) {
	case map[string]any:
		gv := reflect.ValueOf(got)
		if gv.Kind() == reflect.Struct || gv.Kind() == reflect.Pointer {
			// Decoders may return small structs with json tags for
			// speed; compare them in their JSON shape.
			var m map[string]any
			if b, err := json.Marshal(got); err == nil && json.Unmarshal(b, &m) == nil {
				gv = reflect.ValueOf(m)
			}
		}
		if gv.Kind() != reflect.Map || gv.Type().Key().Kind() != reflect.String {
			*diffs = append(*diffs, fmt.Sprintf("%s: want an object, got %s", path, show(got)))
			return
		}
		for k, wv := range w {
			e := gv.MapIndex(reflect.ValueOf(k).Convert(gv.Type().Key()))
			if !e.IsValid() {
				*diffs = append(*diffs, fmt.Sprintf("%s.%s: want %s, missing", path, k, show(wv)))
				continue
			}
			compare(path+"."+k, wv, e.Interface(), diffs)
		}
	case []any:
		gv := reflect.ValueOf(got)
		if gv.Kind() != reflect.Slice && gv.Kind() != reflect.Array {
			*diffs = append(*diffs, fmt.Sprintf("%s: want a list, got %s", path, show(got)))
			return
		}
		if gv.Len() != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %d elements, got %d", path, len(w), gv.Len()))
			return
		}
		for i := range w {
			compare(fmt.Sprintf("%s[%d]", path, i), w[i], gv.Index(i).Interface(), diffs)
		}
	default:
		if !reflect.DeepEqual(want, got) {
			*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, show(want), show(got)))
		}
	}
}

func number(v any) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

// show prints a value for a difference: texts quoted, nothing as such.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}
