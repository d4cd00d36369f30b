package basicstation

import (
	"testing"
)

// BenchmarkParseUpdf measures the parser on a data frame as Basics Station
// sends it (from the captured session).
func BenchmarkParseUpdf(b *testing.B) {
	msg := []byte(`{"msgtype":"updf","MHdr":128,"DevAddr":32242444,"FCtrl":128,"FCnt":1,"FOpts":"","FPort":5,"FRMPayload":"887D328A6B0CEFEB","MIC":-1298103031,"RefTime":1796671262.346333,"DR":5,"Freq":868300000,"upinfo":{"rctx":0,"xtime":43910096645282079,"gpstime":0,"fts":-1,"rssi":-57,"snr":9.5,"rxtime":1796671262.346526}}`)
	b.ReportAllocs()
	for b.Loop() {
		m, err := parseMessage(msg)
		if err != nil || len(m.up.PHYPayload) != 21 {
			b.Fatal(err)
		}
	}
}
