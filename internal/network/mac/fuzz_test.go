package mac

import (
	"reflect"
	"testing"
)

// FuzzParseUplink feeds arbitrary FOpts / FPort 0 bytes to the uplink
// parser. It must never panic, must consume whole commands only, and what
// it decodes must re-encode and decode to the same commands (reserved bits
// are dropped on the way, so the bytes themselves may differ).
func FuzzParseUplink(f *testing.F) {
	for _, l := range layouts {
		f.Add(l.bytes)
	}
	f.Add([]byte{0x02, 0x03, 0x07, 0x06, 0xff, 0xff, 0x0d, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		cmds, err := ParseUplink(b)
		if err == nil && len(b) > 0 && len(cmds) == 0 {
			t.Fatalf("% x: no commands and no error", b)
		}
		var enc []byte
		for _, c := range cmds {
			e, err := c.MarshalBinary()
			if err != nil {
				t.Fatalf("% x: parsed %s does not marshal: %v", b, c.CID, err)
			}
			if want := 1 + uplinkLen[c.CID]; len(e) != want {
				t.Fatalf("% x: %s marshals to %d bytes, want %d", b, c.CID, len(e), want)
			}
			enc = append(enc, e...)
		}
		if len(enc) > len(b) {
			t.Fatalf("% x: decoded %d bytes of %d", b, len(enc), len(b))
		}
		again, err := ParseUplink(enc)
		if err != nil {
			t.Fatalf("% x: re-encoded % x does not parse: %v", b, enc, err)
		}
		if len(cmds) > 0 && !reflect.DeepEqual(again, cmds) {
			t.Fatalf("% x: not a fixed point:\n%+v\n%+v", b, cmds, again)
		}
	})
}

// FuzzParseDownlink checks the downlink parser never panics and that what
// it decodes packs back to a stream of the same commands.
func FuzzParseDownlink(f *testing.F) {
	for _, l := range layouts {
		f.Add(l.bytes)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmds, _ := ParseDownlink(b)
		packed, _, err := Pack(cmds)
		if err != nil {
			t.Fatalf("% x: parsed commands do not pack: %v", b, err)
		}
		again, err := ParseDownlink(packed)
		if err != nil || len(again) != len(cmds) {
			t.Fatalf("% x: packed % x parses to %d commands (%v), want %d", b, packed, len(again), err, len(cmds))
		}
		for i := range again {
			if again[i].CID != cmds[i].CID {
				t.Fatalf("% x: command %d is %s, want %s", b, i, again[i].CID, cmds[i].CID)
			}
		}
	})
}
