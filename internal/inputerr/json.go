package inputerr

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// JSON decodes one JSON object from r into the struct v points to, field
// by field, so that every error names its field: unknown fields, values of
// the wrong kind and the fields' own text formats (hex EUIs and keys) are
// FieldErrors. A v that is not a struct pointer is decoded whole. Errors
// reading r (such as a size limit) are returned as they are.
func JSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return New("body", "one JSON object expected, found more after it")
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		if err := json.Unmarshal(raw, v); err != nil {
			return &FieldError{Field: "body", Message: "expected " + Expect(rv.Type()) + ", got " + gotJSON(raw), Err: err}
		}
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return &FieldError{Field: "body", Message: "expected a JSON object, got " + gotJSON(raw), Err: err}
	}
	byName := jsonFields(rv.Elem().Type())
	var errs []error
	for _, name := range sortedKeys(fields) {
		i, ok := byName[name]
		if !ok {
			errs = append(errs, New(name, "no such field"))
			continue
		}
		f := rv.Elem().FieldByIndex(i)
		if err := jsonField(name, f, fields[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// jsonField decodes one field's raw value into f.
func jsonField(name string, f reflect.Value, raw json.RawMessage) error {
	if n := hexBytes(f.Type()); n > 0 {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			if string(raw) == "null" {
				return nil
			}
			return &FieldError{Field: name, Message: "expected " + Expect(f.Type()) + " as a text, got " + gotJSON(raw), Err: err}
		}
		if fe := Hex(name, s, n); fe != nil {
			return fe
		}
	}
	err := json.Unmarshal(raw, f.Addr().Interface())
	if err == nil {
		return nil
	}
	fe := &FieldError{Field: name, Message: "expected " + Expect(f.Type()) + ", got " + gotJSON(raw), Err: err}
	var te *json.UnmarshalTypeError
	switch {
	case !errors.As(err, &te):
	case te.Field != "":
		// Inside a struct: the decoder knows the inner path.
		fe = typeError(te)
		fe.Field = name + "." + te.Field
	case te.Type != f.Type():
		// Inside a list or map, whose keys the decoder does not name.
		fe.Message = "expected " + Expect(f.Type()) + ", got " + typeWord(te.Value) + " inside"
	}
	return fe
}

// FromJSON words an error of json.Unmarshal into a struct: a value of the
// wrong kind names its field ("f_port: expected a whole number from 0 to
// 255, got "20""), bad syntax its place. For decoders that keep
// json.Unmarshal, such as those that accept unknown fields; nil stays nil.
func FromJSON(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return typeError(te)
	}
	if err == nil {
		return nil
	}
	var fe *FieldError
	if errors.As(bodyError(err), &fe) {
		return fe
	}
	return &FieldError{Field: "body", Message: "not a valid request", Err: err}
}

// typeError words a value of the wrong kind in a struct field.
func typeError(te *json.UnmarshalTypeError) *FieldError {
	return &FieldError{Field: te.Field, Message: "expected " + Expect(te.Type) + ", got " + typeWord(te.Value), Err: te}
}

// typeWord turns json.UnmarshalTypeError's value ("number 300", "string")
// into words.
func typeWord(v string) string {
	kind, rest, _ := strings.Cut(v, " ")
	switch kind {
	case "number":
		if rest != "" {
			return rest
		}
		return "a number"
	case "string":
		return "a text"
	case "bool":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "an object"
	}
	return "another kind of value"
}

// bodyError words a failure to read one JSON value.
func bodyError(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return &FieldError{Field: "body", Message: "a JSON object expected, the body is empty", Err: err}
	case errors.As(err, &syn):
		return &FieldError{Field: "body", Message: "not valid JSON near byte " + strconv.FormatInt(syn.Offset, 10), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &FieldError{Field: "body", Message: "the JSON ends too early", Err: err}
	}
	// A read error (body too large, connection closed): the caller's.
	return err
}

// jsonFields maps the JSON names of t's exported fields to their index
// path; the fields of embedded structs without a name count as t's own.
func jsonFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, idx := range jsonFields(f.Type) {
				if _, own := out[k]; !own {
					out[k] = append([]int{i}, idx...)
				}
			}
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = []int{i}
	}
	return out
}

func sortedKeys(m map[string]json.RawMessage) []string {
	// Deterministic order, so that the same body gives the same message.
	return slices.Sorted(maps.Keys(m))
}
