package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/loraedge/loraedge/configs"
	"github.com/loraedge/loraedge/internal/device"
)

func TestDefaultIsValid(t *testing.T) {
	require.NoError(t, Default().Validate())
}

// The commented example must say exactly what the defaults are.
func TestExampleFileEqualsDefaults(t *testing.T) {
	c, err := Load(Source{File: "loraedge.yaml", YAML: configs.Example})
	require.NoError(t, err)
	assert.Empty(t, c.Sites)
	assert.Empty(t, c.Devices)
	assert.Empty(t, c.Gateways)
	c.Sites, c.Devices, c.Gateways = nil, nil, nil
	assert.Equal(t, Default(), c)
}

func TestLoadGood(t *testing.T) {
	c, err := Load(Source{File: filepath.Join("testdata", "good.yaml")})
	require.NoError(t, err)
	assert.Equal(t, "rathaus", c.GatewayID)
	assert.Equal(t, 300*time.Millisecond, c.Network.DedupWindow)
	assert.Equal(t, "000013", c.Network.NetID.String())
	assert.Equal(t, "off", c.Network.DutyCycle, "YAML off stays the word off")
	assert.Equal(t, 5, c.Network.ConfirmedRetries)
	require.Len(t, c.Devices, 2)
	assert.Equal(t, device.OTAA, c.Devices[0].Activation)
	assert.Equal(t, "00112233445566778899aabbccddeeff", c.Devices[0].AppKey.String())
	assert.Equal(t, "26011f01", c.Devices[1].DevAddr.String())
	// Untouched keys keep their defaults.
	assert.Equal(t, "127.0.0.1:1700", c.UDP.Listen)
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"unknown-key.yaml", []string{"network", "dedup_windw"}},
		{"bad-type.yaml", []string{`udp.queue_size: expected a whole number, got "many"`}},
		{"bad-key-hex.yaml", []string{"devices[0].dev_eui"}},
		{"bad-values.yaml", []string{
			"log.level: \"loud\"", "log.format: \"xml\"", "network.dedup_window: 5s",
			"network.rx2_frequency", "network.duty_cycle: \"sometimes\"", "network.confirmed_retries: 0",
			"devices[0].site: unknown site \"nowhere\"",
			"devices[0]: app_key: required", "devices[1]: activation: \"magic\"",
			"devices[1].dev_eui: 70b3d57ed0000001 listed twice",
			"roadcast: url: \"https://example.org/latest.kmz\" has no {station}",
			"sites[0].mosmix_station: \"../x\" is not a MOSMIX station id", "sites[1].mosmix_station: only road sites",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(Source{File: filepath.Join("testdata", tt.file)})
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), tt.file)
		})
	}
}

func TestPrecedenceFlagsEnvFile(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("listen", ":1700", "")
	fs.String("log-level", "info", "")
	require.NoError(t, fs.Parse([]string{"--listen", "127.0.0.1:1800"}))
	src := Source{
		File:     filepath.Join("testdata", "good.yaml"),
		Env:      []string{"LORAEDGE_UDP_LISTEN=:1900", "LORAEDGE_NETWORK_DEDUP_WINDOW=250ms", "LORAEDGE_LOG_LEVEL=warn", "PATH=/bin"},
		Flags:    fs,
		FlagKeys: map[string]string{"listen": "udp.listen", "log-level": "log.level"},
	}
	c, err := Load(src)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1800", c.UDP.Listen, "a set flag beats env")
	assert.Equal(t, "warn", c.Log.Level, "env beats file when the flag is not set")
	assert.Equal(t, 250*time.Millisecond, c.Network.DedupWindow, "env beats file")
	assert.Equal(t, "rathaus", c.GatewayID, "file beats default")
}

func TestUnknownEnvVariableFails(t *testing.T) {
	_, err := Load(Source{Env: []string{"LORAEDGE_NETWORK_DEDUP_WINDW=1s"}})
	require.ErrorContains(t, err, "LORAEDGE_NETWORK_DEDUP_WINDW")
}

func TestBadEnvValueNamesKey(t *testing.T) {
	_, err := Load(Source{Env: []string{"LORAEDGE_UDP_QUEUE_SIZE=lots"}})
	require.ErrorContains(t, err, "udp.queue_size")
}

func TestMissingFile(t *testing.T) {
	_, err := Load(Source{File: filepath.Join(t.TempDir(), "nope.yaml")})
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestMalformedYAML(t *testing.T) {
	_, err := Load(Source{File: "x.yaml", YAML: []byte("udp: [listen\n")})
	require.ErrorContains(t, err, "x.yaml")
}

func TestKeysCoverEnvironment(t *testing.T) {
	keys := KeyPaths()
	assert.Contains(t, keys, "network.dedup_window")
	assert.Contains(t, keys, "simulator.enabled")
	assert.NotContains(t, keys, "devices")
}

func TestHTTPNeedsAToken(t *testing.T) {
	_, err := Load(Source{Env: []string{"LORAEDGE_HTTP_LISTEN=:8080"}})
	require.ErrorContains(t, err, "no admin_token or read_token")
	_, err = Load(Source{Env: []string{"LORAEDGE_HTTP_LISTEN=:8080", "LORAEDGE_HTTP_ADMIN_TOKEN=short"}})
	require.ErrorContains(t, err, "http.admin_token: must have at least 16 characters")
	c, err := Load(Source{Env: []string{"LORAEDGE_HTTP_LISTEN=:8080", "LORAEDGE_HTTP_ADMIN_TOKEN=0123456789abcdef0"}})
	require.NoError(t, err)
	assert.Equal(t, "0123456789abcdef0", c.HTTP.AdminToken)
}

// The commented example names every key, so it documents the whole
// configuration.
func TestExampleFileShowsEveryKey(t *testing.T) {
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(configs.Example, &doc))
	for _, key := range KeyPaths() {
		var node any = doc
		for _, part := range strings.Split(key, ".") {
			m, ok := node.(map[string]any)
			require.True(t, ok, "configs/loraedge.yaml lacks %s", key)
			node, ok = m[part]
			require.True(t, ok, "configs/loraedge.yaml lacks %s", key)
		}
	}
}
