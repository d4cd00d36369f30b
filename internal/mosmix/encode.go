package mosmix

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/roadcast"
)

// EncodeKMZ writes p in DWD's format (UTF-8, "-" for undefined values), so
// the simulator can serve a MOSMIX product in-process and tests can serve
// one over HTTP.
func EncodeKMZ(p Product) ([]byte, error) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="no"?>` + "\n")
	b.WriteString(`<kml:kml xmlns:dwd="https://opendata.dwd.de/weather/lib/pointforecast_dwd_extension_V1_0.xsd" xmlns:kml="http://www.opengis.net/kml/2.2"><kml:Document><kml:ExtendedData><dwd:ProductDefinition>`)
	fmt.Fprintf(&b, "<dwd:Issuer>Deutscher Wetterdienst</dwd:Issuer><dwd:ProductID>MOSMIX</dwd:ProductID><dwd:IssueTime>%s</dwd:IssueTime><dwd:ForecastTimeSteps>",
		p.Issued.UTC().Format("2006-01-02T15:04:05.000Z"))
	for _, t := range p.Steps {
		fmt.Fprintf(&b, "<dwd:TimeStep>%s</dwd:TimeStep>", t.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	b.WriteString("</dwd:ForecastTimeSteps><dwd:FormatCfg><dwd:DefaultUndefSign>-</dwd:DefaultUndefSign></dwd:FormatCfg></dwd:ProductDefinition></kml:ExtendedData>\n")
	for _, st := range p.Stations {
		b.WriteString("<kml:Placemark><kml:name>")
		if err := xml.EscapeText(&b, []byte(st.ID)); err != nil {
			return nil, err
		}
		b.WriteString("</kml:name><kml:description>")
		if err := xml.EscapeText(&b, []byte(st.Name)); err != nil {
			return nil, err
		}
		b.WriteString("</kml:description><kml:ExtendedData>")
		names := make([]string, 0, len(st.Elements))
		for el := range st.Elements {
			names = append(names, el)
		}
		sort.Strings(names)
		for _, el := range names {
			vals := st.Elements[el]
			if len(vals) != len(p.Steps) {
				return nil, fmt.Errorf("%w: station %s element %s: %d values for %d steps", ErrFormat, st.ID, el, len(vals), len(p.Steps))
			}
			fmt.Fprintf(&b, `<dwd:Forecast dwd:elementName="%s"><dwd:value>`, xmlAttr(el))
			for _, v := range vals {
				if math.IsNaN(v) {
					b.WriteString(" -")
					continue
				}
				b.WriteString(" " + strconv.FormatFloat(v, 'f', 2, 64))
			}
			b.WriteString("</dwd:value></dwd:Forecast>")
		}
		fmt.Fprintf(&b, "</kml:ExtendedData><kml:Point><kml:coordinates>%g,%g,%g</kml:coordinates></kml:Point></kml:Placemark>\n", st.Lon, st.Lat, st.Elev)
	}
	b.WriteString("</kml:Document></kml:kml>\n")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("MOSMIX_L_" + p.Issued.UTC().Format("2006010215") + ".kml")
	if err != nil {
		return nil, err
	}
	if _, err := w.Write([]byte(b.String())); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func xmlAttr(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// FromHours builds a one-station product from model hours, converting back
// to MOSMIX units (the inverse of Product.Hours except for Rad1h, which
// Hours centres on the step).
func FromHours(id string, lat, lon float64, issued time.Time, hours []roadcast.Hour) Product {
	st := Station{ID: id, Name: id, Lat: lat, Lon: lon, Elements: map[string][]float64{}}
	p := Product{Issued: issued}
	add := func(el string, v float64) { st.Elements[el] = append(st.Elements[el], v) }
	for _, h := range hours {
		p.Steps = append(p.Steps, h.Time)
		add("TTT", h.AirTemperature+273.15)
		add("Td", h.DewPoint+273.15)
		add("FF", h.WindSpeed)
		add("N", h.CloudCover*100/8)
		add("RR1c", h.Precipitation)
		add("PPPP", h.Pressure*100)
		add("Rad1h", h.SWDown*3.6)
	}
	p.Stations = []Station{st}
	return p
}
