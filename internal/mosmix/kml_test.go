package mosmix

import (
	"archive/zip"
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleKML(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/MOSMIX_L_sample_10430.kml")
	require.NoError(t, err)
	return data
}

func kmz(t testing.TB, kml []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("MOSMIX_L_2026121415_10430.kml")
	require.NoError(t, err)
	_, err = w.Write(kml)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestParseSample(t *testing.T) {
	p, err := ParseKMZ(kmz(t, sampleKML(t)))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 12, 14, 15, 0, 0, 0, time.UTC), p.Issued.UTC())
	require.Len(t, p.Steps, 4)
	st, ok := p.Station("10430")
	require.True(t, ok)
	assert.Equal(t, "BAD LIPPSPRINGE ä", st.Name, "ISO-8859-1 decoded")
	assert.InDelta(t, 51.78, st.Lat, 1e-9)
	assert.InDelta(t, 8.82, st.Lon, 1e-9)
	assert.InDelta(t, 157, st.Elev, 1e-9)
	assert.True(t, math.IsNaN(st.Elements["Td"][3]), `"-" is undefined`)
	hs, err := p.Hours(st)
	require.NoError(t, err)
	require.Len(t, hs, 3, "the step without Td is left out")
	tests := []struct {
		name      string
		got, want float64
	}{
		{"TTT K -> degC", hs[0].AirTemperature, 3.7},
		{"Td K -> degC", hs[0].DewPoint, 0.8},
		{"FF m/s", hs[0].WindSpeed, 2.57},
		{"N % -> octas", hs[0].CloudCover, 6},
		{"Rad1h kJ/m2 -> W/m2, centred on the step", hs[0].SWDown, (36.0/3.6 + 0) / 2},
		{"Rad1h of the last step", hs[2].SWDown, 0},
		{"RR1c kg/m2 -> mm/h", hs[0].Precipitation, 0.2},
		{"RR1c undefined -> 0", hs[2].Precipitation, 0},
		{"PPPP Pa -> hPa", hs[0].Pressure, 1012.2},
	}
	for _, tc := range tests {
		assert.InDelta(t, tc.want, tc.got, 1e-9, tc.name)
	}
	assert.True(t, math.IsNaN(hs[0].LWDown), "MOSMIX has no long-wave; the model computes it")
}

func TestParseErrors(t *testing.T) {
	good := string(sampleKML(t))
	tests := map[string]string{
		"not xml":          "<kml",
		"no issue time":    strings.Replace(good, "2026-12-14T15:00:00.000Z", "soon", 1),
		"bad time step":    strings.Replace(good, "2026-12-14T17:00:00.000Z", "x", 1),
		"steps unordered":  strings.Replace(good, "2026-12-14T17:00:00.000Z", "2026-12-14T16:00:00.000Z", 1),
		"short series":     strings.Replace(good, "          2.57          2.06", "          2.57", 1),
		"bad number":       strings.Replace(good, "2.57", "2,57", 1),
		"bad coordinates":  strings.Replace(good, "8.82,51.78,157.0", "8.82", 1),
		"lat out of range": strings.Replace(good, "8.82,51.78,157.0", "8.82,91,157.0", 1),
		"no placemark":     good[:strings.Index(good, "<kml:Placemark>")] + "</kml:Document></kml:kml>",
		"unknown charset":  strings.Replace(good, "ISO-8859-1", "EBCDIC", 1),
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseKML(strings.NewReader(doc))
			require.ErrorIs(t, err, ErrFormat)
		})
	}
	_, err := ParseKMZ([]byte("PK not a zip"))
	require.ErrorIs(t, err, ErrFormat)
	p, err := ParseKML(strings.NewReader(strings.Replace(good, `elementName="TTT"`, `elementName="TX"`, 1)))
	require.NoError(t, err)
	_, err = p.Hours(p.Stations[0])
	require.ErrorIs(t, err, ErrFormat, "no TTT")
}

func FuzzParseKML(f *testing.F) {
	f.Add(sampleKML(f))
	f.Add([]byte(`<kml><Document></Document></kml>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseKML(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, st := range p.Stations {
			for el, vals := range st.Elements {
				if len(vals) != len(p.Steps) {
					t.Fatalf("%s: %d values for %d steps", el, len(vals), len(p.Steps))
				}
			}
			_, _ = p.Hours(st)
		}
	})
}

func TestEncodeRoundTrip(t *testing.T) {
	p, err := ParseKML(bytes.NewReader(sampleKML(t)))
	require.NoError(t, err)
	st, _ := p.Station("10430")
	hs, err := p.Hours(st)
	require.NoError(t, err)
	data, err := EncodeKMZ(FromHours("10430", st.Lat, st.Lon, p.Issued, hs))
	require.NoError(t, err)
	back, err := ParseKMZ(data)
	require.NoError(t, err)
	assert.True(t, back.Issued.Equal(p.Issued))
	hs2, err := back.Hours(back.Stations[0])
	require.NoError(t, err)
	require.Len(t, hs2, len(hs))
	for i := range hs {
		assert.True(t, hs[i].Time.Equal(hs2[i].Time))
		assert.InDelta(t, hs[i].AirTemperature, hs2[i].AirTemperature, 0.01)
		assert.InDelta(t, hs[i].DewPoint, hs2[i].DewPoint, 0.01)
		assert.InDelta(t, hs[i].CloudCover, hs2[i].CloudCover, 0.01)
		assert.InDelta(t, hs[i].Pressure, hs2[i].Pressure, 0.01)
	}
	_, err = EncodeKMZ(Product{Steps: []time.Time{issued}, Stations: []Station{{ID: "X", Elements: map[string][]float64{"TTT": {}}}}})
	require.ErrorIs(t, err, ErrFormat)
}
