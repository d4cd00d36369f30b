package devrepo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/profile"
)

// write puts p where a profiles directory wants it.
func write(t *testing.T, dir string, p Profile) {
	t.Helper()
	vd := filepath.Join(dir, p.Vendor)
	require.NoError(t, os.MkdirAll(vd, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(vd, p.Model+".yaml"), p.YAML, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(vd, p.ScriptName), p.Script, 0o644))
}

// The test repository's Thermo 2 becomes a profile that loads, decodes
// with the vendor's JavaScript and passes its examples as self-test; a
// wrong expectation fails it, naming the test and the field.
func TestImportThermo(t *testing.T) {
	p, err := Import(Options{Repo: "testdata/repo", ID: "acme/thermo-2"})
	require.NoError(t, err)
	assert.Equal(t, 2, p.Tests)
	assert.Equal(t, 1, p.Skipped, "the example of an error has no data")
	assert.Equal(t, []string(nil), p.Unmapped)
	assert.Contains(t, string(p.YAML), "vendor: ACME Sensors\n")
	assert.Contains(t, string(p.YAML), "version: 1.0.3")

	dir := t.TempDir()
	write(t, dir, p)
	reg, err := all.NewRegistry()
	require.NoError(t, err)
	set, err := profile.LoadDir(dir, reg)
	require.NoError(t, err, "%s", p.YAML)
	assert.Empty(t, set.SelfTest())
	pr, ok := set.Get("acme/thermo-2")
	require.True(t, ok)
	assert.Equal(t, "2.1", pr.Firmware.Min)
	ms, _, err := set.Decode("acme/thermo-2", codec.Input{FPort: 2, Bytes: []byte{0x00, 0xD7, 0x30, 0x02, 0x64, 0x0B, 0xC2}, RecvTime: time.Unix(0, 0)}, "d")
	require.NoError(t, err)
	got := map[string]float64{}
	for _, m := range ms {
		got[string(m.Quantity)] = m.Value
	}
	assert.InDelta(t, 3.01, got["battery_voltage"], 1e-9, "vdd in mV, scaled to V")
	delete(got, "battery_voltage")
	assert.Equal(t, map[string]float64{"air_temperature": 21.5, "relative_humidity": 48, "co2": 612}, got)

	p.YAML = bytes.Replace(p.YAML, []byte("co2: 612"), []byte("co2: 613"), 1)
	write(t, dir, p)
	set, err = profile.LoadDir(dir, reg)
	require.NoError(t, err)
	errs := set.SelfTest()
	require.Len(t, errs, 1)
	assert.Equal(t, "acme/thermo-2: test 0 (Room at 21.5 degC, 48 % humidity, 612 ppm CO2, battery 3.01 V): fields.co2: want 613, got 612", errs[0].Error())
}

func TestImportErrors(t *testing.T) {
	_, err := Import(Options{Repo: "testdata/repo", ID: "acme/thermo"})
	assert.ErrorContains(t, err, "(acme has: acme/thermo-2, acme/counter)")
	_, err = Import(Options{Repo: "testdata/repo", ID: "Thermo 2"})
	assert.ErrorContains(t, err, "expected vendor/model")
	_, err = Import(Options{Repo: "testdata/repo", ID: "acme/counter"})
	assert.ErrorContains(t, err, "no firmware version has a EU863-870 profile with a codec (regions: EU863-870)")
	_, err = Import(Options{Repo: "testdata/repo", ID: "acme/thermo-2", Region: "AS923"})
	assert.ErrorContains(t, err, "(regions: EU863-870, US902-928)")
	_, err = Import(Options{Repo: "testdata/repo", ID: "acme/thermo-2", Map: map[string]string{"co2": "carbon"}})
	assert.ErrorContains(t, err, `--map co2=carbon: unknown quantity "carbon"`)
	p, err := Import(Options{Repo: "testdata/repo", ID: "acme/thermo-2", Map: map[string]string{"temperature": "road_surface_temperature"}})
	require.NoError(t, err)
	assert.Contains(t, string(p.YAML), "quantity: road_surface_temperature")
}
