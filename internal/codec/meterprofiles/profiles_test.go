package meterprofiles_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
)

func TestMeterProfiles(t *testing.T) {
	reg, err := all.NewRegistry()
	require.NoError(t, err)
	set, err := profile.Load(reg, profile.Embedded())
	require.NoError(t, err)
	recv := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	type point struct {
		v float64
		t time.Time // zero: dated by the receive time
	}
	for _, tc := range []struct {
		vendor, model, id string
		count             int
		latest            map[measurement.Quantity]point // newest point per quantity
		points            map[measurement.Quantity]int
	}{
		{"Elvaco", "CMi4140", "elvaco/cmi4140", 5, map[measurement.Quantity]point{
			measurement.HeatEnergy: {v: 24322150}, measurement.HeatPower: {v: 5520000}, measurement.VolumeFlow: {v: 110.8},
			measurement.FlowTemperature: {v: 96.88}, measurement.ReturnTemperature: {v: 53.52}}, nil},
		{"Kamstrup", "flowIQ 2200", "kamstrup/flowiq2200", 33, map[measurement.Quantity]point{
			measurement.WaterVolume: {v: 0.003, t: time.Date(2024, 7, 24, 19, 0, 0, 0, time.UTC)}},
			map[measurement.Quantity]int{measurement.WaterVolume: 33}},
		{"Alpha-Omega Technology", "KLAX", "alphaomega/klax", 2, map[measurement.Quantity]point{
			measurement.EnergyActiveImport: {v: 12442}, measurement.BatteryPercent: {v: 100}}, nil},
		{"Axioma", "QALCOSONIC W1", "axioma/qalcosonic-w1", 29, map[measurement.Quantity]point{
			measurement.WaterVolume: {v: 6.054, t: time.Date(2026, 9, 2, 23, 0, 0, 0, time.UTC)},
			measurement.LeakAlarm:   {v: 0}, measurement.BurstAlarm: {v: 0}, measurement.BackflowAlarm: {v: 0},
			measurement.DryAlarm: {v: 0}, measurement.LowBattery: {v: 0}},
			map[measurement.Quantity]int{measurement.WaterVolume: 24}},
		{"Minol ZENNER", "EDC", "zenner/edc", 3, map[measurement.Quantity]point{
			measurement.WaterVolume: {v: 0.012}, measurement.LowBattery: {v: 1}, measurement.TamperAlarm: {v: 1}}, nil},
	} {
		t.Run(tc.id, func(t *testing.T) {
			e := codectest.Examples(t, tc.vendor, tc.model)[0]
			in := e.Input(1)
			in.RecvTime = recv
			ms, _, err := set.Decode(tc.id, in, "70b3d5e75e000001")
			require.NoError(t, err)
			assert.Len(t, ms, tc.count)
			newest := map[measurement.Quantity]measurement.Measurement{}
			n := map[measurement.Quantity]int{}
			for _, m := range ms {
				assert.Equal(t, measurement.Units[m.Quantity], m.Unit)
				n[m.Quantity]++
				if old, ok := newest[m.Quantity]; !ok || m.Time.After(old.Time) {
					newest[m.Quantity] = m
				}
			}
			for q, want := range tc.latest {
				got, ok := newest[q]
				require.True(t, ok, q)
				assert.True(t, codectest.Close(want.v, got.Value), "%s: want %v got %v", q, want.v, got.Value)
				wantT := want.t
				if wantT.IsZero() {
					wantT = recv
				}
				assert.Equal(t, wantT, got.Time.UTC(), q)
			}
			for q, c := range tc.points {
				assert.Equal(t, c, n[q], q)
			}
		})
	}
}
