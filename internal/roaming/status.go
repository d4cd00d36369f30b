package roaming

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/brocaar/lorawan"
)

// peerStats are the operator's figures of one peer, kept beside the
// metrics so the API can show them without scraping.
type peerStats struct {
	sent, received, errors atomic.Uint64
	mu                     sync.Mutex
	rtt                    time.Duration // exponentially smoothed
	lastOK, lastError      time.Time
}

func (p *peerStats) observe(rtt time.Duration, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rtt == 0 {
		p.rtt = rtt
	} else {
		p.rtt += (rtt - p.rtt) / 8
	}
	p.lastOK = now
}

func (p *peerStats) failed(now time.Time) {
	p.errors.Add(1)
	p.mu.Lock()
	p.lastError = now
	p.mu.Unlock()
}

// PeerStatus is what the peers page shows of one instance: the table's
// public facts (no token hash, no certificates) and the link's figures.
type PeerStatus struct {
	NSID          lorawan.EUI64 `json:"nsid"`
	Name          string        `json:"name"`
	URL           string        `json:"url"`
	Self          bool          `json:"self"`
	DevAddrBlocks []Block       `json:"dev_addr_blocks"`
	Devices       int           `json:"devices"`
	// Sent and Received count requests to and from the peer; Errors the
	// requests that got no answer.
	Sent       uint64    `json:"requests_sent"`
	Received   uint64    `json:"requests_received"`
	Errors     uint64    `json:"errors"`
	RTTSeconds float64   `json:"rtt_seconds"`
	QueueDepth int       `json:"queue_depth"`
	LastOK     time.Time `json:"last_ok,omitzero"`
	LastError  time.Time `json:"last_error,omitzero"`
}

func (l *Link) stats(nsid lorawan.EUI64) *peerStats {
	return l.peerStats[nsid]
}

// Peers returns every instance of the table with this link's figures.
func (f *Federation) Peers() []PeerStatus {
	out := make([]PeerStatus, 0, len(f.table.Peers))
	for i := range f.table.Peers {
		p := &f.table.Peers[i]
		st := PeerStatus{NSID: p.NSID, Name: p.Name, URL: p.URL, Self: p == f.self, DevAddrBlocks: p.DevAddrBlocks, Devices: len(p.Devices)}
		if ps := f.link.stats(p.NSID); ps != nil {
			st.Sent, st.Received, st.Errors = ps.sent.Load(), ps.received.Load(), ps.errors.Load()
			ps.mu.Lock()
			st.RTTSeconds, st.LastOK, st.LastError = ps.rtt.Seconds(), ps.lastOK, ps.lastError
			ps.mu.Unlock()
		}
		if !st.Self {
			st.QueueDepth = f.q.depth(p.NSID.String())
		}
		out = append(out, st)
	}
	return out
}
