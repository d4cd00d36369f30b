package ice

import (
	"testing"
	"time"
)

// BenchmarkAssessForecast measures one station update as the alert engine
// does it: a forecast from an hour of 5-min readings, then Assess.
func BenchmarkAssessForecast(b *testing.B) {
	var hist []Sample
	for i := range 13 {
		hist = append(hist, Sample{
			Time: t0.Add(-time.Duration(i) * 5 * time.Minute),
			FBT:  new(1.0 + 0.05*float64(i)), LT: new(2.0), RH: new(92.0), State: st(Wet),
		})
	}
	b.ReportAllocs()
	for b.Loop() {
		hs, err := Forecast(hist, t0, ForecastOptions{})
		if err != nil {
			b.Fatal(err)
		}
		a := Assess(Reading{Sample: hist[0]}.WithForecast(hs, defaultLead))
		if !a.Condition.Known() {
			b.Fatal(a.Condition)
		}
	}
}
