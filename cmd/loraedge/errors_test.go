package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/store"
)

// goSpeak matches what an operator must never read.
var goSpeak = regexp.MustCompile(`json:|encoding/|strconv\.|time:|lorawan\.|\*|struct|int64|float64|Go struct field|%!|cannot parse|unconvertible`)

// validate lists the problems of every stage in one run: values that do
// not decode, checks across keys, and firmware profiles.
func TestValidateAllStages(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`
udp: {queue_size: many}
network: {dedup_window: 5s, rx2_frequency: soon}
http: {listen: ":8080", colour: red}
devices:
  - {dev_eui: "0102030405060701", activation: otaa, app_key: "000102030405060708090a0b0c0d0e0f", profile: acme/rocket}
  - {dev_eui: "0102030405060702", activation: otaa, app_key: "000102030405060708090a0b0c0d0e0"}
  - {dev_eui: "01020304050607", activation: external}
  - {dev_eui: "0102030405060701", activation: magic}
`), 0o600))
	_, _, err := runCmd(t, context.Background(), "validate", file)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`udp.queue_size: expected a whole number, got "many"`,
		`network.rx2_frequency: expected a whole number`,
		`http.colour: no such configuration key`,
		`devices[1].app_key: expected 32 hex digits, got 31`,
		`devices[2].dev_eui: expected 16 hex digits, got 14`,
		`network.dedup_window`,
		`http: listen is set but no admin_token or read_token`,
		`devices[3].dev_eui: 0102030405060701 listed twice`,
		`devices[3]: activation: "magic"`,
		`devices[0].profile: unknown firmware profile "acme/rocket"`,
	} {
		assert.Contains(t, msg, want)
	}
	// A key that did not decode is not also reported as missing.
	assert.NotContains(t, msg, "devices[1]: app_key: required")
	assert.False(t, goSpeak.MatchString(msg), "Go in %q: %q", msg, goSpeak.FindString(msg))
}

// A report serves no HTTP: an http section without a token does not stop
// it. A report with nothing in it still writes its file, with a page
// that explains, and fails with a line on stderr.
func TestReportChecksOnlyItsConfig(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "store")})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	conf := filepath.Join(dir, "loraedge.yaml")
	require.NoError(t, os.WriteFile(conf, []byte("data_dir: "+dir+"\nhttp: {listen: \":8080\"}\nmqtt: {broker: \"tcp://nowhere:1883\"}\n"), 0o600))

	_, _, err = runCmd(t, context.Background(), "validate", conf)
	require.ErrorContains(t, err, "no admin_token or read_token", "the daemon would refuse this configuration")

	out := filepath.Join(dir, "bericht.pdf")
	_, _, err = runCmd(t, context.Background(), "report", "energy", "-c", conf, "--from", "2026-01-01", "--to", "2026-01-31", "--out", out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the report is empty: no building with meters from 2026-01-01 to 2026-01-31")
	assert.NotContains(t, err.Error(), "http")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "%PDF", string(b[:4]))

	_, _, err = runCmd(t, context.Background(), "store", "check", "-c", conf)
	assert.NoError(t, err, "store check needs only data_dir")

	// The keys a report uses are still checked.
	require.NoError(t, os.WriteFile(conf, []byte("data_dir: "+dir+"\nhttp: {listen: \":8080\"}\ndevices: [{dev_eui: \"0102\", activation: external}]\n"), 0o600))
	_, _, err = runCmd(t, context.Background(), "report", "energy", "-c", conf, "--from", "2026-01-01", "--to", "2026-01-31", "--out", out)
	require.ErrorContains(t, err, "devices[0].dev_eui: expected 16 hex digits, got 4")
	assert.NotContains(t, err.Error(), "admin_token")

	_, _, err = runCmd(t, context.Background(), "report", "energy", "-c", conf, "--from", "yesterday", "--to", "2026-01-31")
	require.Error(t, err)
	assert.False(t, goSpeak.MatchString(err.Error()), err.Error())
}

func TestDecodeHexInWords(t *testing.T) {
	_, _, err := runCmd(t, context.Background(), "decode", "--profile", "elsys/ers-co2", "--fport", "1", "--hex", "0z")
	require.EqualError(t, err, `--hex: expected pairs of hex digits (0-9, a-f, spaces allowed), got "0z"`)
}
