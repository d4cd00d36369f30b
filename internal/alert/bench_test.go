package alert

import (
	"slices"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

// BenchmarkObserveToWebhook measures the latency from Observe (a stored
// uplink batch) to the webhook receiver having the notification: queue,
// evaluation, alert state fsync, rendering, durable queue fsync, HTTP POST.
// Every iteration toggles a CO2 alert (firing, then resolved).
func BenchmarkObserveToWebhook(b *testing.B) {
	start := time.Date(2026, 1, 13, 8, 0, 0, 0, cet)
	cfg := Config{RepeatInterval: 1000 * time.Hour, Receivers: []ReceiverConfig{{Name: "hook", Type: "webhook"}},
		DefaultReceivers: []string{"hook"}, Rules: []RuleConfig{{Name: "co2", Kind: KindCO2}}}
	h := newHarness(b, cfg, "school-day", start)
	dev := eui(sim.Devices("school-day")[0])
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := 1500.0
		if i%2 == 1 {
			v = 500
		}
		t0 := start.Add(time.Duration(i) * 10 * time.Minute) // beyond the 5-min mean window
		h.clock.Set(t0)
		began := time.Now()
		h.e.Observe([]measurement.Measurement{m(dev, measurement.CO2, v, t0)})
		<-h.hook.got
		lat = append(lat, time.Since(began))
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
	}
}
