package semtechudp

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzUnmarshal feeds arbitrary datagrams to the parser. It must never
// panic, and whatever it accepts must marshal to a fixed point: parsing the
// marshalled form and marshalling again gives the same bytes.
func FuzzUnmarshal(f *testing.F) {
	files, err := filepath.Glob("testdata/*.bin")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{2, 0, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParsePacketType(b); err != nil {
			if Reason(err) == "" || Reason(err) == "other" {
				t.Fatalf("header error without reason: %v", err)
			}
		}
		p, err := Unmarshal(b)
		if err != nil {
			if Reason(err) == "other" {
				t.Fatalf("error without a reason label: %v", err)
			}
			return
		}
		out, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted %q but cannot marshal it: %v", b, err)
		}
		p2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("cannot parse own output %q: %v", out, err)
		}
		out2, err := p2.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(out2) {
			t.Fatalf("not a fixed point:\n%q\n%q", out, out2)
		}
	})
}
