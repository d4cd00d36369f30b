package airtime

import (
	"sync"
	"time"

	"github.com/brocaar/lorawan"
)

// SubBand is a frequency range with its own duty-cycle limit. A
// transmission counts against the sub-band that holds its centre frequency.
type SubBand struct {
	Name string
	// MinHz and MaxHz bound the range, MinHz inclusive, MaxHz exclusive.
	MinHz, MaxHz uint32
	// DutyCycle is the share of the window one transmitter may use.
	DutyCycle float64
}

// EU868SubBands are the sub-bands of CEPT ERC/REC 70-03 Annex 1 that
// LoRaWAN EU868 gateways transmit in, under the names the issue uses. The
// g band is taken at the 1 % of 865-868 MHz (EN 300 220-2 band L); the
// 863-865 MHz part (band K) allows only 0.1 %, so a plan that puts
// downlink channels there needs its own, stricter entry. Frequencies
// between the sub-bands (868.6-868.7, 869.2-869.4, 869.65-869.7 MHz) are
// alarm bands and have no budget at all.
var EU868SubBands = []SubBand{
	{Name: "g", MinHz: 863000000, MaxHz: 868000000, DutyCycle: 0.01},
	{Name: "g1", MinHz: 868000000, MaxHz: 868600000, DutyCycle: 0.01},
	{Name: "g2", MinHz: 868700000, MaxHz: 869200000, DutyCycle: 0.001},
	{Name: "g3", MinHz: 869400000, MaxHz: 869650000, DutyCycle: 0.1},
	{Name: "g4", MinHz: 869700000, MaxHz: 870000000, DutyCycle: 0.01},
}

// Window is the observation period of the ETSI duty-cycle rule.
const Window = time.Hour

// Budget tracks, per gateway and sub-band, the airtime used in the sliding
// window ending now. A transmission is charged in full while any part of
// it lies inside the window, which errs on the side of the limit. Memory is
// bounded: entries leave once they end before the window, and a gateway's
// ledger goes with its last entry.
type Budget struct {
	mu        sync.Mutex
	bands     []SubBand
	ledgers   map[ledgerKey]*ledger
	refusals  uint64
	nextSweep time.Time
}

type ledgerKey struct {
	gateway lorawan.EUI64
	band    int
}

type ledger struct {
	txs  []tx
	used time.Duration
	// firstEnd is when the earliest transmission ends: before it nothing
	// can be pruned, so a check on a busy gateway does not scan.
	firstEnd time.Time
}

type tx struct {
	start   time.Time
	airtime time.Duration
}

// NewBudget returns an empty budget over the given sub-bands.
func NewBudget(bands []SubBand) *Budget {
	return &Budget{bands: bands, ledgers: make(map[ledgerKey]*ledger)}
}

// SubBand returns the sub-band holding freqHz.
func (b *Budget) SubBand(freqHz uint32) (SubBand, bool) {
	i := b.band(freqHz)
	if i < 0 {
		return SubBand{}, false
	}
	return b.bands[i], true
}

func (b *Budget) band(freqHz uint32) int {
	for i, sb := range b.bands {
		if freqHz >= sb.MinHz && freqHz < sb.MaxHz {
			return i
		}
	}
	return -1
}

// Allow reports whether the gateway may transmit for airtime on freqHz at
// now without exceeding the sub-band's limit. It changes nothing; a caller
// that goes on to transmit must Record, or use Reserve to do both at once.
func (b *Budget) Allow(gateway lorawan.EUI64, freqHz uint32, airtime time.Duration, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	ok, _ := b.check(gateway, freqHz, airtime, now)
	return ok
}

// Record charges a transmission to the gateway's sub-band, whether or not
// it was allowed: what went on air counts.
func (b *Budget) Record(gateway lorawan.EUI64, freqHz uint32, airtime time.Duration, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := b.band(freqHz); i >= 0 {
		b.add(ledgerKey{gateway, i}, airtime, now)
	}
}

// Reserve charges the transmission if it fits and reports whether it did.
// A refusal is counted; frequencies outside every sub-band are refused.
func (b *Budget) Reserve(gateway lorawan.EUI64, freqHz uint32, airtime time.Duration, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	ok, k := b.check(gateway, freqHz, airtime, now)
	if !ok {
		b.refusals++
		return false
	}
	b.add(k, airtime, now)
	return true
}

// Release takes back the charge of exactly airtime on the gateway's
// sub-band of freqHz made nearest to at, for a transmission reserved but
// not sent (one of two windows offered, the other one used). It reports
// whether such a charge was found.
func (b *Budget) Release(gateway lorawan.EUI64, freqHz uint32, airtime time.Duration, at time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.band(freqHz)
	if i < 0 {
		return false
	}
	l := b.ledgers[ledgerKey{gateway, i}]
	if l == nil {
		return false
	}
	best := -1
	for j, t := range l.txs {
		if t.airtime == airtime && (best < 0 || t.start.Sub(at).Abs() < l.txs[best].start.Sub(at).Abs()) {
			best = j
		}
	}
	if best < 0 {
		return false
	}
	l.txs = append(l.txs[:best], l.txs[best+1:]...)
	l.used -= airtime
	// firstEnd may now be early, which costs prune a scan, never an entry
	// kept too long.
	return true
}

// Used returns the airtime charged to the gateway's sub-band of freqHz in
// the window ending at now.
func (b *Budget) Used(gateway lorawan.EUI64, freqHz uint32, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.band(freqHz)
	if i < 0 {
		return 0
	}
	l := b.ledgers[ledgerKey{gateway, i}]
	if l == nil {
		return 0
	}
	l.prune(now.Add(-Window))
	return l.used
}

// Refusals returns how many reservations were refused so far.
func (b *Budget) Refusals() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.refusals
}

func (b *Budget) check(gateway lorawan.EUI64, freqHz uint32, airtime time.Duration, now time.Time) (bool, ledgerKey) {
	i := b.band(freqHz)
	if i < 0 || airtime < 0 {
		return false, ledgerKey{}
	}
	k := ledgerKey{gateway, i}
	limit := time.Duration(b.bands[i].DutyCycle * float64(Window))
	var used time.Duration
	if l := b.ledgers[k]; l != nil {
		l.prune(now.Add(-Window))
		used = l.used
	}
	return used+airtime <= limit, k
}

func (b *Budget) add(k ledgerKey, airtime time.Duration, now time.Time) {
	l := b.ledgers[k]
	if l == nil {
		l = &ledger{}
		b.ledgers[k] = l
	}
	l.txs = append(l.txs, tx{start: now, airtime: airtime})
	l.used += airtime
	if end := now.Add(airtime); len(l.txs) == 1 || end.Before(l.firstEnd) {
		l.firstEnd = end
	}
	b.sweep(now)
}

// sweep drops ledgers of gateways that have gone quiet, once per window,
// so a gateway seen once does not stay in memory for good.
func (b *Budget) sweep(now time.Time) {
	if now.Before(b.nextSweep) {
		return
	}
	b.nextSweep = now.Add(Window)
	for k, l := range b.ledgers {
		if l.prune(now.Add(-Window)); len(l.txs) == 0 {
			delete(b.ledgers, k)
		}
	}
}

// prune removes transmissions that ended before cutoff. Start times need
// not be ordered (downlinks are booked ahead of their slot), so it scans.
func (l *ledger) prune(cutoff time.Time) {
	if len(l.txs) == 0 || l.firstEnd.After(cutoff) {
		return
	}
	kept := l.txs[:0]
	var first time.Time
	for _, t := range l.txs {
		end := t.start.Add(t.airtime)
		if !end.After(cutoff) {
			l.used -= t.airtime
			continue
		}
		kept = append(kept, t)
		if first.IsZero() || end.Before(first) {
			first = end
		}
	}
	clear(l.txs[len(kept):])
	l.txs, l.firstEnd = kept, first
}
