package testserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func staDo(t *testing.T, s *SensorThings, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = s.URL + "/" + path
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if s.User != "" {
		req.SetBasicAuth(s.User, s.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// The server holds to the specification where a client could go wrong.
func TestSensorThingsServerIsStrict(t *testing.T) {
	s := StartSensorThings(t, "1.0")
	s.User, s.Password = "u", "p"
	code, _ := staDo(t, s, "POST", "Sensors", `{"name":"s","description":"d","encodingType":"text/plain"}`)
	assert.Equal(t, http.StatusBadRequest, code, "metadata is required")
	code, _ = staDo(t, s, "POST", "Locations", `{"name":"l","description":"d","encodingType":"application/geo+json",
		"location":{"type":"Point","coordinates":[8,52]},"properties":{"k":"v"}}`)
	assert.Equal(t, http.StatusBadRequest, code, "1.0 Locations have no properties")
	code, _ = staDo(t, s, "POST", "Things", `{"name":"t","description":"d","Locations":[{"@iot.id":99}]}`)
	assert.Equal(t, http.StatusBadRequest, code, "link to a Location that does not exist")
	code, th := staDo(t, s, "POST", "Things", `{"name":"t","description":"d","properties":{"k":"a'b"}}`)
	require.Equal(t, http.StatusCreated, code)
	code, page := staDo(t, s, "GET", "Things?$filter="+strings.ReplaceAll("properties/k eq 'a''b'", " ", "%20"), "")
	require.Equal(t, http.StatusOK, code)
	assert.Len(t, page["value"], 1, "quote escaped by doubling")
	code, _ = staDo(t, s, "GET", "Things?$filter=substringof('x',name)", "")
	assert.Equal(t, http.StatusBadRequest, code, "a filter it does not understand is an error, not an empty match")

	assert.Equal(t, "t", th["name"])
	resp, err := http.Get(s.URL + "/Things") // no credentials
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestSensorThingsServerObservationsAndPaging(t *testing.T) {
	s := StartSensorThings(t, "1.1")
	mk := func(coll, body string) float64 {
		code, e := staDo(t, s, "POST", coll, body)
		require.Equal(t, http.StatusCreated, code, body)
		return e["@iot.id"].(float64)
	}
	th := mk("Things", `{"name":"t","description":"d"}`)
	se := mk("Sensors", `{"name":"s","description":"d","encodingType":"text/plain","metadata":"m"}`)
	op := mk("ObservedProperties", `{"name":"o","definition":"urn:x","description":"d"}`)
	ds := mk("Datastreams", fmt.Sprintf(`{"name":"ds","description":"d","observationType":"x",
		"unitOfMeasurement":{"name":"n","symbol":"s","definition":"d"},"Thing":{"@iot.id":%v},"Sensor":{"@iot.id":%v},
		"ObservedProperty":{"@iot.id":%v}}`, th, se, op))
	var rows []string
	for i := range 150 {
		rows = append(rows, fmt.Sprintf(`["2026-01-01T00:%02d:%02dZ", %d]`, i/60, i%60, i))
	}
	rows = append(rows, `["not a time", 1]`)
	body := fmt.Sprintf(`[{"Datastream":{"@iot.id":%v},"components":["phenomenonTime","result"],"dataArray":[%s]},
		{"Datastream":{"@iot.id":999},"components":["phenomenonTime","result"],"dataArray":[["2026-01-01T00:00:00Z",1]]}]`,
		ds, strings.Join(rows, ","))
	req, err := http.NewRequest("POST", s.URL+"/CreateObservations", strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var answer []string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Len(t, answer, 152)
	assert.Contains(t, answer[0], "/Observations(")
	assert.Equal(t, "error", answer[150], "bad time")
	assert.Equal(t, "error", answer[151], "unknown Datastream")
	assert.Equal(t, 150, s.ObservationCount())

	// Pages of 100 with a nextLink, filtered by time.
	n, next := 0, fmt.Sprintf("Datastreams(%v)/Observations?$filter=phenomenonTime%%20ge%%202026-01-01T00:00:10Z", ds)
	for next != "" {
		code, page := staDo(t, s, "GET", next, "")
		require.Equal(t, http.StatusOK, code)
		n += len(page["value"].([]any))
		next, _ = page["@iot.nextLink"].(string)
	}
	assert.Equal(t, 140, n)
}
