package influx

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

// BenchmarkReplay measures how fast the sink drains a backlog after an
// outage: the log holds 200,000 points (records of 50, as ingest batches
// look under load) and InfluxDB is back.
//
//	go test ./internal/influx/ -run '^$' -bench Replay -benchtime 1x
func BenchmarkReplay(b *testing.B) {
	const points, perRecord, devices = 200_000, 50, 1000
	srv := testserver.StartInfluxDB(b)
	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		b.StopTimer()
		db := *srv
		db.Database = fmt.Sprintf("bench%d", i)
		db.Bucket = db.Database + "/autogen"
		require.NoError(b, srv.Query1x("CREATE DATABASE "+db.Database))
		st, err := store.Open(store.Options{Dir: b.TempDir(), Config: store.Config{CommitInterval: 5 * time.Millisecond}})
		require.NoError(b, err)
		// The cursor exists before the backlog, as in a daemon whose
		// InfluxDB is down: the log keeps what the sink has not sent.
		s, err := New(st, testConfig(&db), Options{GatewayID: "gw-bench"})
		require.NoError(b, err)
		fillBacklog(b, st, points, perRecord, devices)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- s.Run(ctx) }()
		deadline := start.Add(2 * time.Minute)
		for testutil.ToFloat64(s.m.sent) < points {
			if time.Now().After(deadline) {
				b.Fatalf("only %v of %d points sent", testutil.ToFloat64(s.m.sent), points)
			}
			time.Sleep(2 * time.Millisecond)
		}
		total += time.Since(start)
		b.StopTimer()
		cancel()
		require.NoError(b, <-done)
		require.NoError(b, st.Close())
		require.Equal(b, int64(points), fluxCount(b, &db, "true"))
	}
	b.ReportMetric(float64(points*b.N)/total.Seconds(), "points/s")
}

// fillBacklog appends points in records of perRecord from 8 writers, so
// that they share fsyncs.
func fillBacklog(b *testing.B, st *store.Store, points, perRecord, devices int) {
	b.Helper()
	const writers = 8
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			var err error
			for r := w; r*perRecord < points && err == nil; r += writers {
				ms := make([]measurement.Measurement, perRecord)
				for k := range ms {
					i := r*perRecord + k
					ms[k] = measurement.Measurement{Device: fmt.Sprintf("70b3d5e75e%06x", i%devices), Quantity: measurement.AirTemperature,
						Value: float64(i%400) / 10, Unit: "degC", Time: t0.Add(time.Duration(i/devices) * time.Minute), Meta: map[string]string{"site": "s1"}}
				}
				err = st.Append(context.Background(), ms)
			}
			errs <- err
		}()
	}
	for range writers {
		require.NoError(b, <-errs)
	}
}
