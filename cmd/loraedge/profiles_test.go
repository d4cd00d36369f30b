package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `loraedge profiles import` turns a device of a repository laid out like
// the public LoRaWAN device repository into a profile; `loraedge validate`
// loads it for a device and runs its examples, and fails when one no
// longer decodes as the vendor said.
func TestProfilesImportAndValidate(t *testing.T) {
	dir := t.TempDir()
	profiles := filepath.Join(dir, "profiles")
	out, _, err := runCmd(t, context.Background(), "profiles", "import", "--repo", "../../internal/devrepo/testdata/repo", "--out", profiles, "acme/thermo-2")
	require.NoError(t, err)
	assert.Contains(t, out, "profile acme/thermo-2 with 2 tests from the examples (1 examples without data left out)")
	conf := filepath.Join(dir, "loraedge.yaml")
	require.NoError(t, os.WriteFile(conf, []byte("profiles: {dir: "+profiles+"}\ndevices:\n"+
		"  - {dev_eui: \"0102030405060701\", activation: external, profile: acme/thermo-2}\n"), 0o600))
	out, _, err = runCmd(t, context.Background(), "validate", conf)
	require.NoError(t, err)
	assert.Contains(t, out, "valid (0 sites, 1 devices)")

	file := filepath.Join(profiles, "acme", "thermo-2.yaml")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(b), "temperature: -1", "temperature: -1.5", 1)), 0o644))
	_, _, err = runCmd(t, context.Background(), "validate", conf)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "acme/thermo-2: test 1 (Below zero): fields.temperature: want -1.5, got -1")

	_, _, err = runCmd(t, context.Background(), "profiles", "import", "--repo", "../../internal/devrepo/testdata/repo", "--out", profiles, "acme/thermo")
	assert.ErrorContains(t, err, "acme has: acme/thermo-2, acme/counter")
}
