package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/loraedge/loraedge/internal/ingest"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/uplink"
)

// uplinkFanout hands every verified uplink to each handler in turn; none
// of them blocks. Handlers are added while the daemon is built, never later.
type uplinkFanout struct{ hs []uplink.Handler }

var _ uplink.DurableHandler = (*uplinkFanout)(nil)

func (f *uplinkFanout) HandleUplink(ctx context.Context, up uplink.Uplink) error {
	return f.HandleUplinkDurable(ctx, up, nil)
}

// HandleUplinkDurable gives done to the first handler that stores (the
// ingester): its durability is the uplink's. Without one, nothing is
// stored and done is called at once. When that handler refuses the uplink
// done is not called and its error is returned with the others.
func (f *uplinkFanout) HandleUplinkDurable(ctx context.Context, up uplink.Uplink, done func(error)) error {
	var errs []error
	for _, h := range f.hs {
		var err error
		if dh, ok := h.(uplink.DurableHandler); ok && done != nil {
			err = dh.HandleUplinkDurable(ctx, up, done)
			if err != nil {
				errs = append(errs, err)
			}
			done = nil
			continue
		}
		if err = h.HandleUplink(ctx, up); err != nil {
			errs = append(errs, err)
		}
	}
	if done != nil && len(errs) == 0 {
		done(nil)
	}
	return errors.Join(errs...)
}

// observerFanout tells every observer about stored batches. Observers are
// added while the daemon is built, never later.
type observerFanout struct{ obs []ingest.Observer }

func (f *observerFanout) add(o ingest.Observer) { f.obs = append(f.obs, o) }

func (f *observerFanout) Observe(ms []measurement.Measurement) {
	for _, o := range f.obs {
		o.Observe(ms)
	}
}

// liveLog logs every stored batch, one line per device.
type liveLog struct{ log *slog.Logger }

func (l liveLog) Observe(ms []measurement.Measurement) {
	byDev := map[string][]string{}
	var order []string
	for _, m := range ms {
		if _, ok := byDev[m.Device]; !ok {
			order = append(order, m.Device)
		}
		byDev[m.Device] = append(byDev[m.Device], string(m.Quantity)+"="+measurement.FormatValue(m.Value)+unitSuffix(m.Unit))
	}
	for _, dev := range order {
		l.log.Info("stored", "component", "ingest", "dev_eui", dev, "values", strings.Join(byDev[dev], " "))
	}
}

func unitSuffix(u string) string {
	if u == "1" || u == "" {
		return ""
	}
	return u
}
