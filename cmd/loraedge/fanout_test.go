package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/uplink"
)

// storing is a handler that keeps durability callbacks, as the ingester.
type storing struct {
	dones  []func(error)
	refuse error
}

func (s *storing) HandleUplink(ctx context.Context, up uplink.Uplink) error {
	return s.HandleUplinkDurable(ctx, up, nil)
}

func (s *storing) HandleUplinkDurable(_ context.Context, _ uplink.Uplink, done func(error)) error {
	if s.refuse != nil {
		return s.refuse
	}
	s.dones = append(s.dones, done)
	return nil
}

// The fanout's durability is the storing handler's: its callback reaches
// it (and only it), and without one there is nothing to wait for.
func TestUplinkFanoutDurability(t *testing.T) {
	ctx := context.Background()
	live := 0
	plain := uplink.HandlerFunc(func(context.Context, uplink.Uplink) error { live++; return nil })
	st := &storing{}
	f := &uplinkFanout{hs: []uplink.Handler{plain, st}}
	var reported []error
	done := func(err error) { reported = append(reported, err) }

	require.NoError(t, f.HandleUplinkDurable(ctx, uplink.Uplink{}, done))
	assert.Equal(t, 1, live, "the live handler still gets the uplink")
	require.Len(t, st.dones, 1)
	assert.Empty(t, reported, "not durable before the store says so")
	st.dones[0](nil)
	assert.Equal(t, []error{nil}, reported)

	st.refuse = errors.New("queue full")
	require.ErrorIs(t, f.HandleUplinkDurable(ctx, uplink.Uplink{}, done), st.refuse)
	assert.Len(t, reported, 1, "a refused uplink is never reported durable")

	reported = nil
	require.NoError(t, (&uplinkFanout{hs: []uplink.Handler{plain}}).HandleUplinkDurable(ctx, uplink.Uplink{}, done))
	assert.Equal(t, []error{nil}, reported, "nothing stores: durable at once")
}

// The live log prints values in plain decimal: a meter at 412,800 kWh is
// not 4.128e+05kWh.
func TestLiveLogPlainDecimal(t *testing.T) {
	var b strings.Builder
	l := liveLog{slog.New(slog.NewTextHandler(&b, nil))}
	l.Observe([]measurement.Measurement{
		{Device: "4c4553494d030001", Quantity: "energy_active_import", Value: 412800, Unit: "kWh"},
		{Device: "4c4553494d030001", Quantity: "battery_voltage", Value: 3.6091, Unit: "V"},
	})
	assert.Contains(t, b.String(), `values="energy_active_import=412800kWh battery_voltage=3.609V"`)
}
