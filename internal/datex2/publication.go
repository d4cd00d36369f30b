package datex2

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"strconv"
	"time"
)

// Namespaces of DATEX II version 3 (the d2Payload root and the packages
// the road weather publications use).
const (
	NSPayload  = "http://datex2.eu/schema/3/d2Payload"
	NSCommon   = "http://datex2.eu/schema/3/common"
	NSRoad     = "http://datex2.eu/schema/3/roadTrafficData"
	NSLocation = "http://datex2.eu/schema/3/locationReferencing"
	NSXSI      = "http://www.w3.org/2001/XMLSchema-instance"
)

// Physical quantity indices: each station's site table entry lists its
// measurement characteristics under these indices, and the measured data
// refer to them.
const (
	IndexSurface     = 1 // roadSurfaceConditionInformation
	IndexTemperature = 2 // temperatureInformation
	IndexHumidity    = 3 // humidityInformation
)

// ErrNoMeasurements is returned when no station has a current value: a
// MeasuredDataPublication needs at least one siteMeasurements.
var ErrNoMeasurements = errors.New("no road station has a current measurement")

// Reading is one value with its measurement time.
type Reading struct {
	Value float64
	Time  time.Time
}

// Station is a road weather station: a road site and the latest values of
// its devices, in loraedge's canonical units (degC, %, mm, TLS code).
type Station struct {
	ID, Name, Road string
	Km             float64
	Lat, Lon       float64

	SurfaceTemperature, AirTemperature, DewPoint, Humidity, WaterFilm, SurfaceState *Reading
}

// version is a station's record version: it changes when what the site
// table says of the station changes.
func (s Station) version() string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s|%s|%s|%g|%g|%g", s.ID, s.Name, s.Road, s.Km, s.Lat, s.Lon)
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}

func tableVersion(stations []Station) string {
	h := fnv.New32a()
	for _, s := range stations {
		fmt.Fprintf(h, "%s=%s;", s.ID, s.version())
	}
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}

func xmlTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func num(v float64, decimals int) string {
	p := math.Pow(10, float64(decimals))
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)
}

// root builds the d2:payload element of a publication of type typ.
func (c Config) root(typ string, now time.Time) *node {
	return el("d2:payload").
		attr("xmlns:d2", NSPayload).attr("xmlns:com", NSCommon).attr("xmlns:roa", NSRoad).
		attr("xmlns:loc", NSLocation).attr("xmlns:xsi", NSXSI).
		attr("xsi:type", typ).attr("lang", c.Lang).attr("modelBaseVersion", "3").
		add(leaf("com:publicationTime", xmlTime(now)),
			el("com:publicationCreator", leaf("com:country", c.Country), leaf("com:nationalIdentifier", c.NationalIdentifier)))
}

func header() *node {
	return el("roa:headerInformation", leaf("com:confidentiality", "noRestriction"), leaf("com:informationStatus", "real"))
}

// SiteTable writes the MeasurementSiteTablePublication of the stations.
func (c Config) SiteTable(w io.Writer, stations []Station, now time.Time) error {
	if len(stations) == 0 {
		return errors.New("no road station configured")
	}
	table := el("roa:measurementSiteTable").attr("id", c.TableID).attr("version", tableVersion(stations))
	for _, s := range stations {
		name := s.Name
		if name == "" {
			name = s.ID
		}
		site := el("roa:measurementSite").attr("id", s.ID).attr("version", s.version()).add(
			el("roa:measurementSiteName", el("com:values", leaf("com:value", name).attr("lang", c.Lang))),
			leaf("roa:measurementSiteIdentification", s.ID))
		for _, ch := range []struct {
			index int
			typ   string
		}{{IndexSurface, "roadSurfaceConditionInformation"}, {IndexTemperature, "temperatureInformation"}, {IndexHumidity, "humidityInformation"}} {
			site.add(el("roa:measurementSpecificCharacteristics",
				el("roa:measurementSpecificCharacteristics", leaf("roa:specificMeasurementValueType", ch.typ))).
				attr("index", strconv.Itoa(ch.index)))
		}
		site.add(el("roa:measurementSiteLocation", el("loc:pointByCoordinates", el("loc:pointCoordinates",
			leaf("loc:latitude", num(s.Lat, 6)), leaf("loc:longitude", num(s.Lon, 6))))).
			attr("xsi:type", "loc:PointLocation"))
		table.add(site)
	}
	return writeDocument(w, c.root("roa:MeasurementSiteTablePublication", now).add(header(), table))
}

// MeasuredData writes the MeasuredDataPublication of the stations' values
// not older than MaxAge at now. It returns ErrNoMeasurements when there is
// none.
func (c Config) MeasuredData(w io.Writer, stations []Station, now time.Time) error {
	root := c.root("roa:MeasuredDataPublication", now).
		add(el("roa:measurementSiteTableReference").attr("targetClass", "roa:MeasurementSiteTable").
			attr("id", c.TableID).attr("version", tableVersion(stations))).
		add(header())
	n := 0
	for _, s := range stations {
		if sm := c.siteMeasurements(s, now); sm != nil {
			root.add(sm)
			n++
		}
	}
	if n == 0 {
		return ErrNoMeasurements
	}
	return writeDocument(w, root)
}

// fresh returns r when it is current at now, else nil.
func (c Config) fresh(r *Reading, now time.Time) *Reading {
	if r == nil || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || now.Sub(r.Time) > c.MaxAge || r.Time.After(now.Add(5*time.Minute)) {
		return nil
	}
	return r
}

func newest(rs ...*Reading) time.Time {
	var t time.Time
	for _, r := range rs {
		if r != nil && r.Time.After(t) {
			t = r.Time
		}
	}
	return t
}

func temperatureValue(name string, r *Reading) *node {
	if r == nil {
		return nil
	}
	return el(name, leaf("com:temperature", num(r.Value, 2)))
}

// quantity wraps basic data as the indexed SinglePhysicalQuantity of a
// siteMeasurements.
func quantity(index int, typ string, t time.Time, body ...*node) *node {
	basic := el("roa:basicData").attr("xsi:type", typ).
		add(el("roa:measurementOrCalculationTime", leaf("roa:timeValue", xmlTime(t)))).add(body...)
	return el("roa:physicalQuantity",
		el("roa:physicalQuantity", basic).attr("xsi:type", "roa:SinglePhysicalQuantity")).
		attr("index", strconv.Itoa(index))
}

func (c Config) siteMeasurements(s Station, now time.Time) *node {
	surfT, film, state := c.fresh(s.SurfaceTemperature, now), c.fresh(s.WaterFilm, now), c.fresh(s.SurfaceState, now)
	air, dew, rh := c.fresh(s.AirTemperature, now), c.fresh(s.DewPoint, now), c.fresh(s.Humidity, now)
	if rh != nil && (rh.Value < 0 || rh.Value > 100) {
		rh = nil
	}
	if film != nil && film.Value < 0 {
		film = nil
	}
	var condition string
	if state != nil {
		var ok bool
		if condition, ok = SurfaceCondition(state.Value); !ok {
			state = nil
		}
	}
	sm := el("roa:siteMeasurements", el("roa:measurementSiteReference").
		attr("targetClass", "roa:MeasurementSite").attr("id", s.ID).attr("version", s.version()))
	if surfT != nil || film != nil || state != nil {
		var cond *node
		if state != nil {
			cond = leaf("roa:weatherRelatedRoadConditionType", condition)
		}
		meas := el("roa:roadSurfaceConditionMeasurements").add(temperatureValue("com:roadSurfaceTemperature", surfT))
		if film != nil {
			// DATEX II gives the water film in metres.
			meas.add(el("com:waterFilmThickness", leaf("com:distance", num(film.Value/1000, 7))))
		}
		sm.add(quantity(IndexSurface, "roa:RoadSurfaceConditionInformation", newest(surfT, film, state), cond, meas))
	}
	if air != nil || dew != nil {
		sm.add(quantity(IndexTemperature, "roa:TemperatureInformation", newest(air, dew),
			el("roa:temperature").add(temperatureValue("com:airTemperature", air), temperatureValue("com:dewPointTemperature", dew))))
	}
	if rh != nil {
		sm.add(quantity(IndexHumidity, "roa:HumidityInformation", rh.Time,
			el("roa:humidity", el("com:relativeHumidity", leaf("com:percentage", num(rh.Value, 1))))))
	}
	if len(sm.kids) == 1 {
		return nil
	}
	return sm.add(el("roa:measurementTimeDefault", leaf("roa:timeValue", xmlTime(newest(surfT, film, state, air, dew, rh)))))
}
