package sensorthings

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

// Ingest goes on while the server is stopped and started again, and the
// sink and store are restarted during the outage: afterwards every
// appended point is on the server exactly once, and no entity twice.
func TestOutage(t *testing.T) {
	srv := testserver.StartSensorThings(t, "1.1")
	srv.User, srv.Password = "loraedge", "s3cret"
	dir := t.TempDir()
	st := openStore(t, dir)
	reg := prometheus.NewRegistry()
	devices := newRegistry().device
	stop := runSink(t, st, testConfig(srv), reg, devices)

	var mu sync.RWMutex
	var appended atomic.Int64
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i += 8 {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			mu.RLock()
			err := st.Append(context.Background(), batch(i, 8))
			mu.RUnlock()
			if err != nil {
				t.Errorf("append: %v", err)
				return
			}
			appended.Add(8)
		}
	}()

	time.Sleep(300 * time.Millisecond)
	entities := entityCounts(srv)
	srv.Stop()
	t.Log("server stopped")
	time.Sleep(400 * time.Millisecond)
	assert.Positive(t, metricValue(t, reg, "loraedge_sensorthings_retries_total", "network"), "requests failed during the outage")
	assert.Positive(t, metricValue(t, reg, "loraedge_sensorthings_lag_seconds", ""), "lag shows the backlog")

	stop() // the daemon restarts during the outage
	mu.Lock()
	require.NoError(t, st.Close())
	st = openStore(t, dir)
	mu.Unlock()
	defer func(st *store.Store) { st.Close() }(st)
	stop = runSink(t, st, testConfig(srv), reg, devices)
	time.Sleep(300 * time.Millisecond)
	srv.Start()
	t.Log("server back")
	time.Sleep(300 * time.Millisecond)
	close(quit)
	<-done
	n := int(appended.Load())
	require.Positive(t, n)

	waitObservations(t, srv, n)
	for k, c := range observationKeys(t, srv) {
		require.Equal(t, 1, c, k)
	}
	assert.Equal(t, entities, entityCounts(srv), "entities not created again after the restart")
	require.Eventually(t, func() bool { return metricValue(t, reg, "loraedge_sensorthings_lag_records", "") == 0 },
		5*time.Second, 10*time.Millisecond)
	stop()
	t.Logf("%d observations appended and delivered exactly once", n)
}
