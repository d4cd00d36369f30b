package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/brocaar/lorawan"
	bolt "go.etcd.io/bbolt"

	"github.com/loraedge/loraedge/internal/uplink"
)

// A forwarder that could not reach a device's home keeps the device's
// frames and delivers them later, marked late; by then the home may have
// heard newer frames of the device through its own gateway. Requests in
// flight to the home may also overtake each other, so a frame forwarded at
// once can arrive after a newer one. The window lets such a frame in once:
// a forwarded frame whose counter lies within
// fcntWindow below the session's and was not accepted before is stored as
// the past reading it is (no MAC, no ADR, no downlink). Anything else below
// the session's counter stays a replay (seen) or too_old (below the window).
//
// 1,024 counters cover a week of 10-minute readings the home heard directly
// while a forwarder held one: a long backhaul outage, not just a short one.
// The bitmap is 128 bytes per session.
const fcntWindow = 1024

// fcntBits marks the counters below a session's FCntUp already accepted:
// bit i is FCntUp-1-i.
type fcntBits [fcntWindow / 64]uint64

// fullWindow marks every counter as seen: nothing below is let in.
func fullWindow() fcntBits {
	var w fcntBits
	for i := range w {
		w[i] = ^uint64(0)
	}
	return w
}

func (w fcntBits) has(i uint32) bool { return w[i/64]&(1<<(i%64)) != 0 }

func (w *fcntBits) set(i uint32) { w[i/64] |= 1 << (i % 64) }

// maxUndurable bounds the accepted counters of a session whose uplinks are
// not yet known durable; past it the oldest is forgotten (a re-send of it
// is then refused as a replay).
const maxUndurable = 64

// resultTooOld: a forwarded frame whose counter lies below the window.
const resultTooOld = "too_old"

// bucketWindows holds each session's window and undurable counters, keyed
// by DevEUI and a byte that tells the previous session from the current.
var bucketWindows = []byte("network_fcnt_windows")

func windowKey(eui lorawan.EUI64, prev bool) []byte {
	k := append(eui[:0:0], eui[:]...)
	if prev {
		return append(k, 1)
	}
	return append(k, 0)
}

// advanceWindow moves the window of a session whose counter rises by d:
// the old counter and everything marked below it shift down by d.
func advanceWindow(w fcntBits, d uint32) fcntBits {
	var out fcntBits
	if d == 0 || d > fcntWindow {
		return out
	}
	words, bits := int(d/64), d%64
	for i := len(w) - 1; i >= words; i-- {
		v := w[i-words] << bits
		if bits != 0 && i-words > 0 {
			v |= w[i-words-1] >> (64 - bits)
		}
		out[i] = v
	}
	out.set(d - 1)
	return out
}

// windowBit is the index of counter fcnt below last; false when fcnt is
// not within the window.
func windowBit(last, fcnt uint32) (uint32, bool) {
	if fcnt >= last || last-fcnt > fcntWindow {
		return 0, false
	}
	return last - fcnt - 1, true
}

// Window records: version 1 held a 64-counter window (one word), version 2
// the whole bitmap; both are followed by the undurable counters.
const (
	windowRecordV1 = 1
	windowRecordV2 = 2
	windowBytes    = 8 * len(fcntBits{})
)

func (ss *session) putWindow(tx *bolt.Tx) error {
	b := make([]byte, 1, 1+windowBytes+4*len(ss.Undurable))
	b[0] = windowRecordV2
	for _, w := range ss.Window {
		b = binary.BigEndian.AppendUint64(b, w)
	}
	for _, c := range ss.Undurable {
		b = binary.BigEndian.AppendUint32(b, c)
	}
	if err := tx.Bucket(bucketWindows).Put(windowKey(ss.DevEUI, ss.prev), b); err != nil {
		return fmt.Errorf("session %s window: %w", ss.DevEUI, err)
	}
	return nil
}

// loadWindow reads the session's window. A session stored before windows
// existed gets a full one: nothing below its counter is let in. A version 1
// record knew only the 64 counters below; the rest count as seen.
func (ss *session) loadWindow(tx *bolt.Tx) error {
	v := tx.Bucket(bucketWindows).Get(windowKey(ss.DevEUI, ss.prev))
	if v == nil {
		if ss.HasUp {
			ss.Window = fullWindow()
		}
		return nil
	}
	var n int
	switch {
	case len(v) >= 1+8 && v[0] == windowRecordV1:
		ss.Window = fullWindow()
		ss.Window[0] = binary.BigEndian.Uint64(v[1:])
		n = 1 + 8
	case len(v) >= 1+windowBytes && v[0] == windowRecordV2:
		for i := range ss.Window {
			ss.Window[i] = binary.BigEndian.Uint64(v[1+8*i:])
		}
		n = 1 + windowBytes
	default:
		return errors.New("bad frame counter window record")
	}
	if (len(v)-n)%4 != 0 {
		return errors.New("bad frame counter window record")
	}
	ss.Undurable = ss.Undurable[:0]
	for i := n; i < len(v); i += 4 {
		ss.Undurable = append(ss.Undurable, binary.BigEndian.Uint32(v[i:]))
	}
	return nil
}

// pastKind is what pastFrame made of a frame.
type pastKind uint8

const (
	pastNo       pastKind = iota // not a past frame: the counter rules apply
	pastAccepted                 // store it as a past reading
	pastRefused                  // refused with the result given
	pastAttached                 // a re-send of an uplink whose durability is pending
)

// pastFrame handles a frame of a peer's forwarding whose counter is not
// above the session's: a re-send of an uplink accepted but not known to be
// stored (after a restart, or while its commit is pending) and a late
// or overtaken forwarded frame inside the window.
func (s *Server) pastFrame(m sessionMatch, e *dedupEntry, b *batch) (pastKind, string) {
	ss := m.ss
	if !e.remote || !ss.HasUp || m.dev.SkipFCntCheck || m.fcnt > ss.FCntUp || (!m.replay && m.fcnt != ss.FCntUp) {
		return pastNo, ""
	}
	if tok, ok := s.awaitBy[fcntKey{ss.DevEUI, m.fcnt}]; ok {
		if a := s.awaiting[tok]; a != nil {
			a.dones = append(a.dones, e.dones...)
			return pastAttached, resultRetransmission
		}
	}
	if slices.Contains(ss.Undurable, m.fcnt) {
		return pastAccepted, ""
	}
	if m.fcnt == ss.FCntUp {
		return pastNo, ""
	}
	bit, ok := windowBit(ss.FCntUp, m.fcnt)
	switch {
	case !ok:
		return pastRefused, resultTooOld
	case ss.Window.has(bit):
		return pastRefused, resultReplay
	}
	ss.Window.set(bit)
	b.touch(ss)
	return pastAccepted, ""
}

// pastUplink builds the outcome of a past frame: its uplink is handed on
// with its own reception time, and nothing is answered.
func (s *Server) pastUplink(m sessionMatch, phy *lorawan.PHYPayload, mac *lorawan.MACPayload, e *dedupEntry, b *batch) outcome {
	out := outcome{devEUI: m.ss.DevEUI, result: resultOK, fcnt: m.fcnt, past: true}
	fport, payload, _ := s.decrypt(phy, mac, m.ss)
	if fport != 0 || len(payload) > 0 {
		out.up = newUplink(e, m.ss.DevEUI, mac, false, fport, payload)
		s.markUndurable(m.ss, m.fcnt, b)
	}
	return out
}

// tracksDurability tells whether accepted uplinks are followed until they
// are durable: in a county network, where a forwarder waits for that.
func (s *Server) tracksDurability() bool {
	_, ok := s.opts.Handler.(uplink.DurableHandler)
	return ok && s.opts.Roaming != nil
}

// markUndurable records an accepted counter whose uplink is being stored;
// it is committed with the session, so a re-send after a crash is handed
// on again rather than refused.
func (s *Server) markUndurable(ss *session, fcnt uint32, b *batch) {
	if !s.tracksDurability() || slices.Contains(ss.Undurable, fcnt) {
		return
	}
	if len(ss.Undurable) >= maxUndurable {
		ss.Undurable = slices.Delete(ss.Undurable, 0, 1)
	}
	ss.Undurable = append(ss.Undurable, fcnt)
	b.touch(ss)
}
