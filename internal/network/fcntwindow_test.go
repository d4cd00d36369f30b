package network

import (
	"errors"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/loraedge/loraedge/internal/device"
)

func TestFCntWindowBits(t *testing.T) {
	w := advanceWindow(fcntBits{}, 1) // 10 accepted, then 11
	bit, ok := windowBit(11, 10)
	require.True(t, ok)
	assert.True(t, w.has(bit), "the old counter is marked")
	w = advanceWindow(w, 4) // then 15: 12, 13, 14 unseen
	for _, c := range []uint32{12, 13, 14} {
		bit, ok := windowBit(15, c)
		require.True(t, ok)
		assert.False(t, w.has(bit), "%d not seen", c)
	}
	for _, c := range []uint32{10, 11} {
		bit, _ := windowBit(15, c)
		assert.True(t, w.has(bit), "%d seen", c)
	}
	_, ok = windowBit(15, 15)
	assert.False(t, ok, "the session's counter is not below it")
	_, ok = windowBit(2000, 2000-fcntWindow)
	assert.True(t, ok, "the window's last counter")
	_, ok = windowBit(2000, 2000-fcntWindow-1)
	assert.False(t, ok, "below the window")
	last := advanceWindow(fcntBits{}, fcntWindow)
	assert.True(t, last.has(fcntWindow-1), "a jump of the window's size keeps only the old counter")
	last[len(last)-1] &^= 1 << 63
	assert.Equal(t, fcntBits{}, last)
	assert.Equal(t, fcntBits{}, advanceWindow(fullWindow(), fcntWindow+1), "a longer jump forgets everything")
}

// Marks cross the bitmap's words as the counter rises by any step: each
// seen counter stays seen, each skipped one unseen, until it falls out.
func TestFCntWindowAcrossWords(t *testing.T) {
	seen := map[uint32]bool{}
	var w fcntBits
	fcnt := uint32(1)
	for _, d := range []uint32{1, 63, 64, 65, 1, 127, 200, 3, 64, 500, 7} {
		seen[fcnt] = true
		w = advanceWindow(w, d)
		fcnt += d
		for c := uint32(1); c < fcnt; c++ {
			bit, in := windowBit(fcnt, c)
			if !in {
				continue
			}
			assert.Equal(t, seen[c], w.has(bit), "counter %d below %d", c, fcnt)
		}
	}
}

// A version 1 record (64 counters) loads with everything beyond its word
// marked seen, so the larger window opens nothing that was not checked.
func TestFCntWindowRecordV1(t *testing.T) {
	db, err := bolt.Open(t.TempDir()+"/w.db", 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	ss := &session{DevEUI: lorawan.EUI64{7}, HasUp: true}
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketWindows)
		if err != nil {
			return err
		}
		rec := []byte{windowRecordV1, 0, 0, 0, 0, 0, 0, 0, 0b101, 0, 0, 0, 9}
		return b.Put(windowKey(ss.DevEUI, false), rec)
	}))
	require.NoError(t, db.View(ss.loadWindow))
	assert.True(t, ss.Window.has(0))
	assert.False(t, ss.Window.has(1), "unseen in the old window")
	assert.True(t, ss.Window.has(2))
	assert.True(t, ss.Window.has(64), "beyond the old window: seen")
	assert.True(t, ss.Window.has(fcntWindow-1))
	assert.Equal(t, []uint32{9}, ss.Undurable)

	// Written back as version 2, read the same.
	require.NoError(t, db.Update(ss.putWindow))
	back := &session{DevEUI: ss.DevEUI}
	require.NoError(t, db.View(back.loadWindow))
	assert.Equal(t, ss.Window, back.Window)
	assert.Equal(t, ss.Undurable, back.Undurable)
}

// windowEnv is a home in a county network whose handler reports
// durability when the test says so.
func windowEnv(t *testing.T) (*env, *durableHandler, device.Device) {
	t.Helper()
	d := abpDevice(7)
	e, _ := roamingEnv(t, []device.Device{d}, lorawan.EUI64{})
	h := &durableHandler{}
	e.opts.Handler = h
	e.restart()
	return e, h, d
}

// results collects what a forwarder's request hears.
type results []string

func (r *results) done(res string) { *r = append(*r, res) }

// remote hands a frame from a peer to the server and processes it.
func (e *env) remote(t *testing.T, phy []byte, late bool, r *results) {
	t.Helper()
	f := Frame{PHYPayload: phy, RxInfo: rx(gw3, 4, 0), Remote: true, Late: late, Peer: "fwd"}
	f.RxInfo.ReceivedAt = e.clock.Now().Add(-time.Minute)
	if r != nil {
		f.Done = r.done
	}
	e.s.HandleFrame(e.ctx, f)
	e.flush()
}

// settleAll reports every uplink handed on so far as durable.
func (e *env) settleAll(t *testing.T, h *durableHandler, from int) int {
	t.Helper()
	n := len(h.all())
	for i := from; i < n; i++ {
		h.durable(t, i, nil)
	}
	e.s.tick(e.ctx)
	return n
}

// A device heard by the home directly (1, 5) while a forwarder queued 2..4
// for it: the late frames are stored once each with their own reception
// time and no downlink, a second copy is a replay, a frame below the
// window too old; the window survives a restart.
func TestLateFramesInsideWindow(t *testing.T) {
	e, h, d := windowEnv(t)
	e.deliver(abpFrame(d, 1, []byte{1}).bytes(t))
	e.deliver(abpFrame(d, 5, []byte{5}).bytes(t))
	done := e.settleAll(t, h, 0)
	txBefore := len(e.tx.all())

	var r results
	e.remote(t, abpFrame(d, 3, []byte{3}).bytes(t), true, &r)
	assert.Empty(t, r, "no answer before the uplink is durable")
	done = e.settleAll(t, h, done)
	assert.Equal(t, results{ResultOK}, r)
	ups := h.all()
	require.Len(t, ups, 3)
	assert.Equal(t, uint32(3), ups[2].FCnt)
	assert.Equal(t, []byte{3}, ups[2].Payload)
	assert.True(t, ups[2].Time.Before(e.clock.Now().Add(-59*time.Second)), "stored with its reception time")
	assert.Len(t, e.tx.all(), txBefore, "no downlink for a past frame")
	info, _ := e.s.Session(d.DevEUI)
	assert.Equal(t, uint32(5), info.FCntUp, "the counter stays")

	r = nil
	e.remote(t, abpFrame(d, 3, []byte{3}).bytes(t), true, &r)
	assert.Equal(t, results{ResultReplay}, r, "seen: a replay")
	// Not from a queue but overtaken in flight by 5: the window lets it
	// in as well.
	e.remote(t, abpFrame(d, 4, []byte{4}).bytes(t), false, &r)
	done = e.settleAll(t, h, done)
	assert.Equal(t, results{ResultReplay, ResultOK}, r, "overtaken in flight: stored")
	assert.Len(t, h.all(), 4)
	e.remote(t, abpFrame(d, 4, []byte{4}).bytes(t), false, &r)
	assert.Equal(t, results{ResultReplay, ResultOK, ResultReplay}, r, "and only once")
	assert.Len(t, h.all(), 4)

	e.restart()
	r = nil
	e.remote(t, abpFrame(d, 3, []byte{3}).bytes(t), true, &r)
	e.remote(t, abpFrame(d, 2, []byte{2}).bytes(t), true, &r)
	done = e.settleAll(t, h, done)
	assert.Equal(t, results{ResultReplay, ResultOK}, r, "the window survived the restart")
	require.Len(t, h.all(), 5)

	e.deliver(abpFrame(d, 2000, []byte{100}).bytes(t))
	e.settleAll(t, h, done)
	r = nil
	e.remote(t, abpFrame(d, 2000-fcntWindow-1, []byte{1}).bytes(t), true, &r)
	assert.Equal(t, results{resultTooOld}, r)
	assert.Equal(t, 1.0, e.uplinks(resultTooOld))
	assert.Equal(t, 1.0, e.uplinks(ResultReplay), "since the restart")
}

// The window spans the 16-bit rollover of the wire counter.
func TestLateFramesAcrossRollover(t *testing.T) {
	e, h, d := windowEnv(t)
	e.deliver(abpFrame(d, 0xfffc, []byte{1}).bytes(t))
	e.deliver(abpFrame(d, 0x10002, []byte{2}).bytes(t))
	done := e.settleAll(t, h, 0)
	var r results
	for _, c := range []uint32{0xfffe, 0x10000, 0xfffe} {
		e.remote(t, abpFrame(d, c, []byte{byte(c)}).bytes(t), true, &r)
		done = e.settleAll(t, h, done)
	}
	assert.Equal(t, results{ResultOK, ResultOK, ResultReplay}, r)
	ups := h.all()
	require.Len(t, ups, 4)
	assert.Equal(t, uint32(0xfffe), ups[2].FCnt)
	assert.Equal(t, uint32(0x10000), ups[3].FCnt)
}

// A forwarder's request hears its result only once the uplink is durable;
// a re-send meanwhile waits for the same report, a failed store lets a
// re-send in again, and after a crash between the counter's commit and the
// store a re-send is handed on again rather than refused.
func TestRemoteAnswerWaitsForDurability(t *testing.T) {
	e, h, d := windowEnv(t)
	var first, again results
	phy := abpFrame(d, 1, []byte{1}).bytes(t)
	e.remote(t, phy, false, &first)
	e.remote(t, phy, false, &again)
	assert.Empty(t, first)
	assert.Empty(t, again)
	require.Len(t, h.all(), 1, "the re-send is not handed on twice")
	h.durable(t, 0, nil)
	e.s.tick(e.ctx)
	assert.Equal(t, results{ResultOK}, first)
	assert.Equal(t, results{ResultOK}, again)
	again = nil
	e.remote(t, phy, false, &again)
	assert.Equal(t, results{ResultRetransmission}, again, "stored: final")

	// The store fails: the waiter hears it, and a re-send is stored.
	var r results
	phy = abpFrame(d, 2, []byte{2}).bytes(t)
	e.remote(t, phy, false, &r)
	h.durable(t, 1, errors.New("disk full"))
	e.s.tick(e.ctx)
	assert.Equal(t, results{resultStoreError}, r)
	e.remote(t, phy, true, &r)
	require.Len(t, h.all(), 3)
	h.durable(t, 2, nil)
	e.s.tick(e.ctx)
	assert.Equal(t, results{resultStoreError, ResultOK}, r)

	// Killed after the counter's commit, before the store: the re-send
	// after the restart is handed on again.
	r = nil
	phy = abpFrame(d, 3, []byte{3}).bytes(t)
	e.remote(t, phy, false, &r)
	require.Len(t, h.all(), 4)
	e.restart()
	e.remote(t, phy, true, &r)
	require.Len(t, h.all(), 5)
	assert.Equal(t, uint32(3), h.all()[4].FCnt)
	h.durable(t, 4, nil)
	e.s.tick(e.ctx)
	assert.Equal(t, results{ResultOK}, r)
	e.restart()
	r = nil
	e.remote(t, phy, true, &r)
	assert.Equal(t, results{ResultRetransmission}, r, "durable before the restart: final")
	assert.Len(t, h.all(), 5)
}
