package sensorthings

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
)

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate(), "disabled: not checked")
	on := DefaultConfig()
	on.Enabled = true
	require.NoError(t, on.Validate())
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"url scheme", func(c *Config) { c.URL = "ftp://x/v1.1" }, `url: "ftp://x/v1.1" is not an http(s) URL`},
		{"url version", func(c *Config) { c.URL = "http://x/FROST-Server/v1.0" }, "does not end in the version path /v1.1"},
		{"version", func(c *Config) { c.Version = "2.0"; c.URL = "http://x/v2.0" }, `version: "2.0" is not 1.0 or 1.1`},
		{"both auths", func(c *Config) { c.Token, c.Username = "t", "u" }, "token: set either token or username/password"},
		{"password alone", func(c *Config) { c.Password = "p" }, "username: required with password"},
		{"batch", func(c *Config) { c.BatchSize = 0 }, "batch_size: 0 is outside 1..10000"},
		{"flush", func(c *Config) { c.FlushInterval = time.Millisecond }, "flush_interval: 1ms is outside"},
		{"timeout", func(c *Config) { c.Timeout = time.Hour }, "timeout: 1h0m0s is outside"},
		{"backoff", func(c *Config) { c.MaxBackoff = 0 }, "max_backoff: 0s is outside"},
		{"mqtt url", func(c *Config) { c.MQTTURL = "http://broker" }, `mqtt_url: scheme "http" is not tcp`},
		{"mqtt token", func(c *Config) { c.MQTTURL, c.Token = "tcp://broker:1883", "t" }, "mqtt_url: the MQTT interface takes username and password"},
		{"confirm", func(c *Config) { c.ConfirmTimeout = 0 }, "confirm_timeout: 0s is outside 100ms..10m"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := on
			tc.edit(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// Every canonical unit has a SensorThings unit with a definition URI.
func TestEveryUnitMapped(t *testing.T) {
	for q, u := range measurement.Units {
		uom, ok := units[u]
		require.True(t, ok, "%s: unit %q has no SensorThings unit", q, u)
		assert.NotEmpty(t, uom.Name)
		assert.Regexp(t, `^(http://qudt\.org/vocab/unit/|urn:loraedge:unit:)`, uom.Definition)
	}
	assert.Equal(t, UnitOfMeasurement{Name: "furlong", Symbol: "furlong", Definition: "urn:loraedge:unit:furlong"}, Unit("furlong"))
}
