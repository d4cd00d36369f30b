package network

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/loraedge/loraedge/internal/device"
)

// crash opens a server on a copy of the state file taken while the
// running one still has it open: what a power cut leaves on disk.
func (e *env) crash() {
	e.t.Helper()
	b, err := os.ReadFile(e.path)
	require.NoError(e.t, err)
	e.path = filepath.Join(e.t.TempDir(), "after-crash.db")
	require.NoError(e.t, os.WriteFile(e.path, b, 0o600))
	e.opts.StatePath = e.path
	e.open()
}

// dataDown decodes the i-th downlink sent and returns its FPort (0: none)
// and whether it is confirmed.
func (e *env) dataDown(d device.Device, i int) (uint8, bool) {
	e.t.Helper()
	dls := e.tx.all()
	require.Greater(e.t, len(dls), i)
	phy, mac := decodeDown(e.t, dls[i].PHYPayload, d.NwkSKey, d.AppSKey)
	if mac.FPort == nil {
		return 0, false
	}
	return *mac.FPort, phy.MHDR.MType == lorawan.ConfirmedDataDown
}

// TestDownlinkQueueSurvivesRestart: items queued before a clean restart
// and before a crash are sent after it, in order, and the ids given out
// afterwards are new.
func TestDownlinkQueueSurvivesRestart(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(map[bool]string{false: "restart", true: "crash"}[crash], func(t *testing.T) {
			d := abpDevice(1)
			e := newEnv(t, []device.Device{d}, nil)
			id1, err := e.s.EnqueueDownlink(d.DevEUI, 20, []byte{0x01}, false)
			require.NoError(t, err)
			id2, err := e.s.EnqueueDownlink(d.DevEUI, 21, []byte{0x02}, false)
			require.NoError(t, err)
			if crash {
				e.crash()
			} else {
				e.restart()
			}
			id3, err := e.s.EnqueueDownlink(d.DevEUI, 22, []byte{0x03}, false)
			require.NoError(t, err)
			assert.NotContains(t, []string{id1, id2}, id3, "ids stay unique across restarts")
			assert.Equal(t, 3, e.queueLen(d.DevEUI))
			for i, want := range []uint8{20, 21, 22} {
				e.deliver(abpFrame(d, uint32(i+1), []byte{1}).bytes(t))
				fport, _ := e.dataDown(d, i)
				assert.Equal(t, want, fport)
			}
			// Popped items are gone from disk too: a restart sends nothing.
			e.restart()
			e.deliver(abpFrame(d, 4, []byte{1}).bytes(t))
			assert.Len(t, e.tx.all(), 3)
		})
	}
}

// TestConfirmedDownlinkRetriedAfterCrash: a confirmed item sent but not
// acknowledged before a crash is sent again after it, and the device's
// ACK is reported against its id.
func TestConfirmedDownlinkRetriedAfterCrash(t *testing.T) {
	d := abpDevice(1)
	rec := &outcomes{}
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.ConfirmedRetries = 2; o.Outcomes = rec })
	id, err := e.s.EnqueueDownlink(d.DevEUI, 3, []byte{0x07}, true)
	require.NoError(t, err)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	fport, confirmed := e.dataDown(d, 0)
	require.Equal(t, uint8(3), fport)
	require.True(t, confirmed)
	e.crash()
	e.deliver(abpFrame(d, 2, []byte{1}).bytes(t)) // no ACK bit: retried
	fport, confirmed = e.dataDown(d, 1)
	assert.Equal(t, uint8(3), fport)
	assert.True(t, confirmed)
	up := abpFrame(d, 3, []byte{1})
	up.ack = true
	e.deliver(up.bytes(t))
	assert.Equal(t, []string{OutcomeSent, OutcomeSent, OutcomeAcknowledged}, rec.states(id))
	assert.Zero(t, e.queueLen(d.DevEUI))
	e.restart()
	assert.Zero(t, e.queueLen(d.DevEUI), "the ACK's pop is stored")
}

// TestDownlinkExpiry: an item whose expiry passed is never sent, counted
// and reported, both when the device's uplink comes and when it stays
// silent; a confirmed item is not retried after its expiry.
func TestDownlinkExpiry(t *testing.T) {
	d := abpDevice(1)
	rec := &outcomes{}
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.ConfirmedRetries = 3; o.Outcomes = rec })
	expired := func() float64 { return testutil.ToFloat64(e.s.m.downlinks.WithLabelValues("data", resultExpired)) }

	_, err := e.s.EnqueueDownlinkExpiring(d.DevEUI, 5, []byte{1}, false, -time.Second)
	require.ErrorIs(t, err, ErrExpired)

	stale, err := e.s.EnqueueDownlinkExpiring(d.DevEUI, 5, []byte{1}, false, time.Minute)
	require.NoError(t, err)
	fresh, err := e.s.EnqueueDownlinkExpiring(d.DevEUI, 6, []byte{2}, false, time.Hour)
	require.NoError(t, err)
	e.restart() // the expiry is stored with the item
	e.clock.Advance(2 * time.Minute)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	fport, _ := e.dataDown(d, 0)
	assert.Equal(t, uint8(6), fport, "the stale item is skipped")
	assert.Len(t, e.tx.all(), 1)
	assert.Equal(t, []string{OutcomeExpired}, rec.states(stale))
	assert.Equal(t, []string{OutcomeSent}, rec.states(fresh))
	assert.Equal(t, float64(1), expired())

	// A silent device: the sweep on the loop's tick reports it.
	silent, err := e.s.EnqueueDownlinkExpiring(d.DevEUI, 7, []byte{3}, false, time.Minute)
	require.NoError(t, err)
	e.clock.Advance(time.Minute + time.Second)
	e.s.sendClassC(e.ctx)
	assert.Equal(t, []string{OutcomeExpired}, rec.states(silent))
	assert.Equal(t, float64(2), expired())
	e.restart()
	assert.Zero(t, e.queueLen(d.DevEUI), "the expired item is deleted from disk")

	// Confirmed, sent once, then its expiry passes: not sent again.
	conf, err := e.s.EnqueueDownlinkExpiring(d.DevEUI, 8, []byte{4}, true, time.Minute)
	require.NoError(t, err)
	e.deliver(abpFrame(d, 2, []byte{1}).bytes(t))
	require.Len(t, e.tx.all(), 2)
	e.clock.Advance(2 * time.Minute)
	e.deliver(abpFrame(d, 3, []byte{1}).bytes(t))
	assert.Len(t, e.tx.all(), 2, "no retry of a stale command")
	assert.Equal(t, []string{OutcomeSent, OutcomeExpired}, rec.states(conf))
	rec.mu.Lock()
	last := rec.got[len(rec.got)-1]
	rec.mu.Unlock()
	assert.Contains(t, last.Reason, "not acknowledged before")
	assert.Equal(t, float64(1), expired(), "counted since the last restart")
}

// TestDownlinkQueueBoundAfterReload: a full queue is still full after a
// restart.
func TestDownlinkQueueBoundAfterReload(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, func(o *Options) { o.DownlinkQueueSize = 2 })
	for i := range 2 {
		_, err := e.s.EnqueueDownlink(d.DevEUI, uint8(10+i), []byte{1}, false)
		require.NoError(t, err)
	}
	e.restart()
	_, err := e.s.EnqueueDownlink(d.DevEUI, 12, []byte{1}, false)
	require.ErrorIs(t, err, ErrQueueFull)
	assert.Equal(t, float64(1), testutil.ToFloat64(e.s.m.queueDropped))
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	_, err = e.s.EnqueueDownlink(d.DevEUI, 12, []byte{1}, false)
	require.NoError(t, err, "room again after one was sent")
}

// TestClassCQueueAfterRestart: a Class C device's stored item goes out on
// the loop's next Class C round after a restart, without an uplink.
func TestClassCQueueAfterRestart(t *testing.T) {
	d := abpDevice(1)
	d.Class = device.ClassC
	e := newEnv(t, []device.Device{d}, nil)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t), rx(gw3, 2, 10))
	_, err := e.s.EnqueueDownlink(d.DevEUI, 31, []byte{0xc2}, false)
	require.NoError(t, err)
	e.crash()
	e.clock.Advance(classCHoldoff)
	e.s.sendClassC(e.ctx)
	dls := e.tx.all()
	require.Len(t, dls, 1)
	assert.True(t, dls[0].Immediately)
	assert.Equal(t, gw3, dls[0].GatewayID)
	fport, _ := e.dataDown(d, 0)
	assert.Equal(t, uint8(31), fport)
}

func (e *env) queueLen(eui lorawan.EUI64) int {
	e.s.mu.RLock()
	defer e.s.mu.RUnlock()
	return len(e.s.queues[eui])
}

// TestDownlinkIDsAfterUpgrade: a database with sessions from a version
// whose queue lived in memory gives out ids that version never gave out,
// and the sequence is kept from then on; a fresh one starts at 1.
func TestDownlinkIDsAfterUpgrade(t *testing.T) {
	d := abpDevice(1)
	e := newEnv(t, []device.Device{d}, nil)
	id, err := e.s.EnqueueDownlink(d.DevEUI, 1, nil, false)
	require.NoError(t, err)
	assert.Equal(t, d.DevEUI.String()+"-1", id)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t)) // a session, and the item sent
	require.NoError(t, e.s.state.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDownlinkMeta).Delete(keyDownlinkSeq) // as written before the upgrade
	}))
	e.restart()
	id, err = e.s.EnqueueDownlink(d.DevEUI, 1, nil, false)
	require.NoError(t, err)
	want := fmt.Sprintf("%s-%d", d.DevEUI, e.clock.Now().UnixMilli()+1)
	assert.Equal(t, want, id)
	e.restart()
	id, err = e.s.EnqueueDownlink(d.DevEUI, 1, nil, false)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%s-%d", d.DevEUI, e.clock.Now().UnixMilli()+2), id, "the sequence goes on")
}

// BenchmarkEnqueueDownlink measures queueing one durable item (one fsync'd
// bbolt transaction).
func BenchmarkEnqueueDownlink(b *testing.B) {
	d := abpDevice(1)
	e := newEnv(b, []device.Device{d}, func(o *Options) { o.DownlinkQueueSize = 1 << 30 })
	for b.Loop() {
		if _, err := e.s.EnqueueDownlinkExpiring(d.DevEUI, 20, []byte{0}, true, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
