package mqttclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

func TestTLSConfigBuild(t *testing.T) {
	pki := testserver.NewPKI(t)
	c, err := TLSConfig{}.Build()
	require.NoError(t, err)
	assert.Nil(t, c)
	c, err = TLSConfig{CAFile: pki.CAFile, CertFile: pki.CertFile, KeyFile: pki.KeyFile, ServerName: "broker"}.Build()
	require.NoError(t, err)
	assert.Len(t, c.Certificates, 1)
	assert.Equal(t, "broker", c.ServerName)
	assert.NotNil(t, c.RootCAs)
	_, err = TLSConfig{CAFile: pki.KeyFile}.Build()
	assert.ErrorContains(t, err, "no PEM certificates")
	_, err = TLSConfig{CertFile: pki.CertFile, KeyFile: pki.CAFile}.Build()
	assert.Error(t, err)
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.Validate())
	c.URL = "http://x"
	c.BackoffMin = time.Hour
	c.TLS.KeyFile = "/nonexistent.key"
	err := c.Validate()
	for _, want := range []string{`url: scheme "http"`, "backoff_min: larger than backoff_max", "tls: cert_file and key_file go together", "key_file:"} {
		assert.ErrorContains(t, err, want)
	}
	c = DefaultConfig()
	c.URL = "tcp://"
	assert.EqualError(t, c.Validate(), "url: no host")
}

func TestWithDefaults(t *testing.T) {
	c := Config{KeepAlive: -time.Second, BackoffMax: time.Minute}.WithDefaults()
	assert.Equal(t, 30*time.Second, c.KeepAlive)
	assert.Equal(t, 10*time.Second, c.ConnectTimeout)
	assert.Equal(t, 500*time.Millisecond, c.BackoffMin)
	assert.Equal(t, time.Minute, c.BackoffMax, "set values stay")
	assert.Empty(t, c.ClientID, "each section derives its own")
}
