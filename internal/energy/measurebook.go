package energy

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// KV is the durable key-value namespace the measure book keeps measures
// added at run time in (store.KV).
type KV interface {
	Put(key, value []byte) error
	ForEach(fn func(key, value []byte) error) error
}

// ErrInvalidMeasure is wrapped by MeasureBook.Add's errors about the
// measure itself (a bad field, an unknown site, a key already known).
var ErrInvalidMeasure = errors.New("invalid measure")

// MeasureBook holds the configured measures and those added through the
// API; the added ones are persisted in a KV namespace.
type MeasureBook struct {
	mu         sync.Mutex
	kv         KV
	configured []Measure
	added      []Measure
}

// OpenMeasureBook loads the added measures from kv next to the configured
// ones; a stored entry that no longer decodes or validates is an error
// naming its key.
func OpenMeasureBook(kv KV, configured []Measure) (*MeasureBook, error) {
	b := &MeasureBook{kv: kv, configured: append([]Measure(nil), configured...)}
	err := kv.ForEach(func(k, v []byte) error {
		var m Measure
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("measure %s: %w", k, err)
		}
		if err := m.Validate("measure " + string(k)); err != nil {
			return err
		}
		b.added = append(b.added, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("energy measures: %w", err)
	}
	return b, nil
}

// List returns every measure: configured first, then added, each group by
// date.
func (b *MeasureBook) List() []Measure {
	b.mu.Lock()
	defer b.mu.Unlock()
	added := append([]Measure(nil), b.added...)
	sort.SliceStable(added, func(i, j int) bool { return added[i].Date < added[j].Date })
	return append(append([]Measure(nil), b.configured...), added...)
}

// Add validates m, rejects a key already known, and persists it; validSite
// says whether m.Site is a building.
func (b *MeasureBook) Add(m Measure, validSite func(string) bool) (Measure, error) {
	if err := m.Validate("measure"); err != nil {
		return m, fmt.Errorf("%w: %w", ErrInvalidMeasure, err)
	}
	if !validSite(m.Site) {
		return m, fmt.Errorf("%w: measure.site: %q is not a building", ErrInvalidMeasure, m.Site)
	}
	m.ID = m.Key()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, x := range append(b.configured, b.added...) {
		if x.Key() == m.ID {
			return m, fmt.Errorf("%w: measure.id: %q exists", ErrInvalidMeasure, m.ID)
		}
	}
	v, err := json.Marshal(m)
	if err != nil {
		return m, fmt.Errorf("measure: %w", err)
	}
	if err := b.kv.Put([]byte(m.ID), v); err != nil {
		return m, fmt.Errorf("measure: %w", err)
	}
	b.added = append(b.added, m)
	return m, nil
}
