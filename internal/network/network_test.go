package network

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/uplink"
)

func TestRestartKeepsCounters(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	old := abpFrame(d, 41, []byte{1}).bytes(t)
	e.deliver(old)
	f := abpFrame(d, 42, []byte{2})
	f.confirmed = true
	last := f.bytes(t)
	e.deliver(last)
	require.Len(t, e.tx.all(), 1)

	e.restart()
	info, ok := e.s.Session(d.DevEUI)
	require.True(t, ok)
	assert.Equal(t, uint32(42), info.FCntUp)
	assert.Equal(t, uint32(1), info.NFCntDown)

	e.deliver(old)
	assert.Equal(t, float64(1), e.uplinks(resultReplay))
	sent := len(e.tx.all())
	e.deliver(last)
	assert.Equal(t, float64(1), e.uplinks(resultRetransmission))
	// Whether the copy before the restart was stored is unknown, so its
	// retransmission gets no ACK (and spends no downlink counter).
	assert.Len(t, e.tx.all(), sent, "no ACK for a retransmission of an uplink from before the restart")
	f = abpFrame(d, 43, []byte{3})
	f.confirmed = true
	e.deliver(f.bytes(t))
	assert.Equal(t, float64(1), e.uplinks(resultOK))
	dls := e.tx.all()
	_, mac := decodeDown(t, dls[len(dls)-1].PHYPayload, d.NwkSKey, d.AppSKey)
	assert.Equal(t, uint32(1), mac.FHDR.FCnt, "NFCntDown continues after restart (a reset would give 0)")
}

// TestCommittedBeforeHandedOn reads the bbolt file from inside the handler:
// the counter of the uplink being handed on must already be there.
func TestCommittedBeforeHandedOn(t *testing.T) {
	d := abpDevice(1)
	db, err := bolt.Open(t.TempDir()+"/shared.db", 0o600, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	st, err := NewState(db)
	require.NoError(t, err)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.State = st; o.StatePath = "" })
	var stored []uint32
	e.up.hook = func(up uplink.Uplink) {
		require.NoError(t, db.View(func(tx *bolt.Tx) error {
			var ss session
			if err := ss.unmarshal(d.DevEUI[:], tx.Bucket(bucketSessions).Get(d.DevEUI[:])); err != nil {
				return err
			}
			stored = append(stored, ss.FCntUp)
			return nil
		}))
	}
	for _, fc := range []uint32{1, 2} {
		e.s.HandleFrame(e.ctx, Frame{PHYPayload: abpFrame(d, fc, []byte{1}).bytes(t), RxInfo: rx(gw1, 1, 1)})
	}
	e.flush() // both in one batch: one transaction
	assert.Equal(t, []uint32{2, 2}, stored)
}

func TestInputQueueDrops(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.QueueSize = 2 })
	for fc := range uint32(5) {
		e.s.HandleFrame(e.ctx, Frame{PHYPayload: abpFrame(d, fc, []byte{1}).bytes(t), RxInfo: rx(gw1, 1, 1)})
	}
	e.flush()
	assert.Equal(t, float64(3), e.uplinks(resultDropped))
	assert.Equal(t, float64(2), e.uplinks(resultOK))
}

// TestRunShutdownFlushes stops the loop while a frame is still inside its
// dedup window: it is processed, not lost.
func TestRunShutdownFlushes(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.DedupWindow = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx) }()
	e.s.HandleFrame(ctx, Frame{PHYPayload: abpFrame(d, 1, []byte{1}).bytes(t), RxInfo: rx(gw1, 1, 1)})
	time.Sleep(10 * time.Millisecond) // usually lets the loop take it into the window; the drain covers the rest
	cancel()
	require.NoError(t, <-done)
	assert.Len(t, e.up.all(), 1)
	info, ok := e.s.Session(d.DevEUI)
	require.True(t, ok)
	assert.Equal(t, uint32(1), info.FCntUp)
}

// TestCommitFailureNotHandedOn closes the bbolt file under the server: the
// frame must be counted as a store error and neither handed on nor answered.
func TestCommitFailureNotHandedOn(t *testing.T) {
	d := abpDevice(1)
	db, err := bolt.Open(t.TempDir()+"/shared.db", 0o600, nil)
	require.NoError(t, err)
	st, err := NewState(db)
	require.NoError(t, err)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.State = st; o.StatePath = "" })
	require.NoError(t, db.Close())
	f := abpFrame(d, 1, []byte{1})
	f.confirmed = true
	e.deliver(f.bytes(t))
	assert.Equal(t, float64(1), e.uplinks(resultStoreError))
	assert.Empty(t, e.up.all())
	assert.Empty(t, e.tx.all())
}
