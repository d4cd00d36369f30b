package config

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each problem of the sensorthings and datex2 sections names its full key,
// and a command that checks only some sections hears only of those.
func TestPlatformSectionsNameTheirKeys(t *testing.T) {
	file := filepath.Join("testdata", "bad-platforms.yaml")
	_, err := Load(Source{File: file})
	require.Error(t, err)
	for _, w := range []string{
		`sensorthings.url: "http://x/v1.0" does not end in the version path /v1.1`,
		"sensorthings.batch_size: 0 is outside 1..10000",
		`datex2.country: "Germany" is not an ISO 3166-1 alpha-2 code`,
		"datex2.max_age: 1s is outside 1m..168h",
	} {
		assert.Contains(t, err.Error(), w)
	}
	_, err = Load(Source{File: file, Sections: []string{"data_dir", "datex2"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "datex2.country")
	assert.NotContains(t, err.Error(), "sensorthings")
}
