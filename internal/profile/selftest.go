package profile

import (
	"encoding/hex"
	"fmt"
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
		var got any = res.Fields
		for _, d := range codec.Compare("fields", t.Fields, got) {
			errs = append(errs, fmt.Errorf("%s: %s", name, d))
		}
	}
	return errs
}

// SelfTest runs the tests of every profile, in id order.
func (s *Set) SelfTest() []error {
	var errs []error
	for _, id := range s.IDs() {
		errs = append(errs, s.profiles[id].SelfTest()...)
	}
	return errs
}
