package basicstation

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/loraedge/loraedge/internal/basicstation/routertest"
)

// FuzzParseMessage feeds arbitrary router messages to the parser: it never
// panics, every refusal carries a counted reason, and every uplink it
// accepts comes out the same after Basics Station's encoding and a second
// parse.
func FuzzParseMessage(f *testing.F) {
	seeds := []string{
		`{"msgtype":"version","station":"2.0.6","protocol":2}`,
		`{"msgtype":"updf","MHdr":128,"DevAddr":16909060,"FCtrl":130,"FCnt":42,"FOpts":"0607","FPort":10,"FRMPayload":"aabbcc","MIC":-185339151,"DR":5,"Freq":868300000,"upinfo":{"rctx":0,"xtime":562949953421312,"gpstime":0,"rssi":-71,"snr":9.25}}`,
		`{"msgtype":"jreq","MHdr":0,"JoinEui":"08-07-06-05-04-03-02-01","DevEui":"10-0f-0e-0d-0c-0b-0a-09","DevNonce":4660,"MIC":-190604895,"DR":0,"Freq":868100000,"upinfo":{"xtime":1}}`,
		`{"msgtype":"propdf","FRMPayload":"e00102","DR":5,"Freq":868100000,"upinfo":{"xtime":1}}`,
		`{"msgtype":"dntxed","diid":41,"DevEui":"70-b3-d5-7e-d0-00-00-01","rctx":0,"xtime":1}`,
		`{"msgtype":"timesync","txtime":123456789}`,
		`{"msgtype":"updf","FPort":-1,"FRMPayload":"00"}`, `{"msgtype":1}`, `[]`, `null`, ``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// The messages Basics Station itself sent (testdata/station).
	files, _ := filepath.Glob(filepath.Join("testdata", "station", "*.jsonl"))
	for _, file := range files {
		for _, line := range captured(f, file) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			var pe *parseError
			if !errors.As(err, &pe) || !knownReason(pe.reason) {
				t.Fatalf("refusal without a counted reason: %v", err)
			}
			return
		}
		if m.up == nil {
			return
		}
		again, err := routertest.UplinkMessage(m.up.PHYPayload, routertest.Radio{DR: m.up.DR, Freq: m.up.Freq, XTime: m.up.Info.XTime})
		if err != nil {
			return // e.g. a propdf that looks like a short data frame
		}
		enc, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := parseMessage(enc)
		if err != nil {
			t.Fatalf("re-encoded %s refused: %v", enc, err)
		}
		if string(m2.up.PHYPayload) != string(m.up.PHYPayload) {
			t.Fatalf("round trip changed the frame: %x -> %x", m.up.PHYPayload, m2.up.PHYPayload)
		}
	})
}

func knownReason(r string) bool {
	for _, k := range rejectReasons {
		if k == r {
			return true
		}
	}
	return false
}

// captured reads a capture file: one router message per line.
func captured(tb testing.TB, file string) [][]byte {
	tb.Helper()
	b, err := os.ReadFile(file) //nolint:gosec // test data
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for line := range bytes.Lines(b) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, line)
		}
	}
	return out
}
