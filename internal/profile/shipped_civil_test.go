package profile_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
)

// q is a quantity on a channel, the key of the civil-protection table.
type q struct {
	quantity measurement.Quantity
	channel  int
}

// The published vectors of the river-level and people-counting devices run
// through their shipped profiles to canonical quantities and units.
func TestShippedCivilProfilesDecodeExamples(t *testing.T) {
	set, err := profile.Load(registry(t), profile.Embedded())
	require.NoError(t, err)
	recv := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		vendor, model, id string
		example           int
		want              map[q]float64
	}{
		{"Decentlab", "DL-MBX", "decentlab/dl-mbx", 0, map[q]float64{
			{measurement.Distance, 0}: 1.234, {measurement.BatteryVoltage, 0}: 2.993}},
		{"Decentlab", "DL-PR26", "decentlab/dl-pr26", 0, map[q]float64{
			{measurement.WaterPressure, 0}: -0.01171875, {measurement.BatteryVoltage, 0}: 3.199}},
		{"Dragino", "DDS75-LB", "dragino/dds75-lb", 0, map[q]float64{
			{measurement.Distance, 0}: 2.821, {measurement.BatteryVoltage, 0}: 2.885}},
		{"IMBUILDINGS", "People Counter", "imbuildings/people-counter", 0, map[q]float64{
			{measurement.PeopleIn, 0}: 13, {measurement.PeopleOut, 0}: 10, {measurement.BatteryVoltage, 0}: 2.56}},
		{"ESP32-Paxcounter", "Paxcounter packed", "paxcounter/esp32-paxcounter", 0, map[q]float64{
			{measurement.PeopleCount, 1}: 42, {measurement.PeopleCount, 2}: 7}},
		{"Milesight", "EM500-UDL", "milesight/em500-udl", 0, map[q]float64{
			{measurement.Distance, 0}: 0.030, {measurement.BatteryPercent, 0}: 100}},
		{"Milesight", "VS121", "milesight/vs121", 1, map[q]float64{{measurement.PeopleCount, 0}: 3}},
		{"Milesight", "VS121", "milesight/vs121", 2, map[q]float64{
			{measurement.PeopleCount, 1}: 0, {measurement.PeopleCount, 2}: 1, {measurement.PeopleCount, 3}: 0,
			{measurement.PeopleCount, 4}: 0, {measurement.PeopleCount, 5}: 0, {measurement.PeopleCount, 6}: 0,
			{measurement.PeopleCount, 7}: 0, {measurement.PeopleCount, 8}: 3, {measurement.PeopleCount, 9}: 1,
			{measurement.PeopleCount, 10}: 0, {measurement.PeopleCount, 11}: 0, {measurement.PeopleCount, 12}: 0,
			{measurement.PeopleCount, 13}: 0, {measurement.PeopleCount, 14}: 0, {measurement.PeopleCount, 15}: 0,
			{measurement.PeopleCount, 16}: 0}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			e := codectest.Examples(t, tc.vendor, tc.model)[tc.example]
			in := e.Input(1)
			in.RecvTime = recv
			ms, res, err := set.Decode(tc.id, in, "a840410000000001")
			require.NoError(t, err)
			p, _ := set.Get(tc.id)
			names := p.Decoder().(profile.FieldNamer).FieldNames()
			for _, v := range res.Values {
				assert.Contains(t, names, v.Field)
			}
			got := map[q]float64{}
			for _, m := range ms {
				got[q{m.Quantity, m.Channel}] = m.Value
				assert.Equal(t, measurement.Units[m.Quantity], m.Unit)
				assert.Equal(t, recv, m.Time)
				assert.False(t, m.Invalid(), "%s", m.Quantity)
			}
			assert.Len(t, got, len(tc.want), "%v", got)
			for k, v := range tc.want {
				require.Contains(t, got, k)
				assert.True(t, codectest.Close(v, got[k]), "%v: want %v got %v", k, v, got[k])
			}
		})
	}
}

func TestShippedCivilDownlinks(t *testing.T) {
	set, err := profile.Load(registry(t), profile.Embedded())
	require.NoError(t, err)
	for _, tc := range []struct {
		id, cmd string
		args    map[string]float64
		port    uint8
		want    string
	}{
		{"paxcounter/esp32-paxcounter", "set_send_cycle", map[string]float64{"cycle": 240}, 2, "0a78"},
		{"paxcounter/esp32-paxcounter", "reset_counter", nil, 2, "0901"},
		{"decentlab/dl-mbx", "set_period", map[string]float64{"period": 600}, 1, "000102587e51"},
		{"milesight/em500-udl", "set_interval", map[string]float64{"interval": 1200}, 85, "ff03b004"},
		{"dragino/dds75-lb", "set_interval", map[string]float64{"interval": 600}, 2, "01000258"},
	} {
		d, err := set.Downlink(tc.id, tc.cmd, tc.args)
		require.NoError(t, err, tc.id)
		assert.Equal(t, tc.want, hex.EncodeToString(d.Payload), tc.id)
		assert.Equal(t, tc.port, d.FPort, tc.id)
	}
}

// A reading the sensor flags as none reaches the measurements as its raw
// value marked quality=invalid, never as a normal reading.
func TestShippedCivilProfilesMarkInvalid(t *testing.T) {
	set, err := profile.Load(registry(t), profile.Embedded())
	require.NoError(t, err)
	for _, tc := range []struct {
		id, hex string
		port    uint8
		invalid measurement.Quantity
		raw     float64
	}{
		{"decentlab/dl-mbx", "02012f000304d200000bb1", 1, measurement.Distance, 1.234},
		// The EM310-UDL README example reports the sensor tilted.
		{"milesight/em310-udl", "01755c03824408040001", 85, measurement.Distance, 2.116},
		{"milesight/em500-udl", "01755c03820000", 85, measurement.Distance, 0},
		{"dragino/dds75-lb", "0b450b0500010500", 2, measurement.Distance, 2.821},
	} {
		t.Run(tc.id, func(t *testing.T) {
			b, err := hex.DecodeString(tc.hex)
			require.NoError(t, err)
			ms, res, err := set.Decode(tc.id, codec.Input{FPort: tc.port, Bytes: b, RecvTime: time.Unix(0, 0)}, "d")
			require.NoError(t, err)
			assert.NotEmpty(t, res.Warnings)
			found := false
			for _, m := range ms {
				if m.Quantity == tc.invalid {
					found = true
					assert.True(t, m.Invalid())
					assert.Equal(t, measurement.QualityInvalid, m.Meta[measurement.MetaQuality])
					assert.True(t, codectest.Close(tc.raw, m.Value), "%v", m.Value)
				} else {
					assert.False(t, m.Invalid(), "%s", m.Quantity)
				}
			}
			assert.True(t, found, "no %s measurement", tc.invalid)
		})
	}
}
