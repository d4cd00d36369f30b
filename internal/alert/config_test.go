package alert

import (
	"os"
	"testing"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// decodeConfig decodes like internal/config: unknown keys are errors.
func decodeConfig(t *testing.T, path string) Config {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal(b, &raw))
	var c Config
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &c, ErrorUnused: true,
		DecodeHook: mapstructure.StringToTimeDurationHookFunc()})
	require.NoError(t, err)
	require.NoError(t, dec.Decode(raw["alert"]))
	return c
}

func TestExampleConfig(t *testing.T) {
	c := decodeConfig(t, "testdata/alert.yaml")
	require.NoError(t, c.Validate())
	require.Len(t, c.Rules, 13)
	assert.Equal(t, 20*time.Minute, c.Rules[0].EscalateAfter)
	assert.Equal(t, -2.0, *c.Rules[9].On)
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	// The example builds with every dependency wired.
	newHarness(t, c, "winter-night,school-day,building-meters", start, func(o *Options) {
		o.MQTT, o.Gateways, o.Disk, o.DiskBudget = &publisher{}, &gateways{}, &disk{}, 1<<30
	})
}

func TestConfigValidate(t *testing.T) {
	good := func() Config {
		return Config{Receivers: []ReceiverConfig{{Name: "h", Type: "webhook", URL: "http://x/y"}},
			Rules: []RuleConfig{{Name: "r", Kind: KindCO2, Receivers: []string{"h"}}}}
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"good", func(*Config) {}, nil},
		{"bad language and group", func(c *Config) { c.Language, c.GroupBy = "fr", "team" }, []string{"alert.language", "alert.group_by"}},
		{"receiver problems", func(c *Config) {
			c.Receivers = append(c.Receivers, ReceiverConfig{Name: "h", Type: "webhook", URL: "ftp://x"},
				ReceiverConfig{Name: "m", Type: "email"}, ReceiverConfig{Name: "z", Type: "pager"})
		}, []string{"receivers[1].name: duplicate", "receivers[1].url", "receivers[2].smtp_host", "receivers[2].from", "receivers[2].to", "receivers[3].type"}},
		{"rule problems", func(c *Config) {
			c.Rules = append(c.Rules,
				RuleConfig{Name: "r", Kind: "magic"},
				RuleConfig{Name: "t", Kind: KindThreshold, Receivers: []string{"nobody"}},
				RuleConfig{Name: "q", Kind: KindThreshold, Quantity: "flux", On: ptr(1)},
				RuleConfig{Name: "b", Kind: KindBurst},
				RuleConfig{Name: "a", Kind: KindAirQuality, Quantity: "co2"},
				RuleConfig{Name: "l", Kind: KindLeak, NightFrom: 5, NightTo: 3, Action: &ActionConfig{}},
				RuleConfig{Name: "x", Kind: KindThreshold, Quantity: "co2", On: ptr(1), Bands: []Band{{Level: "panic"}}},
			)
		}, []string{"rules[1].name: duplicate", "rules[1].kind", "rules[2].receivers: unknown receiver", "rules[2]: give either on/off or bands",
			"rules[3].quantity: unknown quantity", "rules[4].nominal_m3h", "rules[5].quantity", "rules[6]: night_from", "rules[6].action.command",
			"rules[6].action: profile or devices", "rules[7].bands[0].level", "rules[7]: give either"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.mod(&c)
			err := c.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestNewRejectsMissingDependencies(t *testing.T) {
	_, err := New(Options{Config: Config{}})
	assert.ErrorContains(t, err, "Store and Now are required")
}

// Every configurable kind has an evaluator registered by its file.
func TestEveryKindRegistered(t *testing.T) {
	for _, k := range kinds {
		_, ok := kindSpecs[k]
		assert.True(t, ok, k)
	}
	assert.Len(t, kindSpecs, len(kinds))
}
