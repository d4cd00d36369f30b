package energy

import (
	"os"
	"testing"

	"github.com/go-viper/mapstructure/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestExampleConfig decodes testdata/energy.yaml the way internal/config
// does (mapstructure, unknown keys are errors) and validates it.
func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("testdata/energy.yaml")
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal(b, &raw))
	var c Config
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result: &c, ErrorUnused: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(mapstructure.StringToTimeDurationHookFunc(), mapstructure.TextUnmarshallerHookFunc()),
	})
	require.NoError(t, err)
	require.NoError(t, dec.Decode(raw["energy"]))
	require.NoError(t, c.Validate())
	assert.Len(t, c.Meters, 2)
	assert.Equal(t, 0.01, c.Meters[1].PulseWeight)
	assert.Equal(t, 540.0, c.Sites[0].DegreeDays["2026-01"])
	r, err := c.resolve()
	require.NoError(t, err)
	tf, ok := r.tariff("rathaus", Electricity, 2026)
	require.True(t, ok)
	assert.Equal(t, 0.29, tf.EnergyPrice, "a site's own tariff wins")
	tf, _ = r.tariff("gs-nord", Electricity, 2026)
	assert.Equal(t, 0.32, tf.EnergyPrice)
	assert.Equal(t, 0.182, r.factor(Gas, 2026).KgPerUnit)

	// The generator's configuration round-trips through YAML.
	out, err := yaml.Marshal(Config{Meters: []MeterConfig{{ID: "m", Site: "s", Medium: Water, Device: "d"}}})
	require.NoError(t, err)
	assert.Contains(t, string(out), "medium: water")
}
