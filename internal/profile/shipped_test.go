package profile_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec/codectest"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
)

// The published vectors run through the shipped profiles end to end: the
// codec decodes and the mapping reaches canonical quantities and units.
func TestShippedProfilesDecodeExamples(t *testing.T) {
	set, err := profile.Load(registry(t), profile.Embedded())
	require.NoError(t, err)
	recv := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		vendor, model, id string
		want              map[measurement.Quantity]float64
		count             int // number of measurements, 0 = don't check
	}{
		{"Elsys", "ERS CO2", "elsys/ers-co2", map[measurement.Quantity]float64{
			measurement.AirTemperature: 22.6, measurement.CO2: 776, measurement.Illuminance: 39, measurement.MotionCount: 6}, 5},
		{"Elsys", "ERS VOC", "elsys/ers-voc", map[measurement.Quantity]float64{measurement.RelativeHumidity: 41}, 4},
		{"Elsys", "EMS", "elsys/ems", map[measurement.Quantity]float64{measurement.AirTemperature: 22.6}, 2},
		{"Milesight", "AM319", "milesight/am319", map[measurement.Quantity]float64{
			measurement.PM2_5: 32, measurement.PM10: 48, measurement.BarometricPressure: 1008.6, measurement.Occupancy: 1}, 0},
		{"Milesight", "AM307", "milesight/am307", map[measurement.Quantity]float64{measurement.BatteryPercent: 92}, 3},
		{"Milesight", "EM300-DI", "milesight/em300-di", map[measurement.Quantity]float64{measurement.PulseCount: 256}, 2},
		{"Decentlab", "DL-IAM", "decentlab/dl-iam", map[measurement.Quantity]float64{
			measurement.BarometricPressure: 964.12, measurement.CO2: 455, measurement.TVOC: 273}, 8},
		{"Decentlab", "DL-PM", "decentlab/dl-pm", map[measurement.Quantity]float64{measurement.PM2_5: 3.9, measurement.BarometricPressure: 968}, 8},
		{"Decentlab", "DL-ITST", "decentlab/dl-itst", map[measurement.Quantity]float64{measurement.RoadSurfaceTemperature: 27.3}, 2},
		{"Decentlab", "DL-ATM41", "decentlab/dl-atm41", map[measurement.Quantity]float64{
			measurement.BarometricPressure: 959.6, measurement.WindDirection: 29.9}, 8},
		{"Decentlab", "DL-SHT35", "decentlab/dl-sht35", map[measurement.Quantity]float64{measurement.BatteryVoltage: 3.168}, 3},
		{"Dragino", "LHT65", "dragino/lht65", map[measurement.Quantity]float64{
			measurement.RoadSurfaceTemperature: 27.81, measurement.AirTemperature: 28.29}, 4},
		{"Adeunis", "Pulse 4", "adeunis/pulse4", map[measurement.Quantity]float64{measurement.LowBattery: 1}, 6},
		{"The Things Stack", "Cayenne LPP", "generic/cayenne-lpp", map[measurement.Quantity]float64{
			measurement.AirTemperature: -15.6, measurement.BarometricPressure: 1073.5}, 0},
	} {
		t.Run(tc.id, func(t *testing.T) {
			e := codectest.Examples(t, tc.vendor, tc.model)[0]
			in := e.Input(1)
			in.RecvTime = recv
			ms, res, err := set.Decode(tc.id, in, "a840410000000001")
			require.NoError(t, err)
			// FieldNames must cover what the decoder really returns, or
			// profiles mapping those fields would be rejected.
			p, _ := set.Get(tc.id)
			names := p.Decoder().(profile.FieldNamer).FieldNames()
			for _, v := range res.Values {
				assert.Contains(t, names, v.Field)
			}
			got := map[measurement.Quantity]float64{}
			for _, m := range ms {
				got[m.Quantity] = m.Value
				assert.Equal(t, measurement.Units[m.Quantity], m.Unit)
				assert.False(t, m.Time.IsZero())
			}
			for q, v := range tc.want {
				require.Contains(t, got, q)
				assert.True(t, codectest.Close(v, got[q]), "%s: want %v got %v", q, v, got[q])
			}
			if tc.count > 0 {
				assert.Len(t, ms, tc.count)
			}
		})
	}
}

// Adeunis backward deltas keep their own times through the profile.
func TestPulse4HistoryTimes(t *testing.T) {
	set, err := profile.Load(registry(t), profile.Embedded())
	require.NoError(t, err)
	in := codectest.Examples(t, "Adeunis", "Pulse 4")[0].Input(1)
	in.RecvTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ms, _, err := set.Decode("adeunis/pulse4", in, "d")
	require.NoError(t, err)
	var times []time.Time
	for _, m := range ms {
		if m.Quantity == measurement.PulseCount {
			assert.Equal(t, 1, m.Channel)
			times = append(times, m.Time)
		}
	}
	require.Len(t, times, 5)
	assert.Equal(t, time.Date(2023, 12, 28, 19, 22, 17, 0, time.UTC), times[0])
	assert.Equal(t, times[0].Add(-4*time.Hour), times[4])
}

func TestShippedDownlinks(t *testing.T) {
	set, err := profile.Load(registry(t), profile.Embedded())
	require.NoError(t, err)
	for _, tc := range []struct {
		id, cmd string
		args    map[string]float64
		port    uint8
		want    string
	}{
		{"decentlab/dl-iam", "set_period", map[string]float64{"period": 600}, 1, "000102587e51"},
		{"decentlab/dl-sht35", "set_period_save", map[string]float64{"period": 3600}, 1, "00020e1048a4"},
		{"decentlab/dl-itst", "reset", nil, 1, "fefe00003c50"},
		{"milesight/am319", "set_interval", map[string]float64{"interval": 1200}, 85, "ff03b004"},
		{"milesight/em300-di", "reboot", nil, 85, "ff10ff"},
		{"dragino/lht65", "set_interval", map[string]float64{"interval": 600}, 2, "01000258"},
		{"generic/valve-actuator", "close", nil, 20, "00"},
	} {
		d, err := set.Downlink(tc.id, tc.cmd, tc.args)
		require.NoError(t, err, tc.id)
		assert.Equal(t, tc.want, hex.EncodeToString(d.Payload), tc.id)
		assert.Equal(t, tc.port, d.FPort, tc.id)
	}
}
