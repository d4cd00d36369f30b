package network

import (
	"errors"
	"slices"
	"time"

	"github.com/brocaar/lorawan"
)

// In a county network a forwarder keeps a frame until the home answers
// that its outcome is final; for an accepted uplink that is when the
// handler reports it durable, not when it enters the dedup window. The
// loop follows each accepted uplink's durability report (awaiting) and
// tells the frame's waiters then; a re-send of the same frame meanwhile
// waits for the same report.

// errDurableLost: no durability report came in time.
var errDurableLost = errors.New("network: no durability report in time")

// fcntKey names one uplink of a device.
type fcntKey struct {
	eui  lorawan.EUI64
	fcnt uint32
}

// awaitDurable is an accepted uplink whose durability is not yet reported.
type awaitDurable struct {
	key     fcntKey
	dones   []func(string)
	expires time.Time
}

// await records that the uplink o hands on is followed under token.
func (s *Server) await(token uint64, o outcome) {
	k := fcntKey{o.devEUI, o.fcnt}
	s.awaiting[token] = &awaitDurable{key: k, dones: o.dones, expires: s.now().Add(heldAckExpiry)}
	s.awaitBy[k] = token
}

// settle ends the wait under token: the uplink's counter is no longer
// undurable (committed with the next tick) and its waiters hear ok; a
// failed store tells them store_error, so the forwarder sends it again and
// the counter, still undurable, lets the re-send in.
func (s *Server) settle(token uint64, err error) {
	a, ok := s.awaiting[token]
	if !ok {
		return
	}
	delete(s.awaiting, token)
	if s.awaitBy[a.key] == token {
		delete(s.awaitBy, a.key)
	}
	result := resultStoreError
	if err == nil {
		result = resultOK
		s.mu.Lock()
		if ss := s.sessions[a.key.eui]; ss != nil {
			if i := slices.Index(ss.Undurable, a.key.fcnt); i >= 0 {
				ss.Undurable = slices.Delete(ss.Undurable, i, i+1)
				s.settled = append(s.settled, ss)
			}
		}
		s.mu.Unlock()
	}
	for _, d := range a.dones {
		d(result)
	}
}

// flushSettled commits the sessions whose undurable counters shrank. A
// crash before it only lets a forwarder's re-send be stored again, which
// the store collapses as the same point.
func (s *Server) flushSettled() {
	if len(s.settled) == 0 {
		return
	}
	seen := make(map[*session]bool, len(s.settled))
	var dirty []*session
	s.mu.RLock()
	for _, ss := range s.settled {
		// A session replaced or dropped since (a join) is not written back.
		live := s.sessions[ss.DevEUI] == ss || s.prev[ss.DevEUI] == ss
		if live && !seen[ss] {
			seen[ss] = true
			dirty = append(dirty, ss)
		}
	}
	s.mu.RUnlock()
	s.settled = nil
	if err := s.state.commit(dirty, nil, nil); err != nil {
		s.log.Warn("commit of durable uplinks failed; a re-send of them may be stored again", "err", err)
	}
}

// expireAwaiting gives up on durability reports that never came (lost to a
// full queue): the waiters hear store_error and the forwarder sends again.
func (s *Server) expireAwaiting(now time.Time) {
	for tok, a := range s.awaiting {
		if now.After(a.expires) {
			s.settle(tok, errDurableLost)
		}
	}
}
