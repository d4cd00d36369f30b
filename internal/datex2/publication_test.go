package datex2

import (
	"bytes"
	"context"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

var dateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)

var now = time.Date(2026, 1, 12, 5, 30, 0, 0, time.UTC)

func reading(v float64, age time.Duration) *Reading { return &Reading{Value: v, Time: now.Add(-age)} }

func stations() []Station {
	return []Station{
		{ID: "k23", Name: "K 23 Brücke Aue", Road: "K 23", Km: 4.2, Lat: 52.1234, Lon: 8.5678,
			SurfaceTemperature: reading(-1.24, 2*time.Minute), AirTemperature: reading(0.5, 2*time.Minute),
			DewPoint: reading(-0.8, 2*time.Minute), Humidity: reading(91.04, 2*time.Minute),
			WaterFilm: reading(0.12, 2*time.Minute), SurfaceState: reading(66, 2*time.Minute)},
		{ID: "b239", Name: "B 239 <Ortsausgang> & Kreisel", Lat: 52.2, Lon: 8.6,
			AirTemperature: reading(3, 5*time.Minute), Humidity: reading(140, time.Minute), // an impossible humidity
			SurfaceTemperature: reading(2, 3*time.Hour)}, // too old
		{ID: "l782", Name: "L 782", Lat: 52.3, Lon: 8.7}, // no values
	}
}

func render(t *testing.T, f func(*bytes.Buffer) error) (*xmlNode, string) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, f(&buf))
	return parseXML(t, bytes.NewReader(buf.Bytes())), buf.String()
}

func TestMeasuredDataPublicationFollowsTheModel(t *testing.T) {
	cfg := DefaultConfig()
	root, text := render(t, func(b *bytes.Buffer) error { return cfg.MeasuredData(b, stations(), now) })
	t.Log(text)
	assert.Equal(t, NSPayload, root.name.Space)
	assert.Equal(t, "payload", root.name.Local)
	ns, typ, ok := root.xsiType()
	require.True(t, ok)
	assert.Equal(t, NSRoad, ns)
	assert.Equal(t, "MeasuredDataPublication", typ)
	mbv, _ := root.attr("modelBaseVersion")
	assert.Equal(t, "3", mbv, "modelBaseVersion is fixed to 3")
	lang, _ := root.attr("lang")
	assert.Equal(t, "de", lang)
	assert.Empty(t, validate(root, "*", "payload"))

	var sites []string
	for _, k := range root.kids {
		if k.name.Local == "siteMeasurements" {
			id, _ := k.kids[0].attr("id")
			sites = append(sites, id)
		}
	}
	assert.Equal(t, []string{"k23", "b239"}, sites, "a station without current values is left out")

	// Values and units as the model defines them.
	for path, want := range map[string]string{
		"siteMeasurements/physicalQuantity/physicalQuantity/basicData/roadSurfaceConditionMeasurements/roadSurfaceTemperature/temperature": "-1.24",
		"siteMeasurements/physicalQuantity/physicalQuantity/basicData/roadSurfaceConditionMeasurements/waterFilmThickness/distance":        "0.00012",
		"siteMeasurements/physicalQuantity/physicalQuantity/basicData/weatherRelatedRoadConditionType":                                     "ice",
		"siteMeasurements/physicalQuantity/physicalQuantity/basicData/temperature/airTemperature/temperature":                              "0.5",
		"siteMeasurements/physicalQuantity/physicalQuantity/basicData/temperature/dewPointTemperature/temperature":                         "-0.8",
		"siteMeasurements/physicalQuantity/physicalQuantity/basicData/humidity/relativeHumidity/percentage":                                "91",
		"siteMeasurements/measurementTimeDefault/timeValue":                                                                                "2026-01-12T05:28:00Z",
	} {
		assert.Equal(t, want, first(root, path), path)
	}
	// b239: the impossible humidity and the stale surface temperature are
	// not published; its air temperature is.
	b239 := root.kids[len(root.kids)-1]
	assert.Equal(t, []string{"2"}, indices(b239))
	assert.NotContains(t, text, "140")
}

func TestSiteTablePublicationFollowsTheModel(t *testing.T) {
	cfg := DefaultConfig()
	root, text := render(t, func(b *bytes.Buffer) error { return cfg.SiteTable(b, stations(), now) })
	t.Log(text)
	_, typ, _ := root.xsiType()
	assert.Equal(t, "MeasurementSiteTablePublication", typ)
	assert.Empty(t, validate(root, "*", "payload"))
	assert.Equal(t, "52.1234", first(root, "measurementSiteTable/measurementSite/measurementSiteLocation/pointByCoordinates/pointCoordinates/latitude"))
	assert.Equal(t, "8.5678", first(root, "measurementSiteTable/measurementSite/measurementSiteLocation/pointByCoordinates/pointCoordinates/longitude"))
	assert.Equal(t, "K 23 Brücke Aue", first(root, "measurementSiteTable/measurementSite/measurementSiteName/values/value"))
	assert.Contains(t, text, "B 239 &lt;Ortsausgang&gt; &amp; Kreisel", "names escaped")

	// The measured data refer to the table and its sites by id and version.
	measured, _ := render(t, func(b *bytes.Buffer) error { return cfg.MeasuredData(b, stations(), now) })
	table := find(root, "measurementSiteTable")[0]
	ref := find(measured, "measurementSiteTableReference")[0]
	for _, a := range []string{"id", "version"} {
		want, _ := table.attr(a)
		got, _ := ref.attr(a)
		assert.Equal(t, want, got, a)
	}
	siteVersion, _ := find(root, "measurementSiteTable/measurementSite")[0].attr("version")
	refVersion, _ := find(measured, "siteMeasurements/measurementSiteReference")[0].attr("version")
	assert.Equal(t, siteVersion, refVersion)

	// A moved station gets a new version, so consumers reload the table.
	moved := stations()
	moved[0].Lat += 0.01
	assert.NotEqual(t, stations()[0].version(), moved[0].version())
	assert.NotEqual(t, tableVersion(stations()), tableVersion(moved))
}

// The validator itself finds what it is there to find.
func TestValidatorCatchesDefects(t *testing.T) {
	cfg := DefaultConfig()
	var buf bytes.Buffer
	require.NoError(t, cfg.MeasuredData(&buf, stations(), now))
	good := buf.String()
	for name, mutate := range map[string]func(string) string{
		"order": func(s string) string {
			return strings.Replace(s, "<com:publicationTime>2026-01-12T05:30:00Z</com:publicationTime>", "", 1) +
				"" // publicationTime removed: required
		},
		"enum": func(s string) string { return strings.Replace(s, ">ice<", ">glatt<", 1) },
		"namespace": func(s string) string {
			return strings.Replace(s, "<com:informationStatus>real</com:informationStatus>", "<roa:informationStatus>real</roa:informationStatus>", 1)
		},
		"xsi:type": func(s string) string {
			return strings.Replace(s, `"roa:TemperatureInformation"`, `"roa:WindInformation"`, 1)
		},
	} {
		root := parseXML(t, strings.NewReader(mutate(good)))
		assert.NotEmpty(t, validate(root, "*", "payload"), name)
	}
}

func TestNoCurrentMeasurements(t *testing.T) {
	var buf bytes.Buffer
	err := DefaultConfig().MeasuredData(&buf, stations()[2:], now)
	assert.ErrorIs(t, err, ErrNoMeasurements)
	assert.Zero(t, buf.Len(), "nothing written")
}

func TestSurfaceConditionMapping(t *testing.T) {
	for _, tc := range []struct {
		tls  float64
		want string
		ok   bool
	}{
		{0, "dry", true},
		{1, "moist", true},
		{32, "wet", true},
		{64, "freezingOfWetRoads", true},
		{65, "snow", true},
		{66, "ice", true},
		{67, "rime", true},
		{2, "", false},
		{99, "", false},
		{32.5, "", false},
		{-1, "", false},
		{math.NaN(), "", false},
	} {
		got, ok := SurfaceCondition(tc.tls)
		assert.Equal(t, tc.ok, ok, "%v", tc.tls)
		assert.Equal(t, tc.want, got, "%v", tc.tls)
		if ok {
			assert.Contains(t, types["WeatherRelatedRoadConditionTypeEnum"].enum, got, "a value of the DATEX II enumeration")
		}
	}
	// A station whose state is no TLS code publishes no condition.
	st := stations()[:1]
	st[0].SurfaceState = reading(5, time.Minute)
	var buf bytes.Buffer
	require.NoError(t, DefaultConfig().MeasuredData(&buf, st, now))
	assert.NotContains(t, buf.String(), "weatherRelatedRoadConditionType")
}

type lastSource map[string]store.Point

func (l lastSource) Last(_ context.Context, keys []string) ([]store.Series, error) {
	var out []store.Series
	for _, k := range keys {
		if p, ok := l[k]; ok {
			dev, q, _ := strings.Cut(k, "/")
			out = append(out, store.Series{SeriesInfo: store.SeriesInfo{Key: k, Device: dev, Quantity: measurement.Quantity(q)}, Points: []store.Point{p}})
		}
	}
	return out, nil
}

func TestCollectTakesTheNewestValuePerStation(t *testing.T) {
	eui := func(s string) lorawan.EUI64 {
		var e lorawan.EUI64
		require.NoError(t, e.UnmarshalText([]byte(s)))
		return e
	}
	sites := []site.Site{
		{ID: "k23", Name: "K 23", Kind: site.Road, Lat: 52, Lon: 8},
		{ID: "rathaus", Name: "Rathaus", Kind: site.Building},
	}
	devs := []device.Device{
		{DevEUI: eui("0000000000000001"), Site: "k23"},
		{DevEUI: eui("0000000000000002"), Site: "k23"},
		{DevEUI: eui("0000000000000003"), Site: "rathaus"},
	}
	src := lastSource{
		"0000000000000001/road_surface_temperature": {Time: now.Add(-10 * time.Minute), Value: -2},
		"0000000000000002/road_surface_temperature": {Time: now.Add(-time.Minute), Value: -1},
		"0000000000000002/road_surface_state":       {Time: now.Add(-time.Minute), Value: 1},
		"0000000000000003/air_temperature":          {Time: now, Value: 21},
	}
	got, err := Collect(context.Background(), src, sites, devs)
	require.NoError(t, err)
	require.Len(t, got, 1, "only road sites")
	assert.Equal(t, "k23", got[0].ID)
	assert.Equal(t, -1.0, got[0].SurfaceTemperature.Value, "the newest of two devices")
	assert.Equal(t, 1.0, got[0].SurfaceState.Value)
	assert.Nil(t, got[0].AirTemperature)
}

// find returns the elements at a path of local names below n.
func find(n *xmlNode, path string) []*xmlNode {
	cur := []*xmlNode{n}
	for _, part := range strings.Split(path, "/") {
		var next []*xmlNode
		for _, c := range cur {
			for _, k := range c.kids {
				if k.name.Local == part {
					next = append(next, k)
				}
			}
		}
		cur = next
	}
	return cur
}

// first returns the text of the first element at path, or "".
func first(n *xmlNode, path string) string {
	if f := find(n, path); len(f) > 0 {
		return strings.TrimSpace(f[0].text)
	}
	return ""
}

func indices(sm *xmlNode) []string {
	var out []string
	for _, k := range sm.kids {
		if k.name.Local == "physicalQuantity" {
			i, _ := k.attr("index")
			out = append(out, i)
		}
	}
	return out
}
