package profile_test

import (
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
)

func registry(t testing.TB) *codec.Registry {
	t.Helper()
	r, err := all.NewRegistry()
	require.NoError(t, err)
	return r
}

func TestShippedProfilesLoad(t *testing.T) {
	reg := registry(t)
	set, err := profile.Load(reg, profile.Embedded())
	require.NoError(t, err)
	require.NotZero(t, set.Len())
	known := map[string]bool{}
	for _, id := range reg.IDs() {
		known[id] = true
	}
	for _, id := range set.IDs() {
		p, ok := set.Get(id)
		require.True(t, ok)
		assert.True(t, known[p.Codec.ID], "%s names unregistered codec %s", id, p.Codec.ID)
		assert.NotEmpty(t, p.Vendor, id)
		assert.NotEmpty(t, p.Mappings, id)
		assert.NotNil(t, p.Decoder(), id)
		for _, m := range p.Mappings {
			assert.True(t, measurement.Known(m.Quantity), "%s: %s", id, m.Quantity)
		}
	}
	for _, id := range []string{"generic/road-station", "generic/valve-actuator"} {
		_, ok := set.Get(id)
		assert.True(t, ok, id)
	}
}

// The directory copy on disk must load the same as the embedded one.
func TestShippedProfilesFromDir(t *testing.T) {
	set, err := profile.LoadDir("../../firmware-profiles", registry(t))
	require.NoError(t, err)
	emb, err := profile.Load(registry(t), profile.Embedded())
	require.NoError(t, err)
	assert.Equal(t, emb.IDs(), set.IDs())
}

func TestBadProfiles(t *testing.T) {
	_, err := profile.LoadDir("testdata/bad", registry(t))
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`testdata/bad/acme/broken.yaml:3: unknown key "colour"`,
		`testdata/bad/acme/broken.yaml:5: unknown LoRaWAN version "1.0.9"`,
		`testdata/bad/acme/broken.yaml:6: unknown LoRaWAN class "D"`,
		`testdata/bad/acme/broken.yaml:8: unknown codec id "no-such-codec"`,
		`testdata/bad/acme/broken.yaml:9: bad duration "10 minutes"`,
		`testdata/bad/acme/broken.yaml:10: bad firmware version "1.x"`,
		`testdata/bad/acme/broken.yaml:13: unknown quantity "air_temprature"`,
		`testdata/bad/acme/broken.yaml:16: scale must not be 0`,
		`testdata/bad/acme/broken.yaml:17: unknown key "unit"`,
		`testdata/bad/acme/broken.yaml:20: downlink set_interval: fport 300 outside 1..223`,
		`testdata/bad/acme/broken.yaml:21: downlink set_interval: template: placeholder {interval:u16xx}: unknown encoding "u16xx"`,
		`testdata/bad/acme/broken.yaml:23: downlink set_interval: param interval min above max`,
		`testdata/bad/acme/broken.yaml:26: downlink close: bad hex "0g"`,
		`testdata/bad/acme/badoptions.yaml:6: codec options:`,
		`unknown type "u17"`,
		`testdata/bad/acme2/typo.yaml:7: codec decentlab-dl-sht35 has no field "air_temprature"`,
	} {
		assert.Contains(t, msg, want)
	}
}

func TestBadProfilePath(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flat.yaml"), []byte("vendor: x\n"), 0o600))
	_, err := profile.LoadDir(dir, registry(t))
	require.ErrorContains(t, err, "flat.yaml: profile files must be <vendor>/<model>.yaml")

	dir = t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "acme"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "acme", "x.yml"), []byte("vendor: x\n"), 0o600))
	_, err = profile.LoadDir(dir, registry(t))
	require.ErrorContains(t, err, "x.yml: profile files end in .yaml")
}

func TestParseProblemsReportedTogether(t *testing.T) {
	_, err := profile.Parse("acme/x", "x.yaml", []byte("vendor: a\nmodel: b\ncodec: {id: layout, options: {fport: 1, fields: [{name: a, offset: 0, type: u8}]}}\nmeasurements: [{field: a, quantity: nope}, {field: a, quantity: nope2}]\n"), registry(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `x.yaml:4: unknown quantity "nope"`)
	assert.Contains(t, err.Error(), `x.yaml:4: unknown quantity "nope2"`)
}

func loadGood(t *testing.T) *profile.Set {
	t.Helper()
	set, err := profile.LoadDir("testdata/good", registry(t))
	require.NoError(t, err)
	return set
}

func TestDecodeMapsValues(t *testing.T) {
	set := loadGood(t)
	p, ok := set.Get("acme/sensor")
	require.True(t, ok)
	assert.Equal(t, 15*time.Minute, p.UplinkInterval)
	assert.Equal(t, profile.LoRaWAN{Version: "1.0.2", Class: "C"}, p.LoRaWAN)

	recv := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := codec.Input{FPort: 5, Bytes: []byte{0xff, 0x9c, 0x27, 0x10}, RecvTime: recv} // -10.0 degC, 10000 Pa
	ms, res, err := set.Decode("acme/sensor", in, "0102030405060708")
	require.NoError(t, err)
	require.Len(t, res.Values, 2)
	require.Len(t, ms, 3)
	byQ := map[measurement.Quantity]measurement.Measurement{}
	for _, m := range ms {
		byQ[m.Quantity] = m
		assert.Equal(t, recv, m.Time)
		assert.Equal(t, "0102030405060708", m.Device)
		assert.Equal(t, measurement.Units[m.Quantity], m.Unit)
	}
	assert.InDelta(t, -10.0, byQ[measurement.AirTemperature].Value, 1e-9)
	assert.InDelta(t, -11.0, byQ[measurement.RoadSurfaceTemperature].Value, 1e-9)
	assert.InDelta(t, 100.0, byQ[measurement.BarometricPressure].Value, 1e-9)

	_, _, err = set.Decode("acme/sensor", codec.Input{FPort: 6, Bytes: in.Bytes}, "x")
	assert.ErrorIs(t, err, codec.ErrFPort)
	_, _, err = set.Decode("acme/nope", in, "x")
	assert.ErrorIs(t, err, profile.ErrUnknownProfile)
}

func TestDownlinks(t *testing.T) {
	set := loadGood(t)
	for _, tc := range []struct {
		cmd  string
		args map[string]float64
		want string
		port uint8
		err  error
	}{
		// Decentlab vectors (FORMATS.md): set period 600 s, 3600 s with CRC-16/MODBUS.
		{cmd: "set_period", args: map[string]float64{"period": 600}, want: "000102587e51", port: 1},
		{cmd: "set_interval_minutes", args: map[string]float64{"minutes": 20}, want: "ff03b004", port: 85},
		{cmd: "reset", want: "fefe00003c50", port: 1},
		{cmd: "set_period", args: map[string]float64{"period": 5}, err: profile.ErrBadArgument},
		{cmd: "set_period", args: map[string]float64{}, err: profile.ErrBadArgument},
		{cmd: "set_period", args: map[string]float64{"period": 600, "x": 1}, err: profile.ErrBadArgument},
		{cmd: "fly", err: profile.ErrUnknownCommand},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			d, err := set.Downlink("acme/sensor", tc.cmd, tc.args)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, hex.EncodeToString(d.Payload))
			assert.Equal(t, tc.port, d.FPort)
		})
	}
}

func TestCRC16Modbus(t *testing.T) {
	for in, want := range map[string]uint16{"00020e10": 0x48a4, "00070000": 0xe5b1, "fefe0000": 0x3c50} {
		b, _ := hex.DecodeString(in)
		assert.Equal(t, want, profile.CRC16Modbus(b), in)
	}
}

func TestFirmwareMatches(t *testing.T) {
	p, _ := loadGood(t).Get("acme/sensor")
	assert.True(t, p.FirmwareMatches("1.5"))
	assert.True(t, p.FirmwareMatches("1.9.3"))
	assert.False(t, p.FirmwareMatches("1.9.4"))
	assert.False(t, p.FirmwareMatches("1.1"))
	assert.True(t, p.FirmwareMatches(""))
}

func TestValveActuator(t *testing.T) {
	set, err := profile.Load(registry(t), profile.Embedded())
	require.NoError(t, err)
	d, err := set.Downlink("generic/valve-actuator", "close", nil)
	require.NoError(t, err)
	assert.Equal(t, profile.Downlink{FPort: 20, Payload: []byte{0}}, d)
	d, err = set.Downlink("generic/valve-actuator", "open", nil)
	require.NoError(t, err)
	assert.Equal(t, []byte{1}, d.Payload)

	ms, _, err := set.Decode("generic/valve-actuator", codec.Input{FPort: 20, Bytes: []byte{1, 0x0c, 0x1c}}, "d")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, measurement.ValveState, ms[0].Quantity)
	assert.Equal(t, 1.0, ms[0].Value)
	assert.InDelta(t, 3.1, ms[1].Value, 1e-9)
}

func TestRoadStation(t *testing.T) {
	set, err := profile.Load(registry(t), profile.Embedded())
	require.NoError(t, err)
	// -2.50 degC surface, 1.25 degC air, 87.5 %, state 32 wet, 150 um water, 3.6 V
	b, _ := hex.DecodeString("ff06007d222e200000960e10")
	ms, _, err := set.Decode("generic/road-station", codec.Input{FPort: 10, Bytes: b}, "d")
	require.NoError(t, err)
	got := map[measurement.Quantity]float64{}
	for _, m := range ms {
		got[m.Quantity] = m.Value
	}
	want := map[measurement.Quantity]float64{
		measurement.RoadSurfaceTemperature: -2.5, measurement.AirTemperature: 1.25,
		measurement.RelativeHumidity: 87.5, measurement.RoadSurfaceState: 32,
		measurement.WaterFilmHeight: 0.15, measurement.BatteryVoltage: 3.6,
	}
	require.Len(t, got, len(want))
	for q, v := range want {
		assert.InDelta(t, v, got[q], 1e-9, q)
	}
	_, _, err = set.Decode("generic/road-station", codec.Input{FPort: 10, Bytes: b[:11]}, "d")
	assert.True(t, errors.Is(err, codec.ErrTruncated), "%v", err)
	assert.False(t, strings.Contains(err.Error(), "panic"))

	// Firmware 1.1 appends the freezing temperature: -3.00 degC, or 0x8000
	// where the sensor cannot measure.
	ms, _, err = set.Decode("generic/road-station", codec.Input{FPort: 10, Bytes: append(b[:12:12], 0xfe, 0xd4)}, "d")
	require.NoError(t, err)
	require.Len(t, ms, len(want)+1)
	assert.Equal(t, measurement.FreezingTemperature, ms[len(ms)-1].Quantity)
	assert.InDelta(t, -3.0, ms[len(ms)-1].Value, 1e-9)
	ms, _, err = set.Decode("generic/road-station", codec.Input{FPort: 10, Bytes: append(b[:12:12], 0x80, 0x00)}, "d")
	require.NoError(t, err)
	assert.Len(t, ms, len(want))

	// Firmware 1.2 appends the salt concentration: 2.35 %, or 0xFFFF.
	ms, _, err = set.Decode("generic/road-station", codec.Input{FPort: 10, Bytes: append(b[:12:12], 0xfe, 0xd4, 0x00, 0xeb)}, "d")
	require.NoError(t, err)
	require.Len(t, ms, len(want)+2)
	assert.Equal(t, measurement.SaltConcentration, ms[len(ms)-1].Quantity)
	assert.InDelta(t, 2.35, ms[len(ms)-1].Value, 1e-9)
	ms, _, err = set.Decode("generic/road-station", codec.Input{FPort: 10, Bytes: append(b[:12:12], 0xfe, 0xd4, 0xff, 0xff)}, "d")
	require.NoError(t, err)
	assert.Len(t, ms, len(want)+1, "0xFFFF: no salt reading")
}

func TestLoadDefaultOverrides(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "generic"), 0o755))
	b, err := os.ReadFile("../../firmware-profiles/generic/valve-actuator.yaml")
	require.NoError(t, err)
	b = []byte(strings.Replace(string(b), "uplink_interval: 1h", "uplink_interval: 5m", 1))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "generic", "valve-actuator.yaml"), b, 0o600))
	set, err := profile.LoadDefault(registry(t), dir)
	require.NoError(t, err)
	p, ok := set.Get("generic/valve-actuator")
	require.True(t, ok)
	assert.Equal(t, 5*time.Minute, p.UplinkInterval)
	assert.Contains(t, p.File, dir)
	_, ok = set.Get("decentlab/dl-iam")
	assert.True(t, ok, "embedded profiles stay")
}

func TestStructuralYAMLErrors(t *testing.T) {
	reg := registry(t)
	for _, tc := range []struct{ yaml, want string }{
		{"vendor: a\nmodel: b\nvendor: c\n", `x.yaml:3: mapping key "vendor" already defined at line 1`},
		{"vendor: a\nmodel: [b\n", "did not find expected"}, // yaml.v3 names the line where the flow started
		{"- a\n- b\n", "x.yaml:1: cannot unmarshal !!seq"},
		{"\n", "x.yaml:1: empty profile"},
	} {
		_, err := profile.Parse("a/b", "x.yaml", []byte(tc.yaml), reg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
		assert.NotContains(t, err.Error(), "missing vendor")
	}
}

type nanDecoder struct{}

func (nanDecoder) Decode(codec.Input) (codec.Result, error) {
	return codec.Result{Values: []codec.Value{
		{Field: "t", Value: math.NaN()}, {Field: "t", Value: math.Inf(1)}, {Field: "t", Value: 1.5, Channel: 2},
	}}, nil
}

func TestDecodeDropsNonFinite(t *testing.T) {
	reg := codec.NewRegistry()
	require.NoError(t, reg.Register("nan", func(map[string]any) (codec.Decoder, error) { return nanDecoder{}, nil }))
	p, err := profile.Parse("a/b", "x.yaml", []byte("vendor: a\nmodel: b\ncodec: {id: nan}\nmeasurements: [{field: t, quantity: air_temperature}, {field: t, channel: 3, quantity: road_surface_temperature}]\n"), reg)
	require.NoError(t, err)
	ms, res, err := p.Decode(codec.Input{}, "d")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, 1.5, ms[0].Value)
	assert.Equal(t, 2, ms[0].Channel)
	assert.Equal(t, measurement.AirTemperature, ms[0].Quantity)
	assert.Len(t, res.Warnings, 2)
}

func TestProfileADRSettings(t *testing.T) {
	reg := registry(t)
	const head = "vendor: a\nmodel: b\ncodec: {id: layout, options: {fport: 1, fields: [{name: a, offset: 0, type: u8}]}}\nmeasurements: [{field: a, quantity: air_temperature}]\n"
	p, err := profile.Parse("a/b", "x.yaml", []byte(head+"lorawan: {adr: off, adr_min_dr: 1, adr_max_dr: 4, adr_margin_db: 12.5}\n"), reg)
	require.NoError(t, err)
	assert.True(t, p.LoRaWAN.ADR.Off)
	require.NotNil(t, p.LoRaWAN.ADR.MinDR)
	require.NotNil(t, p.LoRaWAN.ADR.MaxDR)
	require.NotNil(t, p.LoRaWAN.ADR.MarginDB)
	assert.Equal(t, []any{1, 4, 12.5}, []any{*p.LoRaWAN.ADR.MinDR, *p.LoRaWAN.ADR.MaxDR, *p.LoRaWAN.ADR.MarginDB})

	p, err = profile.Parse("a/b", "x.yaml", []byte(head), reg)
	require.NoError(t, err)
	assert.Equal(t, profile.ADR{}, p.LoRaWAN.ADR, "no adr keys: the network's settings")

	_, err = profile.Parse("a/b", "x.yaml", []byte(head+"lorawan: {adr: maybe, adr_min_dr: 5, adr_max_dr: 2, adr_margin_db: -1}\n"), reg)
	require.Error(t, err)
	for _, want := range []string{`adr is "maybe"`, "adr_min_dr 5 is above adr_max_dr 2", "adr_margin_db -1 is outside"} {
		assert.Contains(t, err.Error(), want)
	}
}
