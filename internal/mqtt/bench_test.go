package mqtt

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
)

// BenchmarkReplayAfterOutage measures how fast the sink catches up with a
// backlog: the log holds records of 10 points (an outage's worth), the
// sink starts and the clock stops when the cursor has reached the end,
// i.e. every point is published and acknowledged by Mosquitto (QoS 1).
func BenchmarkReplayAfterOutage(b *testing.B) {
	broker := startBroker(b)
	const records, per = 2000, 10
	var elapsed time.Duration
	for range b.N {
		st := openStore(b, b.TempDir())
		cur, err := st.OpenCursor(CursorName) // so the backlog is kept for it
		require.NoError(b, err)
		fill(b, st.Append, records, per)
		s, err := New(Options{Config: testConfig(broker.URL()), Log: st})
		require.NoError(b, err)
		start := time.Now()
		stop := runSink(b, s)
		for cur.Position() < records {
			time.Sleep(time.Millisecond)
		}
		elapsed += time.Since(start)
		require.NoError(b, stop())
		cur.Close()
		require.NoError(b, st.Close())
	}
	b.ReportMetric(float64(records*per*b.N)/elapsed.Seconds(), "points/s")
	b.ReportMetric(0, "ns/op")
}

// fill appends records concurrently so the store's group commit keeps
// the setup short.
func fill(b *testing.B, appendFn func(context.Context, []measurement.Measurement) error, records, per int) {
	t0 := time.Date(2026, 1, 12, 18, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	const workers = 50
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := w; r < records; r += workers {
				ms := make([]measurement.Measurement, per)
				for i := range ms {
					ms[i] = measurement.Measurement{Device: devA, Quantity: measurement.PulseCount, Channel: i, Value: float64(r), Unit: "1",
						Time: t0.Add(time.Duration(r) * time.Minute)}
				}
				if err := appendFn(context.Background(), ms); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
