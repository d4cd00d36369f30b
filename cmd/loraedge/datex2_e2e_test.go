package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/datex2"
	"github.com/loraedge/loraedge/internal/testserver"
)

// xmlTexts parses doc with a generic XML decoder and returns the text of
// every element by its {namespace}local name.
func xmlTexts(t *testing.T, doc string) map[string][]string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	out := map[string][]string{}
	var stack []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err, "well-formed XML")
		switch tk := tok.(type) {
		case xml.StartElement:
			stack = append(stack, "{"+tk.Name.Space+"}"+tk.Name.Local)
			for _, a := range tk.Attr {
				if a.Name.Local == "id" {
					out[stack[len(stack)-1]+"@id"] = append(out[stack[len(stack)-1]+"@id"], a.Value)
				}
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(tk)); s != "" {
				out[stack[len(stack)-1]] = append(out[stack[len(stack)-1]], s)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

// The daemon playing the winter night publishes its road stations in
// DATEX II through the API; after it stopped, the export command writes
// the same publications from its store.
func TestDatex2FromTheWinterNight(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
	const token = "test-admin-token-0123456789"
	dataDir := t.TempDir()
	stop := runDaemon(t, []string{"--simulate", "--scenario", "winter-night", "--speed", "600",
		"--listen", "127.0.0.1:0", "--http", addr, "--data-dir", dataDir, "--log-level", "warn"},
		[]string{"LORAEDGE_HTTP_ADMIN_TOKEN=" + token}, nil)
	defer stop()
	get := func(path string) (int, string) {
		req, err := http.NewRequest("GET", "http://"+addr+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var measured string
	require.Eventually(t, func() bool {
		code, body := get("/api/v1/datex2/measured")
		measured = body
		return code == http.StatusOK && strings.Count(body, "<roa:siteMeasurements>") == 3
	}, 30*time.Second, 100*time.Millisecond, "all three road stations published")
	texts := xmlTexts(t, measured)
	rs := "{" + datex2.NSRoad + "}"
	com := "{" + datex2.NSCommon + "}"
	assert.ElementsMatch(t, []string{"k23-bridge", "b27-forest", "k23-valley"}, texts[rs+"measurementSiteReference@id"])
	assert.NotEmpty(t, texts[com+"temperature"], "temperatures published")
	assert.NotEmpty(t, texts[rs+"weatherRelatedRoadConditionType"], "surface conditions published")

	code, sites := get("/api/v1/datex2/sites")
	require.Equal(t, http.StatusOK, code, sites)
	assert.ElementsMatch(t, []string{"k23-bridge", "b27-forest", "k23-valley"}, xmlTexts(t, sites)[rs+"measurementSite@id"])
	at := xmlTexts(t, measured)[com+"publicationTime"][0]
	stop()

	// The export knows the stations from the configuration: the
	// simulator's sites and devices.
	var conf, stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"simulate", "--scenario", "winter-night", "--print-config"}, nil, &conf, &stderr))
	confFile := filepath.Join(t.TempDir(), "loraedge.yaml")
	require.NoError(t, os.WriteFile(confFile, conf.Bytes(), 0o600))
	out := filepath.Join(t.TempDir(), "measured.xml")
	err := run(context.Background(), []string{"datex2", "export", "-c", confFile, "--kind", "measured", "--data-dir", dataDir,
		"--out", out, "--at", at}, nil, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.ElementsMatch(t, texts[rs+"measurementSiteReference@id"], xmlTexts(t, string(b))[rs+"measurementSiteReference@id"])

	// A day later nothing is current: an error, and no file.
	late, _ := time.Parse(time.RFC3339, at)
	err = run(context.Background(), []string{"datex2", "export", "-c", confFile, "--data-dir", dataDir, "--out", out,
		"--at", late.Add(24 * time.Hour).Format(time.RFC3339)}, nil, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no road station has a current measurement")
	assert.NoFileExists(t, out)
}
