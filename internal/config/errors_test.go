package config

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var goSpeak = regexp.MustCompile(`json:|encoding/|strconv\.|time:|lorawan\.|\*|struct|int64|float64|%!|cannot parse|unconvertible|config\.Config|'`)

// Decoding errors name the key and say what was expected, and the checks
// of the keys that did decode still run.
func TestLoadErrorsInWords(t *testing.T) {
	yaml := `
network: {dedup_window: soon, confirmed_retries: 0}
store: {commit_interval: 5}
devices:
  - {dev_eui: "0102030405060700", activation: external}
  - {dev_eui: "0102030405060701", activation: external}
  - {dev_eui: "0102030405060702", activation: external}
  - {dev_eui: "0102030405060703", activation: otaa, app_key: "000102030405060708090a0b0c0d0e0"}
  - {dev_eui: "01020304050607zz", activation: external, tags: {a: b}}
`
	_, err := Load(Source{File: "bad.yaml", YAML: []byte(yaml), Env: []string{"LORAEDGE_UDP_QUEUE_SIZE=lots", "LORAEDGE_NETWORK_DEDUP_WINDW=1s"}})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"devices[3].app_key: expected 32 hex digits, got 31",
		`devices[4].dev_eui: expected 16 hex digits, got "01020304050607zz"`,
		"devices[4].tags[0]: expected a text, got an object",
		`network.dedup_window: expected a duration like 90s, 15m or 2h, got "soon"`,
		"network.confirmed_retries",
		`udp.queue_size: expected a whole number, got "lots"`,
		"environment LORAEDGE_NETWORK_DEDUP_WINDW: no such configuration key",
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "devices[3]: app_key: required")
	for _, line := range strings.Split(msg, "\n")[1:] {
		assert.Regexp(t, `^([a-z_]+(\[\d+\])?[.:]|environment LORAEDGE_)`, line, "every problem starts with its key")
	}
	assert.False(t, goSpeak.MatchString(msg), "Go in %q: %q", msg, goSpeak.FindString(msg))
}

// Sections limits the checks to the keys a command uses.
func TestLoadSections(t *testing.T) {
	yaml := []byte("http: {listen: \":8080\"}\nnetwork: {dedup_window: 5s}\ndevices: [{dev_eui: \"0102\", activation: external}]\n")
	_, err := Load(Source{YAML: yaml})
	require.ErrorContains(t, err, "no admin_token or read_token")
	require.ErrorContains(t, err, "network.dedup_window")

	c, err := Load(Source{YAML: yaml, Sections: []string{"data_dir", "energy", "sites"}})
	require.NoError(t, err)
	assert.Equal(t, ":8080", c.HTTP.Listen)

	_, err = Load(Source{YAML: yaml, Sections: []string{"data_dir", "devices"}})
	require.ErrorContains(t, err, "devices[0].dev_eui: expected 16 hex digits, got 4")
	assert.NotContains(t, err.Error(), "http")
	assert.NotContains(t, err.Error(), "network")

	// A key no section has is a typo wherever it is.
	_, err = Load(Source{YAML: []byte("colour: red\n"), Sections: []string{"data_dir"}})
	require.ErrorContains(t, err, "colour: no such configuration key")
}
