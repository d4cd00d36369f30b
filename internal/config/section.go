package config

import (
	"errors"
	"fmt"
)

// inSection prefixes every problem of a section's Validate (keys relative
// to the section, joined with errors.Join) with the section's key, so each
// line of the report names its full key path.
func inSection(name string, err error) []error {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return []error{fmt.Errorf("%s.%w", name, err)}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, inSection(name, e)...)
	}
	return out
}
