package airtime

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
)

var (
	gwA = lorawan.EUI64{1, 2, 3, 4, 5, 6, 7, 8}
	gwB = lorawan.EUI64{8, 7, 6, 5, 4, 3, 2, 1}
	t0  = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
)

func TestSubBandLookup(t *testing.T) {
	b := NewBudget(EU868SubBands)
	tests := []struct {
		freq uint32
		name string
		ok   bool
	}{
		{867100000, "g", true},
		{868100000, "g1", true},
		{868500000, "g1", true},
		{868650000, "", false}, // alarm band
		{868800000, "g2", true},
		{869525000, "g3", true},
		{869850000, "g4", true},
		{870000000, "", false},
		{862900000, "", false},
	}
	for _, tt := range tests {
		sb, ok := b.SubBand(tt.freq)
		if ok != tt.ok || sb.Name != tt.name {
			t.Errorf("SubBand(%d) = %q, %v; want %q, %v", tt.freq, sb.Name, ok, tt.name, tt.ok)
		}
	}
}

func TestReserveSlidingWindow(t *testing.T) {
	b := NewBudget(EU868SubBands)
	const f = 868100000 // g1: 36 s per hour
	if !b.Reserve(gwA, f, 30*time.Second, t0) {
		t.Fatal("first reservation refused")
	}
	if b.Allow(gwA, f, 7*time.Second, t0.Add(time.Minute)) {
		t.Fatal("37 s in an hour allowed in g1")
	}
	if !b.Allow(gwA, f, 6*time.Second, t0.Add(time.Minute)) {
		t.Fatal("36 s in an hour refused in g1")
	}
	// Other gateways and sub-bands have their own budgets.
	if !b.Allow(gwB, f, 36*time.Second, t0) || !b.Allow(gwA, 869525000, 360*time.Second, t0) {
		t.Fatal("budget shared across gateways or sub-bands")
	}
	if b.Reserve(gwA, f, 7*time.Second, t0.Add(time.Minute)) {
		t.Fatal("over-budget reservation accepted")
	}
	if got := b.Refusals(); got != 1 {
		t.Fatalf("Refusals = %d, want 1", got)
	}
	// The 30 s transmission still overlaps the window one hour after it started.
	if b.Allow(gwA, f, 7*time.Second, t0.Add(time.Hour+10*time.Second)) {
		t.Fatal("a transmission overlapping the window edge was not counted")
	}
	if !b.Allow(gwA, f, 36*time.Second, t0.Add(time.Hour+30*time.Second)) {
		t.Fatal("a transmission that ended before the window still counts")
	}
	if got := b.Used(gwA, f, t0.Add(time.Hour+30*time.Second)); got != 0 {
		t.Fatalf("Used = %v after the window, want 0", got)
	}
}

func TestReserveOutsideSubBands(t *testing.T) {
	b := NewBudget(EU868SubBands)
	if b.Reserve(gwA, 868650000, time.Millisecond, t0) {
		t.Fatal("transmission in the alarm band accepted")
	}
	if b.Allow(gwA, 868100000, -time.Second, t0) {
		t.Fatal("negative airtime accepted")
	}
	b.Record(gwA, 868650000, time.Second, t0) // no sub-band: nothing to charge
	if got := b.Refusals(); got != 1 {
		t.Fatalf("Refusals = %d, want 1", got)
	}
}

func TestRecordChargesWithoutCheck(t *testing.T) {
	b := NewBudget(EU868SubBands)
	b.Record(gwA, 868300000, 40*time.Second, t0)
	if got := b.Used(gwA, 868500000, t0.Add(time.Second)); got != 40*time.Second {
		t.Fatalf("Used = %v, want 40s", got)
	}
	if b.Allow(gwA, 868100000, time.Millisecond, t0.Add(time.Second)) {
		t.Fatal("an over-used sub-band allowed more")
	}
}

// TestFloodNeverExceedsLimit sends a downlink every 700 ms for three hours
// to one gateway, alternating RX1 in g1 and RX2 in g3, and checks every
// one-hour window of what was accepted against the sub-band limits.
func TestFloodNeverExceedsLimit(t *testing.T) {
	b := NewBudget(EU868SubBands)
	rx1, err := Downlink(9, 125000, 33)
	if err != nil {
		t.Fatal(err)
	}
	rx2, err := Downlink(12, 125000, 33)
	if err != nil {
		t.Fatal(err)
	}
	accepted := map[uint32][]tx{}
	attempts := 0
	for now := t0; now.Before(t0.Add(3 * time.Hour)); now = now.Add(700 * time.Millisecond) {
		freq, at := uint32(868100000), rx1
		if attempts%2 == 1 {
			freq, at = 869525000, rx2
		}
		attempts++
		if b.Reserve(gwA, freq, at, now) {
			accepted[freq] = append(accepted[freq], tx{start: now, airtime: at})
		}
	}
	for freq, limit := range map[uint32]time.Duration{868100000: 36 * time.Second, 869525000: 360 * time.Second} {
		txs := accepted[freq]
		if len(txs) == 0 {
			t.Fatalf("nothing accepted on %d", freq)
		}
		worst, total := maxWindowUse(txs), time.Duration(0)
		for _, x := range txs {
			total += x.airtime
		}
		t.Logf("%d Hz: %d accepted, worst hour %v of %v allowed, %v in 3 h", freq, len(txs), worst, limit, total)
		if worst > limit {
			t.Errorf("%d Hz: %v on air within one hour, limit %v", freq, worst, limit)
		}
		// The budget must not be wasted either: over 3 h nearly 3 limits go out.
		if total < 3*limit-2*time.Minute/10 {
			t.Errorf("%d Hz: only %v used in 3 h with a limit of %v per hour", freq, total, limit)
		}
	}
	if b.Refusals() == 0 {
		t.Fatal("a flood caused no refusals")
	}
}

// maxWindowUse returns the most airtime that overlaps any one-hour window.
// The overlap is piecewise linear in the window position, so its maximum
// lies where a window edge meets a transmission edge.
func maxWindowUse(txs []tx) time.Duration {
	var worst time.Duration
	var edges []time.Time
	for _, x := range txs {
		end := x.start.Add(x.airtime)
		edges = append(edges, x.start, end, x.start.Add(-Window), end.Add(-Window))
	}
	for _, from := range edges {
		to := from.Add(Window)
		var sum time.Duration
		for _, x := range txs {
			s, e := x.start, x.start.Add(x.airtime)
			if s.Before(from) {
				s = from
			}
			if e.After(to) {
				e = to
			}
			if e.After(s) {
				sum += e.Sub(s)
			}
		}
		worst = max(worst, sum)
	}
	return worst
}

func TestBudgetMemoryBounded(t *testing.T) {
	b := NewBudget(EU868SubBands)
	// A thousand gateways transmit once; an hour later one more transmits,
	// which sweeps the quiet ones away.
	for i := range 1000 {
		b.Record(lorawan.EUI64{byte(i >> 8), byte(i)}, 868100000, time.Second, t0.Add(time.Duration(i)*time.Millisecond))
	}
	b.Record(gwA, 868100000, time.Second, t0.Add(2*time.Hour))
	b.mu.Lock()
	n := len(b.ledgers)
	b.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d ledgers kept, want 1", n)
	}
}

// TestReserveConcurrent has many callers race for one sub-band; exactly the
// budget's worth must be granted.
func TestReserveConcurrent(t *testing.T) {
	b := NewBudget(EU868SubBands)
	var wg sync.WaitGroup
	var granted atomic.Int64
	for range 100 {
		wg.Go(func() {
			if b.Reserve(gwA, 868300000, time.Second, t0) {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if granted.Load() != 36 || b.Refusals() != 64 {
		t.Fatalf("%d granted, %d refused; want 36 and 64", granted.Load(), b.Refusals())
	}
}

func TestReleaseTakesBackOneCharge(t *testing.T) {
	b := NewBudget(EU868SubBands)
	b.Record(gwA, 869525000, 2*time.Second, t0)
	b.Record(gwA, 869525000, 3*time.Second, t0.Add(time.Second))
	b.Record(gwA, 869525000, 2*time.Second, t0.Add(10*time.Minute))
	if !b.Release(gwA, 869525000, 2*time.Second, t0) {
		t.Fatal("Release found no charge of 2s")
	}
	if got := b.Used(gwA, 869525000, t0.Add(11*time.Minute)); got != 5*time.Second {
		t.Fatalf("Used = %v after release, want 5s", got)
	}
	// The charge made at t0 went, the later one of the same length stays
	// until it leaves the window.
	if got := b.Used(gwA, 869525000, t0.Add(time.Hour+5*time.Second)); got != 2*time.Second {
		t.Fatalf("Used = %v an hour later, want 2s", got)
	}
	if !b.Release(gwA, 869525000, 2*time.Second, t0) || b.Release(gwA, 869525000, 2*time.Second, t0) {
		t.Fatal("the last 2s charge not released once")
	}
	if b.Release(gwA, 868100000, 3*time.Second, t0) || b.Release(gwA, 868650000, 3*time.Second, t0) {
		t.Fatal("released a charge of another sub-band or of none")
	}
}
