package airtime_test

import (
	"testing"

	"github.com/loraedge/loraedge/internal/network/adr"
	"github.com/loraedge/loraedge/internal/network/adr/adrsim"
)

// BenchmarkFieldAirtime reports the total uplink time on air per hour of
// the 40 EU868 devices in the first hour (all at SF12, before ADR
// acts) and in the last hour of 50, for each ADR algorithm. The emulation
// lives in adrsim, which imports this package; an external test package
// keeps that free of a cycle.
func BenchmarkFieldAirtime(b *testing.B) {
	for _, name := range adr.Names() {
		b.Run(name, func(b *testing.B) {
			var r adrsim.Result
			for b.Loop() {
				alg, err := adr.New(name)
				if err != nil {
					b.Fatal(err)
				}
				if r, err = adrsim.Run(adrsim.EU868Field(), name, alg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(r.AirtimeFirstHour.Seconds(), "airtime-s/h-before")
			b.ReportMetric(r.AirtimeLastHour.Seconds(), "airtime-s/h-after")
			b.ReportMetric(100*r.LossAfter(), "%tx-lost")
		})
	}
}
