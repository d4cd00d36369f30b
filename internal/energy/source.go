package energy

import (
	"context"
	"fmt"
	"time"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
)

// SeriesRef names one series: device, quantity and channel.
type SeriesRef struct {
	Device   string
	Quantity measurement.Quantity
	Channel  int
}

// Key is the series key the store and measurement.SeriesKey use.
func (r SeriesRef) Key() string {
	return measurement.Measurement{Device: r.Device, Quantity: r.Quantity, Channel: r.Channel}.SeriesKey()
}

// Reading is one raw value of a series.
type Reading struct {
	Time  time.Time
	Value float64
}

// Source gives the raw readings of one series in [from, to), sorted by
// time. The local store (StoreSource) and the InfluxDB reader serve it;
// an unknown series yields no readings and no error.
type Source interface {
	Readings(ctx context.Context, s SeriesRef, from, to time.Time) ([]Reading, error)
}

// Ranger is the raw-points query the embedded store (store.Store) and the
// InfluxDB reader (influx.Reader) share.
type Ranger interface {
	Range(ctx context.Context, keys []string, from, to time.Time) ([]store.Series, error)
}

// RangeSource adapts a Ranger to Source: RangeSource{st} for the local
// store, RangeSource{influxReader} for a central InfluxDB.
type RangeSource struct{ Ranger Ranger }

var (
	_ Source = RangeSource{}
	_ Ranger = (*store.Store)(nil)
)

// Readings implements Source.
func (s RangeSource) Readings(ctx context.Context, ref SeriesRef, from, to time.Time) ([]Reading, error) {
	ss, err := s.Ranger.Range(ctx, []string{ref.Key()}, from, to)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ref.Key(), err)
	}
	if len(ss) == 0 {
		return nil, nil
	}
	pts := ss[0].Points
	out := make([]Reading, len(pts))
	for i, p := range pts {
		out[i] = Reading{Time: p.Time, Value: p.Value}
	}
	return out, nil
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, s SeriesRef, from, to time.Time) ([]Reading, error)

// Readings implements Source.
func (f SourceFunc) Readings(ctx context.Context, s SeriesRef, from, to time.Time) ([]Reading, error) {
	return f(ctx, s, from, to)
}
