package main

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
