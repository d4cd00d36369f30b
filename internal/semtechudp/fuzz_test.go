package semtechudp

import (
	"fmt"
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
	// PUSH_DATA mixing good and bad rxpk and fields (ParsePushData's cases).
	f.Add(pushJSON(fmt.Sprintf(goodRXPK, ""), fmt.Sprintf(goodRXPK, `,"freq":"868.1"`), `{"size":1,"data":"*"}`))
	f.Add(pushJSON(fmt.Sprintf(goodRXPK, `,"time":"2026-11-23 08:00:00Z","rssis":"x","tmms":true`), `null`, `[]`))
	f.Add(pushJSON(fmt.Sprintf(goodRXPK, `,"size":9`), fmt.Sprintf(goodRXPK, `,"rsig":[{"ant":"a"}]`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, issues, err := ParsePushData(b); err == nil {
			for _, e := range issues.Rejected {
				if Reason(e) == "other" {
					t.Fatalf("rejected rxpk without a reason label: %v", e)
				}
			}
			// What the lenient parser keeps is a valid PUSH_DATA.
			out, err := p.MarshalBinary()
			if err != nil {
				t.Fatalf("kept %q but cannot marshal it: %v", b, err)
			}
			if err := (&PushDataPacket{}).UnmarshalBinary(out); err != nil {
				t.Fatalf("kept rxpk do not parse strictly: %v\n%q", err, out)
			}
		} else if Reason(err) == "other" {
			t.Fatalf("PUSH_DATA error without a reason label: %v", err)
		}
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
