package sim

import (
	"testing"
	"time"
)

// BenchmarkUplinkFrame measures one simulated uplink: value model, vendor
// encoder, FRMPayload encryption and MIC. It bounds how many devices one
// simulator core can drive against the daemon's throughput budget.
func BenchmarkUplinkFrame(b *testing.B) {
	sds := buildSchoolDay(time.Date(2026, 1, 13, 7, 30, 0, 0, cet))
	sd := sds[2] // ABP: no join needed
	n := newNode(sd, time.Now())
	t := time.Date(2026, 1, 13, 8, 0, 0, 0, cet)
	b.ReportAllocs()
	for b.Loop() {
		t = t.Add(time.Minute)
		fport, payload, err := sd.sensor.reading(t)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := n.dataUplink(fport, payload, false, t); err != nil {
			b.Fatal(err)
		}
	}
}
