package network

import (
	"container/heap"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/uplink"
)

// dedupEntry collects the receptions of one PHYPayload within one window.
type dedupEntry struct {
	key      string
	phy      []byte
	rx       []uplink.RxInfo
	first    time.Time
	deadline time.Time
	index    int    // position in the heap
	seq      uint64 // arrival order, breaks deadline ties
	// remote: a copy came from a peer; late: one waited in a peer's queue.
	remote, late bool
	dones        []func(string)
	// peers names the peer of each peer's gateway among rx; nil while all
	// are local.
	peers map[lorawan.EUI64]string
}

// dedup merges identical PHYPayloads by content. The window is timed from
// the first reception; a copy arriving later opens a new window, so it is
// processed on its own (and rejected by the counter rules). Deadlines sit in
// a min-heap so the loop needs no timer per frame.
type dedup struct {
	open map[string]*dedupEntry
	h    entryHeap
	seq  uint64
}

func (d *dedup) init() {
	d.open = make(map[string]*dedupEntry)
}

func (d *dedup) add(in inFrame, window time.Duration, m *metrics) {
	if len(in.f.PHYPayload) == 0 {
		m.uplinks.WithLabelValues(resultDecodeError).Inc()
		if in.f.Done != nil {
			in.f.Done(resultDecodeError)
		}
		return
	}
	if e, ok := d.open[string(in.f.PHYPayload)]; ok {
		if in.at.Before(e.deadline) {
			e.rx = append(e.rx, in.f.RxInfo)
			e.mark(in.f)
			m.dedupMerged.Inc()
			return
		}
		// The old window is closed but not yet processed: detach it so it is
		// still processed (first, by its earlier deadline) and open a new one.
		delete(d.open, e.key)
	}
	e := &dedupEntry{
		key:      string(in.f.PHYPayload),
		phy:      in.f.PHYPayload,
		rx:       []uplink.RxInfo{in.f.RxInfo},
		first:    in.at,
		deadline: in.at.Add(window),
		seq:      d.seq,
	}
	e.mark(in.f)
	d.seq++
	d.open[e.key] = e
	heap.Push(&d.h, e)
}

func (e *dedupEntry) mark(f Frame) {
	e.remote = e.remote || f.Remote
	e.late = e.late || f.Late
	if f.Done != nil {
		e.dones = append(e.dones, f.Done)
	}
	if f.Peer != "" {
		if e.peers == nil {
			e.peers = map[lorawan.EUI64]string{}
		}
		e.peers[f.RxInfo.GatewayID] = f.Peer
	}
}

// due pops every entry whose window closed at or before now, in deadline order.
func (d *dedup) due(now time.Time) []*dedupEntry {
	var out []*dedupEntry
	for len(d.h) > 0 && !d.h[0].deadline.After(now) {
		e := heap.Pop(&d.h).(*dedupEntry)
		if cur, ok := d.open[e.key]; ok && cur == e {
			delete(d.open, e.key)
		}
		out = append(out, e)
	}
	return out
}

type entryHeap []*dedupEntry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if h[i].deadline.Equal(h[j].deadline) {
		return h[i].seq < h[j].seq
	}
	return h[i].deadline.Before(h[j].deadline)
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *entryHeap) Push(x any) {
	e := x.(*dedupEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return e
}
