package basicstation

import (
	"time"

	"github.com/brocaar/lorawan"
)

// RouterStats is what the LNS knows of one configured router.
type RouterStats struct {
	ID            lorawan.EUI64
	Name          string
	Connected     bool
	LastSeen      time.Time
	Station       string // the router's version message
	Uplinks       uint64
	Downlinks     uint64
	Dntxed        uint64
	DntxedMissing uint64
	// DntxedMissingRun counts the unconfirmed downlinks since the last
	// dntxed: a router that keeps missing them raises the gateway alert.
	DntxedMissingRun uint64
	Remote           string // address of the current or last connection
}

// Routers returns the configured routers' state.
func (s *Server) Routers() []RouterStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	routers := s.access.Load().routers
	out := make([]RouterStats, 0, len(routers))
	for _, r := range routers {
		st := *s.stats[r.ID]
		st.Connected = s.conns[r.ID] != nil
		out = append(out, st)
	}
	return out
}

// seen records a sign of life of router id: a message or a pong, and
// whether it was an uplink or its version.
func (s *Server) seen(id lorawan.EUI64, uplink bool, station string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats[id]
	st.LastSeen = s.now()
	if uplink {
		st.Uplinks++
	}
	if station != "" {
		st.Station = station
	}
}

// addStats gives every router of a a place for its figures; a router
// removed and listed again keeps its old ones.
func (s *Server) addStats(a *access) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range a.routers {
		if st := s.stats[r.ID]; st != nil {
			st.Name = r.Name
			continue
		}
		s.stats[r.ID] = &RouterStats{ID: r.ID, Name: r.Name}
	}
}
