package ingest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/uplink"
)

// syncTracker wraps the real store and counts the measurements it reported
// synced, so a durability callback can be checked against it; fail makes
// the next appends fail after the store's commit would have.
type syncTracker struct {
	inner  Appender
	mu     sync.Mutex
	synced int
	fail   error
}

func (a *syncTracker) AppendAsync(ctx context.Context, ms []measurement.Measurement, done func(error)) error {
	return a.inner.AppendAsync(ctx, ms, func(err error) {
		a.mu.Lock()
		if err == nil && a.fail != nil {
			err = a.fail
		}
		if err == nil {
			a.synced += len(ms)
		}
		a.mu.Unlock()
		done(err)
	})
}

func (a *syncTracker) syncedCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.synced
}

// report is one durability callback as the network layer would see it.
type report struct {
	err    error
	synced int // measurements synced when it was called
}

func TestDurabilityReported(t *testing.T) {
	f := newFixture(t, 16)
	tr := &syncTracker{inner: f.store}
	ing, err := New(Options{Devices: f.ing.opts.Devices, Profiles: f.ing.profiles.Load(), Store: tr, QueueSize: 2})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)

	reports := make(chan report, 8)
	done := func(err error) { reports <- report{err: err, synced: tr.syncedCount()} }
	at := time.Date(2026, 1, 12, 23, 0, 0, 0, time.UTC)
	good := uplink.Uplink{DevEUI: roadEUI, FPort: 10, Payload: roadPayload(t), Time: at}
	require.NoError(t, ing.HandleUplinkDurable(ctx, good, done))
	require.NoError(t, ing.HandleUplinkDurable(ctx, uplink.Uplink{DevEUI: noProf, FPort: 1, Payload: []byte{1}, Time: at}, done))
	// The queue (2) is full: refused, and done is never called for it.
	require.ErrorIs(t, ing.HandleUplinkDurable(ctx, good, func(error) { t.Error("done called for a refused uplink") }), ErrQueueFull)
	go func() { stopped <- ing.Run(ctx) }()

	got := []report{<-reports, <-reports}
	// The uplink without a profile has nothing to store: reported at once,
	// before the batch's fsync.
	assert.Equal(t, report{}, got[0], "nothing to store, nothing to wait for")
	assert.NoError(t, got[1].err)
	assert.Equal(t, 6, got[1].synced, "reported only after its six measurements were synced")

	tr.mu.Lock()
	tr.fail = errors.New("fsync failed")
	tr.mu.Unlock()
	good.Time = at.Add(time.Hour)
	require.NoError(t, ing.HandleUplinkDurable(ctx, good, done))
	r := <-reports
	require.ErrorContains(t, r.err, "fsync failed", "a lost batch is reported lost")
	cancel()
	require.NoError(t, <-stopped)
	assert.Empty(t, reports, "each callback exactly once")
}
