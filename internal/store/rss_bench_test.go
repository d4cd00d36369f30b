package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
)

// meterGen is meterSeries one reading at a time, so a benchmark need not
// hold a year of input in memory.
type meterGen struct {
	rng *rand.Rand
	reg float64
	i   int
}

func newMeterGen(seed uint64) *meterGen {
	rng := rand.New(rand.NewPCG(seed, seed))
	return &meterGen{rng: rng, reg: rng.Float64() * 1e5}
}

func (g *meterGen) next() float64 {
	hour := float64(g.i%96) / 4
	g.reg += 0.4 + 2.5*math.Max(0, math.Sin((hour-6)/12*math.Pi)) + g.rng.Float64()*0.3
	g.i++
	return math.Round(g.reg*100) / 100
}

// BenchmarkIngestYear200 appends a year of 15-minute readings of 200
// meters, a day per batch, seals weekly and asks for the monthly increase
// once: the store's memory under /usr/bin/time (peak RSS), since the
// input is made as it goes instead of being held (56 MB for the year,
// which with Go's heap headroom set the peak of
// BenchmarkQueryYearMonthlyIncrease). It uses only what store code of
// every format has, so old and new code run the same harness.
func BenchmarkIngestYear200(b *testing.B) {
	for b.Loop() {
		s := openTest(b, Options{SealInterval: time.Hour * 1000, SegmentSize: 64 << 20})
		const nser = 200
		gens := make([]*meterGen, nser)
		for k := range gens {
			gens[k] = newMeterGen(uint64(k) + 1)
		}
		ctx := context.Background()
		keys := ingestMetersWeekly(b, s, nser, func(k, _ int) float64 { return gens[k].next() })
		res, err := s.Aggregate(ctx, AggregateQuery{Keys: keys, Bounds: MonthBounds(t0, t0.AddDate(1, 0, 0), time.UTC)})
		if err != nil || len(res) != nser {
			b.Fatalf("aggregate: %d series, %v", len(res), err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// ingestMetersWeekly appends a year of 15-minute readings of nser meters,
// a day per batch, seals weekly and at the end, and returns the series
// keys; value(k, i) is reading i of meter k, asked for in order of i.
func ingestMetersWeekly(b *testing.B, s *Store, nser int, value func(k, i int) float64) []string {
	keys := make([]string, nser)
	devs := make([]string, nser)
	for k := range devs {
		devs[k] = fmt.Sprintf("meter%03d", k)
		keys[k] = devs[k] + "/energy_active_import"
	}
	ctx := context.Background()
	ms := make([]measurement.Measurement, 0, nser*96)
	for day := 0; day < 365; day++ {
		ms = ms[:0]
		for i := day * 96; i < (day+1)*96; i++ {
			at := t0.Add(time.Duration(i) * 15 * time.Minute)
			for k := 0; k < nser; k++ {
				ms = append(ms, meas(devs[k], measurement.EnergyActiveImport, 0, value(k, i), at))
			}
		}
		if err := s.Append(ctx, ms); err != nil {
			b.Fatal(err)
		}
		if day%7 == 6 {
			if err := s.Seal(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Seal(); err != nil {
		b.Fatal(err)
	}
	return keys
}
