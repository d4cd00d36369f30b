package sensorthings

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// BenchmarkReplay delivers a backlog of 20,000 observations of 2 devices x
// 2 quantities (an outage's backlog) to the in-process server, with the
// check-before-resend of the first batch: observations per second.
func BenchmarkReplay(b *testing.B) {
	const n = 20000
	for b.Loop() {
		b.StopTimer()
		srv := testserver.StartSensorThings(b, "1.1")
		st := openStore(b, b.TempDir())
		for i := 0; i < n; i += 1000 {
			require.NoError(b, st.Append(context.Background(), batch(i, 1000)))
		}
		cfg := testConfig(srv)
		cfg.BatchSize = 1000
		b.StartTimer()
		start := time.Now()
		stop := runSink(b, st, cfg, nil, newRegistry().device)
		for totalObservations(srv) < n {
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(n/time.Since(start).Seconds(), "obs/s")
		b.StopTimer()
		stop()
		srv.Stop()
		st.Close()
		b.StartTimer()
	}
}
