package store

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	bolt "go.etcd.io/bbolt"
)

// BenchmarkAppend measures appended points per second with many concurrent
// appenders sharing group commits (as uplink handlers would).
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		interval time.Duration
		par      int
		batch    int
	}{{200 * time.Millisecond, 64, 5}, {200 * time.Millisecond, 512, 5}, {10 * time.Millisecond, 16, 100}} {
		b.Run(fmt.Sprintf("interval=%s/appenders=%dx%d/batch=%d", bc.interval, bc.par, 2, bc.batch), func(b *testing.B) {
			s := openTest(b, Options{Config: Config{CommitInterval: bc.interval}, SealInterval: time.Hour, SegmentSize: 64 << 20})
			ctx := context.Background()
			var n sync.Mutex
			dev := 0
			b.SetParallelism(bc.par)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				n.Lock()
				d := dev
				dev++
				n.Unlock()
				i := 0
				ms := make([]measurement.Measurement, bc.batch)
				for pb.Next() {
					at := t0.Add(time.Duration(i) * time.Second)
					for k := range ms {
						ms[k] = meas(fmt.Sprintf("dev%04d", d), measurement.AirTemperature, k, float64(i%3000)/100, at)
					}
					if err := s.Append(ctx, ms); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			el := time.Since(start)
			b.ReportMetric(float64(b.N*bc.batch)/el.Seconds(), "points/s")
		})
	}
}

// BenchmarkAppendAsync measures one producer that does not wait for the
// fsync (the uplink pipeline's way to reach thousands of uplinks/s with a
// 200 ms group commit).
func BenchmarkAppendAsync(b *testing.B) {
	s := openTest(b, Options{Config: Config{CommitInterval: 200 * time.Millisecond}, SealInterval: time.Hour, SegmentSize: 64 << 20})
	ctx := context.Background()
	var wg sync.WaitGroup
	done := func(err error) {
		if err != nil {
			b.Error(err)
		}
		wg.Done()
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		dev := fmt.Sprintf("dev%04d", i%1000)
		ms := []measurement.Measurement{
			meas(dev, measurement.RoadSurfaceTemperature, 0, float64(i%3000)/100, at),
			meas(dev, measurement.AirTemperature, 0, float64(i%2000)/100, at),
			meas(dev, measurement.RelativeHumidity, 0, float64(i%9000)/100, at),
		}
		wg.Add(1)
		if err := s.AppendAsync(ctx, ms, done); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	el := time.Since(start)
	b.ReportMetric(float64(b.N*3)/el.Seconds(), "points/s")
	b.ReportMetric(float64(b.N)/el.Seconds(), "batches/s")
}

// meterValues yields a realistic cumulative electricity register: a daily
// load profile with noise, 0.01 kWh resolution.
func meterSeries(rng *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	reg := rng.Float64() * 1e5
	for i := range out {
		hour := float64(i%96) / 4
		load := 0.4 + 2.5*math.Max(0, math.Sin((hour-6)/12*math.Pi)) + rng.Float64()*0.3
		reg += load
		out[i] = math.Round(reg*100) / 100
	}
	return out
}

// roadSeries yields a road surface temperature with a daily cycle and
// sensor noise at 0.01 degC resolution.
func roadSeries(rng *rand.Rand, n int, base float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		day := float64(i%144) / 144
		season := 8 * math.Cos(float64(i)/144/365*2*math.Pi)
		v := base - season + 4*math.Sin(day*2*math.Pi) + rng.NormFloat64()*0.03
		out[i] = math.Round(v*100) / 100
	}
	return out
}

// ingestYear appends a year of data day by day and seals daily, as the
// daemon would (it seals every 15 min; daily keeps the benchmark short).
func ingestYear(b *testing.B, s *Store, keys int, step time.Duration, gen func(i int) []measurement.Measurement) int {
	ctx := context.Background()
	perDay := int(24 * time.Hour / step)
	total := 0
	for day := 0; day < 365; day++ {
		var ms []measurement.Measurement
		for i := day * perDay; i < (day+1)*perDay; i++ {
			ms = append(ms, gen(i)...)
		}
		if err := s.Append(ctx, ms); err != nil {
			b.Fatal(err)
		}
		total += len(ms)
		if err := s.Seal(); err != nil {
			b.Fatal(err)
		}
	}
	return total
}

// chunkBytes sums keys and values of all chunks.
func chunkBytes(s *Store) (int64, int) {
	var n int64
	var c int
	s.db.View(func(tx *bolt.Tx) error {
		return forEachChunk(tx, func(k, v []byte) error {
			n += int64(len(k) + len(v))
			c++
			return nil
		})
	})
	return n, c
}

// BenchmarkBytesPerPoint reports stored bytes per point after sealing for a
// year of realistic sensor data: chunk bytes (keys+values) and bbolt pages
// in use (what DiskUsage and the budget count).
func BenchmarkBytesPerPoint(b *testing.B) {
	for _, nser := range []int{20, 200} {
		b.Run(fmt.Sprintf("meter-15min-1y-%dseries", nser), func(b *testing.B) { benchMeterYear(b, nser) })
	}
	for _, bc := range []struct {
		res    time.Duration
		double bool // every 100th uplink arrives twice within a second, the second with other values
	}{{time.Second, false}, {time.Millisecond, false}, {time.Second, true}} {
		res := bc.res
		name := "road-10min-1y-4stations-res=" + res.String()
		if bc.double {
			name += "-1pct-double"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				s := openTest(b, Options{SealInterval: time.Hour * 1000, TimeResolution: res})
				rng := rand.New(rand.NewPCG(2, 2))
				const nst = 4
				n := 365 * 144
				type st struct{ surf, air, hum []float64 }
				sts := make([]st, nst)
				for k := range sts {
					sts[k] = st{roadSeries(rng, n, 3), roadSeries(rng, n, 4), roadSeries(rng, n, 80)}
				}
				// Receive time: the station's own 10-min timer, plus a few ms of
				// jitter, truncated to the store's 1 ms resolution.
				jit := make([][]time.Duration, nst)
				for k := range jit {
					jit[k] = make([]time.Duration, n)
					for j := range jit[k] {
						jit[k][j] = time.Duration(k)*7*time.Second + time.Duration(rng.IntN(20000))*time.Microsecond
					}
				}
				pts := ingestYear(b, s, nst*3, 10*time.Minute, func(i int) []measurement.Measurement {
					var ms []measurement.Measurement
					for k := range sts {
						at := t0.Add(time.Duration(i)*10*time.Minute + jit[k][i])
						dev := fmt.Sprintf("road%02d", k)
						ms = append(ms,
							meas(dev, measurement.RoadSurfaceTemperature, 0, sts[k].surf[i], at),
							meas(dev, measurement.AirTemperature, 0, sts[k].air[i], at),
							meas(dev, measurement.RelativeHumidity, 0, sts[k].hum[i], at))
						if bc.double && i%100 == 7 {
							// Kept beside the first with its millisecond.
							at2 := at.Add(300 * time.Millisecond)
							next := func(v float64) float64 { return math.Round(v*100+1) / 100 } // still 0.01 resolution
							ms = append(ms,
								meas(dev, measurement.RoadSurfaceTemperature, 0, next(sts[k].surf[i]), at2),
								meas(dev, measurement.AirTemperature, 0, next(sts[k].air[i]), at2),
								meas(dev, measurement.RelativeHumidity, 0, next(sts[k].hum[i]), at2))
						}
					}
					return ms
				})
				reportBytes(b, s, pts)
			}
		})
	}
}

// benchMeterYear reports the bytes per point of a year of nser meters.
func benchMeterYear(b *testing.B, nser int) {
	for i := 0; i < b.N; i++ {
		s := openTest(b, Options{SealInterval: time.Hour * 1000})
		rng := rand.New(rand.NewPCG(1, 1))
		vals := make([][]float64, nser)
		for k := range vals {
			vals[k] = meterSeries(rng, 35040)
		}
		pts := ingestYear(b, s, nser, 15*time.Minute, func(i int) []measurement.Measurement {
			ms := make([]measurement.Measurement, nser)
			at := t0.Add(time.Duration(i) * 15 * time.Minute)
			for k := range ms {
				ms[k] = meas(fmt.Sprintf("meter%03d", k), measurement.EnergyActiveImport, 0, vals[k][i], at)
			}
			return ms
		})
		reportBytes(b, s, pts)
	}
}

func reportBytes(b *testing.B, s *Store, pts int) {
	cb, chunks := chunkBytes(s)
	b.ReportMetric(float64(cb)/float64(pts), "chunkB/point")
	b.ReportMetric(float64(s.DiskUsage())/float64(pts), "diskB/point")
	b.ReportMetric(float64(pts)/float64(chunks), "points/chunk")
	// What du says: pages freed by seals stay in bbolt's file for reuse.
	var alloc int64
	_ = filepath.WalkDir(s.opts.Dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				if st, ok := fi.Sys().(*syscall.Stat_t); ok {
					alloc += st.Blocks * 512
				}
			}
		}
		return nil
	})
	b.ReportMetric(float64(alloc)/float64(pts), "duB/point")
	s.db.View(func(tx *bolt.Tx) error {
		var alloc int
		for _, name := range [][]byte{bucketChunks, bucketCold, bucketColdIndex, bucketHot} {
			st := tx.Bucket(name).Stats()
			alloc += st.BranchAlloc + st.LeafAlloc
		}
		b.ReportMetric(float64(alloc)/float64(pts), "pageB/point")
		return nil
	})
}

func procWriteBytes() (int64, bool) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// BenchmarkDeviceWrites measures bytes written to the block device per
// point (Linux /proc/self/io write_bytes) at a realistic rate: 300
// road stations x 3 values every 10 min is ~1.5 uplinks/s; we run 20
// uplinks/s of 3 points for 3 s (more fsyncs per point would only lower
// it) with a 200 ms group commit, then seal 15 minutes' worth of
// such data as the daemon does every SealInterval.
func BenchmarkDeviceWrites(b *testing.B) {
	if _, ok := procWriteBytes(); !ok {
		b.Skip("no /proc/self/io")
	}
	for i := 0; i < b.N; i++ {
		s := openTest(b, Options{Config: Config{CommitInterval: 200 * time.Millisecond}, SealInterval: time.Hour})
		ctx := context.Background()
		w0, _ := procWriteBytes()
		tick := time.NewTicker(50 * time.Millisecond)
		pts := 0
		var wg sync.WaitGroup
		deadline := time.Now().Add(3 * time.Second)
		for n := 0; time.Now().Before(deadline); n++ {
			<-tick.C
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				at := t0.Add(time.Duration(n) * time.Second)
				dev := fmt.Sprintf("road%03d", n%300)
				if err := s.Append(ctx, []measurement.Measurement{
					meas(dev, measurement.RoadSurfaceTemperature, 0, float64(n%500)/100, at),
					meas(dev, measurement.AirTemperature, 0, float64(n%400)/100, at),
					meas(dev, measurement.RelativeHumidity, 0, float64(n%9000)/100, at)}); err != nil {
					b.Error(err)
				}
			}(n)
			pts += 3
		}
		tick.Stop()
		wg.Wait()
		w1, _ := procWriteBytes()
		b.ReportMetric(float64(w1-w0)/float64(pts), "walDevB/point")

		// Seal: 15 min of 300 stations x 3 values at 10-min interval
		// (1.5 uplinks per station per seal) onto series that already
		// have chunks.
		s2 := openTest(b, Options{SealInterval: time.Hour})
		rng := rand.New(rand.NewPCG(3, 3))
		var sealPts int
		var sealBytes int64
		for round := 0; round < 8; round++ {
			var ms []measurement.Measurement
			for st := 0; st < 300; st++ {
				for k := 0; k < 2; k++ {
					at := t0.Add(time.Duration(round*2+k) * 10 * time.Minute)
					dev := fmt.Sprintf("road%03d", st)
					ms = append(ms,
						meas(dev, measurement.RoadSurfaceTemperature, 0, float64(rng.IntN(500))/100, at),
						meas(dev, measurement.AirTemperature, 0, float64(rng.IntN(500))/100, at),
						meas(dev, measurement.RelativeHumidity, 0, float64(rng.IntN(9000))/100, at))
				}
			}
			if err := s2.Append(ctx, ms); err != nil {
				b.Fatal(err)
			}
			a, _ := procWriteBytes()
			if err := s2.Seal(); err != nil {
				b.Fatal(err)
			}
			c, _ := procWriteBytes()
			if round > 0 { // the first seal creates the series
				sealBytes += c - a
				sealPts += len(ms)
			}
		}
		b.ReportMetric(float64(sealBytes)/float64(sealPts), "sealDevB/point")
	}
}

// BenchmarkQueryYearMonthlyIncrease aggregates one year of 15-minute
// readings of 200 meters per calendar month (increase), the energy report's
// query.
func BenchmarkQueryYearMonthlyIncrease(b *testing.B) {
	s := openTest(b, Options{SealInterval: time.Hour * 1000, SegmentSize: 64 << 20})
	rng := rand.New(rand.NewPCG(4, 4))
	const nser = 200
	vals := make([][]float64, nser)
	for k := range vals {
		vals[k] = meterSeries(rng, 35040)
	}
	ctx := context.Background()
	keys := ingestMetersWeekly(b, s, nser, func(k, i int) float64 { return vals[k][i] })
	bounds := MonthBounds(t0, t0.AddDate(1, 0, 0), time.UTC)
	b.ResetTimer()
	for b.Loop() {
		res, err := s.Aggregate(ctx, AggregateQuery{Keys: keys, Bounds: bounds})
		if err != nil {
			b.Fatal(err)
		}
		if len(res) != nser || len(res[0].Buckets) != 12 {
			b.Fatalf("got %d series", len(res))
		}
	}
	b.ReportMetric(float64(nser*35040), "points/op")
}
