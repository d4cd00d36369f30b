package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/site"
)

// measureService verifies the energy measures over the daemon's store for
// the API; measures added through the API live in the store's KV
// namespace "energy_measures".
type measureService struct{ d *daemon }

// measureOnce opens the daemon's measure book on first use (the store is
// open by then).
type measureOnce struct {
	once sync.Once
	book *energy.MeasureBook
	err  error
}

func (d *daemon) measureService() *measureService { return &measureService{d: d} }

func (m *measureService) open() (*energy.MeasureBook, error) {
	o := &m.d.measures
	o.once.Do(func() {
		o.book, o.err = energy.OpenMeasureBook(m.d.store.KV("energy_measures"), m.d.cfg.Energy.Measures)
	})
	return o.book, o.err
}

// EnergyMeasures verifies every measure with the data before to (a date
// at UTC midnight, taken as the local day).
func (m *measureService) EnergyMeasures(ctx context.Context, to time.Time) ([]energy.MeasureResult, error) {
	book, err := m.open()
	if err != nil {
		return nil, err
	}
	d := m.d
	eng, err := energy.New(energy.Options{Config: d.cfg.Energy, Sites: d.cfg.Sites, Devices: d.devices.List(), Series: d.store.Series()})
	if err != nil {
		return nil, fmt.Errorf("energy measures: %w", err)
	}
	cal, err := calendar.New(d.cfg.Calendar)
	if err != nil {
		return nil, fmt.Errorf("energy measures: %w", err)
	}
	local := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, eng.Location())
	return eng.Verify(ctx, energy.RangeSource{Ranger: d.store}, cal, book.List(), local), nil
}

// AddEnergyMeasure persists a measure for a building of the configuration.
func (m *measureService) AddEnergyMeasure(_ context.Context, ms energy.Measure) (energy.Measure, error) {
	book, err := m.open()
	if err != nil {
		return ms, err
	}
	return book.Add(ms, func(id string) bool {
		for _, s := range m.d.cfg.Sites {
			if s.ID == id {
				return s.Kind == site.Building
			}
		}
		return false
	})
}
