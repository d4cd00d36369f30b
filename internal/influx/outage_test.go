package influx

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

// ingester appends records of unique points to the current store until
// stopped; swap replaces the store (a daemon restart) in between.
type ingester struct {
	mu       sync.RWMutex
	st       *store.Store
	appended atomic.Int64
	stop     chan struct{}
	done     chan struct{}
}

func startIngest(t *testing.T, st *store.Store, perRecord int, every time.Duration) *ingester {
	in := &ingester{st: st, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(in.done)
		i := 0
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-in.stop:
				return
			case <-tick.C:
			}
			ms := make([]measurement.Measurement, perRecord)
			for k := range ms {
				// Unique whole seconds (the store's time resolution): a
				// lost point cannot hide behind another.
				ms[k] = measurement.Measurement{Device: fmt.Sprintf("00000000000000%02x", k%8), Quantity: measurement.AirTemperature,
					Value: float64(i), Unit: "degC", Time: t0.Add(time.Duration(i) * time.Second), Meta: map[string]string{"site": "s1"}}
				i++
			}
			in.mu.RLock()
			err := in.st.Append(context.Background(), ms)
			in.mu.RUnlock()
			if err != nil {
				t.Errorf("append: %v", err)
				return
			}
			in.appended.Add(int64(perRecord))
		}
	}()
	return in
}

func (in *ingester) swap(f func(*store.Store) *store.Store) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.st = f(in.st)
}

func (in *ingester) finish() int64 {
	close(in.stop)
	<-in.done
	return in.appended.Load()
}

// Ingest goes on while InfluxDB is killed and restarted, and the sink and
// store are restarted during the outage: afterwards every appended point is
// in InfluxDB exactly once.
func testOutage(t *testing.T, db *testserver.InfluxDB) {
	dir := t.TempDir()
	st := openStore(t, dir)
	reg := prometheus.NewRegistry()
	_, stopSink := runSink(t, st, testConfig(db), reg)
	in := startIngest(t, st, 20, 5*time.Millisecond)

	time.Sleep(500 * time.Millisecond)
	db.Stop()
	t.Log("influxd killed")
	time.Sleep(700 * time.Millisecond)
	retries := metricValue(t, reg, "loraedge_influx_write_retries_total", "network")
	assert.Positive(t, retries, "writes failed during the outage")
	assert.Positive(t, metricValue(t, reg, "loraedge_influx_lag_seconds", ""), "lag shows the backlog")

	// Restart sink and store during the outage.
	stopSink()
	in.swap(func(old *store.Store) *store.Store {
		require.NoError(t, old.Close())
		st = openStore(t, dir)
		return st
	})
	t.Cleanup(func() { st.Close() })
	_, stopSink = runSink(t, st, testConfig(db), reg)
	time.Sleep(500 * time.Millisecond)

	start := time.Now()
	db.Start()
	t.Logf("influxd back after %s", time.Since(start))
	time.Sleep(500 * time.Millisecond)
	appended := in.finish()
	require.Positive(t, appended)

	n := waitCount(t, db, "true", appended, 30*time.Second)
	require.Equal(t, appended, n, "points in InfluxDB == points appended")
	retries = metricValue(t, reg, "loraedge_influx_write_retries_total", "network")
	assert.Positive(t, retries, "the restarted sink retried too")
	require.Eventually(t, func() bool { return metricValue(t, reg, "loraedge_influx_lag_seconds", "") == 0 }, 5*time.Second, 10*time.Millisecond)
	stopSink()
	assert.Equal(t, appended, fluxCount(t, db, "true"))
	t.Logf("%d points appended and delivered exactly once; restarted sink retried %.0f times", appended, retries)
}
