package profile

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/codec/all"
)

// A vendor's TS013 decoder file dropped next to its profile is found
// relative to the profile, not to the working directory.
func TestJSScriptBesideProfile(t *testing.T) {
	dir := t.TempDir()
	vendor := filepath.Join(dir, "acme")
	require.NoError(t, os.MkdirAll(vendor, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(vendor, "thermo.js"), []byte(`
function decodeUplink(input) {
  var raw = (input.bytes[0] << 8) | input.bytes[1];
  if (raw & 0x8000) { raw -= 0x10000; }
  return { data: { temperature: raw / 10 }, warnings: [], errors: [] };
}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(vendor, "thermo.yaml"), []byte(`vendor: ACME
model: Thermo
codec:
  id: js
  options: {script: thermo.js}
uplink_interval: 15m
measurements:
  - {field: temperature, quantity: air_temperature}
`), 0o644))
	reg, err := all.NewRegistry()
	require.NoError(t, err)
	t.Chdir(t.TempDir()) // somewhere else entirely
	set, err := LoadDir(dir, reg)
	require.NoError(t, err)
	ms, _, err := set.Decode("acme/thermo", codec.Input{FPort: 1, Bytes: []byte{0xff, 0x9c}, RecvTime: time.Unix(0, 0)}, "d1")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.InDelta(t, -10.0, ms[0].Value, 1e-9)
}
