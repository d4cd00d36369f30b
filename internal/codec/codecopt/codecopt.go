// Package codecopt decodes the free-form codec options of a firmware profile
// into a decoder's typed options struct, strictly: an unknown or mistyped
// option is an error naming it, so profile typos fail at load time.
package codecopt

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Decode fills v (a pointer to a struct with json tags) from options. It
// round-trips through JSON because YAML-decoded maps hold plain Go values
// (string, int, float64, []any, map[string]any) that JSON encodes exactly.
func Decode(options map[string]any, v any) error {
	if len(options) == 0 {
		return nil
	}
	b, err := json.Marshal(options)
	if err != nil {
		return fmt.Errorf("options: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("options: %w", err)
	}
	return nil
}
