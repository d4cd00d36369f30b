// Package mosmix reads DWD's open MOSMIX point forecasts (KMZ: a zipped KML
// with the dwd: extension) and fetches them per station over HTTP, cached in
// the data directory, as a roadcast.Source.
package mosmix

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/loraedge/loraedge/internal/roadcast"
)

// ErrFormat reports a KMZ or KML that is not a MOSMIX product.
var ErrFormat = errors.New("invalid MOSMIX product")

// maxKML bounds the uncompressed KML read from a KMZ; MOSMIX_L for one
// station is ~0.5 MB, so 32 MB guards against a zip bomb without limiting a
// real file.
const maxKML = 32 << 20

// Product is one MOSMIX issue.
type Product struct {
	Issued   time.Time
	Steps    []time.Time
	Stations []Station
}

// Station is one placemark: a station's forecast elements, one value per
// step, NaN where DWD gives none ("-").
type Station struct {
	ID, Name       string
	Lat, Lon, Elev float64
	Elements       map[string][]float64
}

type kmlDoc struct {
	Document struct {
		Product struct {
			IssueTime string   `xml:"IssueTime"`
			Steps     []string `xml:"ForecastTimeSteps>TimeStep"`
			Undef     string   `xml:"FormatCfg>DefaultUndefSign"`
		} `xml:"ExtendedData>ProductDefinition"`
		Placemarks []struct {
			Name        string `xml:"name"`
			Description string `xml:"description"`
			Forecasts   []struct {
				Element string `xml:"elementName,attr"`
				Value   string `xml:"value"`
			} `xml:"ExtendedData>Forecast"`
			Coordinates string `xml:"Point>coordinates"`
		} `xml:"Placemark"`
	} `xml:"Document"`
}

// ParseKMZ reads a KMZ: the first .kml file in the archive.
func ParseKMZ(data []byte) (Product, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return Product{}, fmt.Errorf("%w: kmz: %w", ErrFormat, err)
	}
	for _, f := range zr.File {
		if !strings.HasSuffix(strings.ToLower(f.Name), ".kml") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return Product{}, fmt.Errorf("%w: kmz %s: %w", ErrFormat, f.Name, err)
		}
		defer rc.Close()
		return ParseKML(io.LimitReader(rc, maxKML))
	}
	return Product{}, fmt.Errorf("%w: kmz holds no .kml file", ErrFormat)
}

// ParseKML reads a MOSMIX KML document (ISO-8859-1 as DWD writes it, or
// UTF-8).
func ParseKML(r io.Reader) (Product, error) {
	dec := xml.NewDecoder(r)
	dec.CharsetReader = charsetReader
	var doc kmlDoc
	if err := dec.Decode(&doc); err != nil {
		return Product{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	pd := doc.Document.Product
	var p Product
	var err error
	if p.Issued, err = time.Parse(time.RFC3339, strings.TrimSpace(pd.IssueTime)); err != nil {
		return Product{}, fmt.Errorf("%w: IssueTime: %w", ErrFormat, err)
	}
	if len(pd.Steps) == 0 {
		return Product{}, fmt.Errorf("%w: no ForecastTimeSteps", ErrFormat)
	}
	for i, s := range pd.Steps {
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
		if err != nil {
			return Product{}, fmt.Errorf("%w: TimeStep %d: %w", ErrFormat, i, err)
		}
		if i > 0 && !t.After(p.Steps[i-1]) {
			return Product{}, fmt.Errorf("%w: TimeStep %d not after the one before", ErrFormat, i)
		}
		p.Steps = append(p.Steps, t)
	}
	undef := strings.TrimSpace(pd.Undef)
	if undef == "" {
		undef = "-"
	}
	for _, pm := range doc.Document.Placemarks {
		st := Station{ID: strings.TrimSpace(pm.Name), Name: strings.TrimSpace(pm.Description), Elements: map[string][]float64{}}
		if err := st.parseCoordinates(pm.Coordinates); err != nil {
			return Product{}, err
		}
		for _, fc := range pm.Forecasts {
			vals, err := parseValues(fc.Value, undef, len(p.Steps))
			if err != nil {
				return Product{}, fmt.Errorf("%w: station %s element %s: %w", ErrFormat, st.ID, fc.Element, err)
			}
			st.Elements[fc.Element] = vals
		}
		p.Stations = append(p.Stations, st)
	}
	if len(p.Stations) == 0 {
		return Product{}, fmt.Errorf("%w: no Placemark", ErrFormat)
	}
	return p, nil
}

func (st *Station) parseCoordinates(s string) error {
	parts := strings.Split(strings.TrimSpace(s), ",")
	if len(parts) < 2 {
		return fmt.Errorf("%w: station %s coordinates %q", ErrFormat, st.ID, s)
	}
	var vals [3]float64
	for i := 0; i < len(parts) && i < 3; i++ {
		v, err := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
		if err != nil {
			return fmt.Errorf("%w: station %s coordinates: %w", ErrFormat, st.ID, err)
		}
		vals[i] = v
	}
	st.Lon, st.Lat, st.Elev = vals[0], vals[1], vals[2]
	if st.Lat < -90 || st.Lat > 90 || st.Lon < -180 || st.Lon > 180 {
		return fmt.Errorf("%w: station %s coordinates %q out of range", ErrFormat, st.ID, s)
	}
	return nil
}

func parseValues(s, undef string, n int) ([]float64, error) {
	fields := strings.Fields(s)
	if len(fields) != n {
		return nil, fmt.Errorf("%d values for %d time steps", len(fields), n)
	}
	out := make([]float64, n)
	for i, f := range fields {
		if f == undef {
			out[i] = math.NaN()
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("value %d %q", i, f)
		}
		out[i] = v
	}
	return out, nil
}

// charsetReader decodes ISO-8859-1, in which every byte is the code point of
// the same value; DWD writes the station names in it.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "latin1", "iso8859-1":
		data, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, 0, len(data)+len(data)/8)
		for _, b := range data {
			buf = utf8.AppendRune(buf, rune(b))
		}
		return bytes.NewReader(buf), nil
	case "utf-8", "utf8":
		return in, nil
	}
	return nil, fmt.Errorf("%w: encoding %q", ErrFormat, label)
}

// Station returns the placemark with id.
func (p Product) Station(id string) (Station, bool) {
	for _, s := range p.Stations {
		if s.ID == id {
			return s, true
		}
	}
	return Station{}, false
}

// Hours converts a station's elements to roadcast hours: TTT and Td from K
// to degC, N from % to octas, Rad1h from kJ/m2 per hour to W/m2 (Rad1h is
// the mean of the hour ending at the step, so the value at a step is the
// mean of the hours either side of it), RR1c
// (kg/m2 in the hour) as mm/h, PPPP from Pa to hPa. A step without TTT,
// Td, FF or N is left out (the model interpolates across it); Rad1h absent
// leaves the radiation to the model's sun, RR1c absent counts as no
// precipitation.
func (p Product) Hours(st Station) ([]roadcast.Hour, error) {
	for _, el := range []string{"TTT", "Td", "FF", "N"} {
		if _, ok := st.Elements[el]; !ok {
			return nil, fmt.Errorf("%w: station %s lacks element %s", ErrFormat, st.ID, el)
		}
	}
	get := func(el string, i int) float64 {
		v, ok := st.Elements[el]
		if !ok {
			return math.NaN()
		}
		return v[i]
	}
	rad := func(i int) float64 {
		r := get("Rad1h", i)
		if i+1 < len(p.Steps) && !math.IsNaN(get("Rad1h", i+1)) {
			r = (r + get("Rad1h", i+1)) / 2
		}
		return r / 3.6
	}
	var hs []roadcast.Hour
	for i, t := range p.Steps {
		h := roadcast.Hour{Time: t, AirTemperature: get("TTT", i) - 273.15, DewPoint: get("Td", i) - 273.15,
			WindSpeed: get("FF", i), CloudCover: get("N", i) * 8 / 100, Precipitation: get("RR1c", i),
			Pressure: get("PPPP", i) / 100, SWDown: rad(i), LWDown: math.NaN()}
		if math.IsNaN(h.AirTemperature + h.DewPoint + h.WindSpeed + h.CloudCover) {
			continue
		}
		if math.IsNaN(h.Precipitation) {
			h.Precipitation = 0
		}
		hs = append(hs, h)
	}
	if len(hs) < 2 {
		return nil, fmt.Errorf("%w: station %s has %d complete hours", ErrFormat, st.ID, len(hs))
	}
	return hs, nil
}
