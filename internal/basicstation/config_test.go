package basicstation

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

func TestDefaultConfigIsOffAndValid(t *testing.T) {
	c := DefaultConfig()
	assert.False(t, c.Enabled())
	require.NoError(t, c.Validate())
}

func TestConfigValidate(t *testing.T) {
	pki := testserver.NewPKI(t)
	dir := t.TempDir()
	short := filepath.Join(dir, "short.key")
	require.NoError(t, os.WriteFile(short, []byte("Authorization: Bearer x\n"), 0o600))
	good := func() Config {
		c := DefaultConfig()
		c.Listen = ":8887"
		c.TLS = TLSConfig{CertFile: pki.ServerCertFile, KeyFile: pki.ServerKeyFile, ClientCAFile: pki.CAFile}
		c.Routers = []RouterConfig{{ID: lorawan.EUI64{1}}}
		return c
	}
	require.NoError(t, good().Validate())
	cases := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"no tls", func(c *Config) { c.TLS = TLSConfig{} }, []string{"basicstation.tls.cert_file: required", "basicstation.tls.key_file: required",
			"basicstation.routers[0]: no credentials"}},
		{"missing files", func(c *Config) { c.TLS.CertFile, c.TLS.ClientCAFile = "/nonexistent.pem", "/nonexistent-ca.pem" },
			[]string{"basicstation.tls.cert_file:", "basicstation.tls.client_ca_file:"}},
		{"no routers", func(c *Config) { c.Routers = nil }, []string{"basicstation.routers: required"}},
		{"router twice and without id", func(c *Config) { c.Routers = append(c.Routers, c.Routers[0], RouterConfig{}) },
			[]string{"basicstation.routers[1].id: 0100000000000000 listed twice", "basicstation.routers[2].id: required"}},
		{"bad token file", func(c *Config) { c.Routers[0].TokenFile = short }, []string{"basicstation.routers[0].token_file:", "shorter than 16"}},
		{"limits", func(c *Config) {
			c.MaxMessageBytes, c.MessagesPerSecond, c.Burst, c.QueueSize, c.DntxedTimeout = 10, 0, 0, 0, time.Hour
		}, []string{"max_message_bytes", "messages_per_second", "burst", "queue_size", "dntxed_timeout"}},
		{"listen and uri", func(c *Config) { c.Listen, c.URI = "8887", "ws://lns" }, []string{"basicstation.listen:", "basicstation.uri:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mutate(&c)
			err := c.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestReadTokenForms(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"header": "Authorization: Bearer abcdefghijklmnop\r\n",
		"bare":   "Bearer abcdefghijklmnop\n",
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		tok, err := readToken(p)
		require.NoError(t, err)
		assert.Equal(t, "Bearer abcdefghijklmnop", tok, name)
		assert.False(t, strings.ContainsAny(tok, "\r\n"))
	}
}

func TestWarnsAboutReadableTokenFiles(t *testing.T) {
	dir := t.TempDir()
	open, closed := filepath.Join(dir, "open.key"), filepath.Join(dir, "closed.key")
	require.NoError(t, os.WriteFile(open, []byte("Bearer abcdefghijklmnop\n"), 0o600))
	require.NoError(t, os.Chmod(open, 0o644))
	require.NoError(t, os.WriteFile(closed, []byte("Bearer abcdefghijklmnop\n"), 0o600))
	var buf strings.Builder
	s := &Server{log: slog.New(slog.NewTextHandler(&buf, nil))}
	s.warnReadable(Config{Routers: []RouterConfig{{TokenFile: open}, {TokenFile: closed}}})
	assert.Contains(t, buf.String(), "readable by everyone")
	assert.Contains(t, buf.String(), "open.key")
	assert.NotContains(t, buf.String(), "closed.key")
}
