package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (f *fixture) post(t *testing.T, path, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminTok)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// importCSV is n road stations at site k23; line 2+i is device i.
func importCSV(n int, bad map[int]string) string {
	var b strings.Builder
	b.WriteString("dev_eui,activation,profile,site,join_eui,app_key\n")
	for i := range n {
		if l, ok := bad[i]; ok {
			b.WriteString(l + "\n")
			continue
		}
		fmt.Fprintf(&b, "70b3d57f%08x,otaa,generic/road-station,k23,70b3d57ed0000000,%032x\n", i+1, i+1)
	}
	return b.String()
}

// An import with problems changes nothing and names every problem with its
// line, also those only the daemon knows (profile, site, a device of the
// configuration file); a dry run changes nothing either; the fixed file
// imports whole. The body may exceed the API's usual limit.
func TestImportDevices(t *testing.T) {
	f := newFixture(t)
	bad := importCSV(300, map[int]string{
		9:   "70b3d57f0000000a,otaa,generic/road_station,k23,70b3d57ed0000000,0000000000000000000000000000000a",
		99:  "70b3d57f00000064,otaa,generic/road-station,k32,70b3d57ed0000000,00000000000000000000000000000064",
		199: cfgEUI.String() + ",otaa,generic/road-station,k23,70b3d57ed0000000,000000000000000000000000000000c8",
	})
	require.Greater(t, len(bad), 2048, "over the fixture's MaxBodyBytes")
	code, body := f.post(t, "/api/v1/devices:import", "text/csv", bad)
	assert.Equal(t, http.StatusUnprocessableEntity, code, body)
	assert.Contains(t, body, `"message": "3 problems; nothing was imported"`)
	assert.Contains(t, body, `"line": 11,`)
	assert.Contains(t, body, `unknown profile \"generic/road_station\" (ids are vendor/model; closest: generic/road-station`)
	assert.Contains(t, body, `"line": 101,`)
	assert.Contains(t, body, `unknown site \"k32\" (closest: k23)`)
	assert.Contains(t, body, `"line": 201,`)
	assert.Contains(t, body, "is listed in the configuration file")
	_, list := f.do(t, "GET", "/api/v1/devices", readTok, "")
	assert.NotContains(t, list, "70b3d57f00000001", "nothing imported")

	good := importCSV(300, nil)
	code, body = f.post(t, "/api/v1/devices:import?dry_run=true", "text/csv", good)
	assert.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"dry_run": true`)
	assert.Contains(t, body, `"devices": 300`)
	assert.Contains(t, body, `"imported": 0`)
	_, list = f.do(t, "GET", "/api/v1/devices", readTok, "")
	assert.NotContains(t, list, "70b3d57f00000001", "a dry run imports nothing")

	code, body = f.post(t, "/api/v1/devices:import", "text/csv", good)
	assert.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"imported": 300`)
	_, list = f.do(t, "GET", "/api/v1/devices", readTok, "")
	assert.Contains(t, list, "70b3d57f0000012c")
	assert.NotContains(t, list, "0000000000000000000000000000012c", "keys stay write-only")

	code, body = f.post(t, "/api/v1/devices:import", "application/json",
		`[{"dev_eui": "70b3d57f00000001", "activation": "external", "profile": "generic/road-station", "name": "umbenannt"}]`)
	assert.Equal(t, http.StatusOK, code, body)
	_, one := f.do(t, "GET", "/api/v1/devices/70b3d57f00000001", readTok, "")
	assert.Contains(t, one, "umbenannt", "an import replaces a device it names")

	code, body = f.post(t, "/api/v1/devices:import", "text/plain", good)
	assert.Equal(t, http.StatusUnsupportedMediaType, code, body)
	code, _ = f.post(t, "/api/v1/devices:import?dry_run=maybe", "text/csv", good)
	assert.Equal(t, http.StatusBadRequest, code)
}
