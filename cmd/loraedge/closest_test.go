package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An unknown firmware profile is answered with the form of ids and the
// closest ones, on the command line and in the configuration.
func TestUnknownProfileNamesCandidates(t *testing.T) {
	_, _, err := runCmd(t, context.Background(), "decode", "--profile", "elsys-ers-co2", "--hex", "0100e2")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown profile "elsys-ers-co2" (ids are vendor/model; closest: elsys/ers-co2, `)

	file := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`
sites: [{id: gs-nord, name: Schule Nord, kind: building}]
devices:
  - {dev_eui: "0102030405060701", activation: external, profile: milesight/em300di, site: gs-nrod}
`), 0o600))
	_, _, err = runCmd(t, context.Background(), "validate", file)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `devices[0].profile: unknown firmware profile "milesight/em300di" (ids are vendor/model; closest: milesight/em300-di`)
	assert.Contains(t, err.Error(), `devices[0].site: unknown site "gs-nrod" (closest: gs-nord)`)
}
