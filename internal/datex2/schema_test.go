package datex2

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

// This file encodes, in the test's own terms, the facts of the DATEX II
// version 3 model (schemas DATEXII_3_*.xsd, modelBaseVersion 3) that the
// publications rely on: for each type, its elements in schema order with
// their namespace, multiplicity and type, the required attributes, and the
// enumeration values. Types derived by extension list the base type's
// elements first, as XML Schema orders them.

type particle struct {
	ns, local string
	min, max  int    // max -1: unbounded
	typ       string // "" simple content; "*" the type named by xsi:type
}

type xsdType struct {
	seq   []particle
	attrs []string // required attributes (local names)
	enum  []string // for simple types: the allowed values
}

const unbounded = -1

func p(ns, local string, min, max int, typ string) particle {
	return particle{ns: ns, local: local, min: min, max: max, typ: typ}
}

var payloadBase = []particle{
	p(NSCommon, "feedDescription", 0, 1, "MultilingualString"),
	p(NSCommon, "feedType", 0, 1, ""),
	p(NSCommon, "publicationTime", 1, 1, "DateTime"),
	p(NSCommon, "publicationCreator", 1, 1, "InternationalIdentifier"),
	p(NSCommon, "_payloadPublicationExtension", 0, 1, "ext"),
}

var physicalQuantityBase = []particle{
	p(NSRoad, "forecast", 0, 1, ""), p(NSRoad, "measurementEquipmentTypeUsed", 0, 1, "MultilingualString"),
	p(NSRoad, "pertinentLocation", 0, 1, "*"), p(NSRoad, "physicalQuantityFault", 0, unbounded, "ext"),
	p(NSRoad, "source", 0, 1, "ext"), p(NSRoad, "informationManagerOverride", 0, 1, "InternationalIdentifier"),
	p(NSRoad, "_physicalQuantityExtension", 0, 1, "ext"),
}

var basicDataBase = []particle{
	p(NSRoad, "measurementOrCalculationTime", 0, 1, "MeasurementOrCalculationTime"),
	p(NSRoad, "_basicDataExtension", 0, 1, "ext"),
	p(NSRoad, "_weatherDataExtension", 0, 1, "ext"), // WeatherData
}

var dataValueBase = []particle{
	p(NSCommon, "dataError", 0, 1, ""), p(NSCommon, "reasonForDataError", 0, 1, "MultilingualString"),
	p(NSCommon, "_dataValueExtension", 0, 1, "ext"),
}

func seq(parts ...[]particle) []particle { return slices.Concat(parts...) }

var types = map[string]xsdType{
	"MeasuredDataPublication": {attrs: []string{"lang", "modelBaseVersion"}, seq: seq(payloadBase, []particle{
		p(NSRoad, "measurementSiteTableReference", 1, unbounded, "VersionedReference"),
		p(NSRoad, "headerInformation", 1, 1, "HeaderInformation"),
		p(NSRoad, "siteMeasurements", 1, unbounded, "SiteMeasurements"),
	})},
	"MeasurementSiteTablePublication": {attrs: []string{"lang", "modelBaseVersion"}, seq: seq(payloadBase, []particle{
		p(NSRoad, "headerInformation", 1, 1, "HeaderInformation"),
		p(NSRoad, "measurementSiteTable", 1, unbounded, "MeasurementSiteTable"),
	})},
	"InternationalIdentifier": {seq: []particle{p(NSCommon, "country", 1, 1, "CountryCode"), p(NSCommon, "nationalIdentifier", 1, 1, "")}},
	"HeaderInformation": {seq: []particle{
		p(NSCommon, "confidentiality", 0, 1, "ConfidentialityValueEnum"),
		p(NSCommon, "allowedDeliveryChannel", 0, unbounded, ""),
		p(NSCommon, "informationStatus", 1, 1, "InformationStatusEnum"),
	}},
	"VersionedReference": {attrs: []string{"id", "targetClass"}},
	"SiteMeasurements": {seq: []particle{
		p(NSRoad, "measurementSiteReference", 1, 1, "VersionedReference"),
		p(NSRoad, "physicalQuantity", 0, unbounded, "IndexPhysicalQuantity"),
		p(NSRoad, "measurementTimeDefault", 1, 1, "MeasurementOrCalculationTime"),
	}},
	"IndexPhysicalQuantity":  {attrs: []string{"index"}, seq: []particle{p(NSRoad, "physicalQuantity", 1, 1, "*")}},
	"SinglePhysicalQuantity": {seq: seq(physicalQuantityBase, []particle{p(NSRoad, "basicData", 0, 1, "*")})},
	"RoadSurfaceConditionInformation": {seq: seq(basicDataBase, []particle{
		p(NSRoad, "weatherRelatedRoadConditionType", 0, unbounded, "WeatherRelatedRoadConditionTypeEnum"),
		p(NSRoad, "roadSurfaceConditionMeasurements", 1, 1, "RoadSurfaceConditionMeasurements"),
	})},
	"RoadSurfaceConditionMeasurements": {seq: []particle{
		p(NSCommon, "temperatureBelowOrAboveRoadSurface", 0, unbounded, "ext"),
		p(NSCommon, "roadSurfaceTemperature", 0, 1, "TemperatureValue"),
		p(NSCommon, "protectionTemperature", 0, 1, "TemperatureValue"),
		p(NSCommon, "deIcingApplicationRate", 0, 1, "ext"), p(NSCommon, "deIcingConcentration", 0, 1, "ext"),
		p(NSCommon, "friction", 0, 1, "ext"),
		p(NSCommon, "depthOfSnow", 0, 1, "FloatingPointMetreDistanceValue"),
		p(NSCommon, "waterFilmThickness", 0, 1, "FloatingPointMetreDistanceValue"),
		p(NSCommon, "iceLayerThickness", 0, 1, "FloatingPointMetreDistanceValue"),
		p(NSCommon, "icePercentage", 0, 1, "PercentageValue"),
	}},
	"TemperatureInformation": {seq: seq(basicDataBase, []particle{p(NSRoad, "temperature", 1, 1, "Temperature")})},
	"Temperature": {seq: []particle{
		p(NSCommon, "airTemperature", 0, 1, "TemperatureValue"), p(NSCommon, "dewPointTemperature", 0, 1, "TemperatureValue"),
		p(NSCommon, "maximumTemperature", 0, 1, "TemperatureValue"), p(NSCommon, "minimumTemperature", 0, 1, "TemperatureValue"),
	}},
	"HumidityInformation":             {seq: seq(basicDataBase, []particle{p(NSRoad, "humidity", 1, 1, "Humidity")})},
	"Humidity":                        {seq: []particle{p(NSCommon, "relativeHumidity", 1, 1, "PercentageValue")}},
	"TemperatureValue":                {seq: seq(dataValueBase, []particle{p(NSCommon, "temperature", 1, 1, "Float")})},
	"PercentageValue":                 {seq: seq(dataValueBase, []particle{p(NSCommon, "percentage", 1, 1, "Float")})},
	"FloatingPointMetreDistanceValue": {seq: seq(dataValueBase, []particle{p(NSCommon, "distance", 1, 1, "Float")})},
	"MeasurementOrCalculationTime": {seq: []particle{
		p(NSRoad, "timeMeaning", 0, 1, ""), p(NSRoad, "timeValue", 0, 1, "DateTime"), p(NSRoad, "period", 0, 1, "ext"),
	}},
	"MeasurementSiteTable": {attrs: []string{"id", "version"}, seq: []particle{
		p(NSRoad, "measurementSiteTableIdentification", 0, 1, ""),
		p(NSRoad, "measurementSite", 1, unbounded, "MeasurementSite"),
		p(NSRoad, "informationManager", 0, 1, "InternationalIdentifier"),
	}},
	"MeasurementSite": {attrs: []string{"id", "version"}, seq: []particle{
		p(NSRoad, "measurementSiteRecordVersionTime", 0, 1, "DateTime"),
		p(NSRoad, "measurementEquipmentReference", 0, 1, ""),
		p(NSRoad, "measurementEquipmentTypeUsed", 0, 1, "MultilingualString"),
		p(NSRoad, "measurementSiteName", 0, 1, "MultilingualString"),
		p(NSRoad, "measurementSiteNumberOfLanes", 0, 1, ""),
		p(NSRoad, "measurementSiteIdentification", 0, 1, ""),
		p(NSRoad, "measurementSpecificCharacteristics", 0, unbounded, "IndexCharacteristics"),
		p(NSRoad, "measurementSiteLocation", 1, 1, "*"),
		p(NSRoad, "informationManagerOverride", 0, 1, "InternationalIdentifier"),
	}},
	"IndexCharacteristics": {attrs: []string{"index"}, seq: []particle{
		p(NSRoad, "measurementSpecificCharacteristics", 1, 1, "MeasurementSpecificCharacteristics")}},
	"MeasurementSpecificCharacteristics": {seq: []particle{
		p(NSRoad, "accuracy", 0, 1, "Float"), p(NSRoad, "computationMethod", 0, 1, ""),
		p(NSRoad, "defaultMeasurementHeight", 0, 1, "Float"), p(NSRoad, "measurementSide", 0, 1, ""),
		p(NSRoad, "period", 0, 1, "Float"), p(NSRoad, "smoothingFactor", 0, 1, "Float"),
		p(NSRoad, "specificMeasurementValueType", 1, 1, "MeasuredOrDerivedDataTypeEnum"),
	}},
	"MultilingualString":       {seq: []particle{p(NSCommon, "values", 1, 1, "MultilingualStringValues")}},
	"MultilingualStringValues": {seq: []particle{p(NSCommon, "value", 1, unbounded, "")}},
	"PointLocation": {seq: []particle{
		p(NSLocation, "_locationReferenceExtension", 0, 1, "ext"),
		p(NSLocation, "externalReferencing", 0, unbounded, "ext"),
		p(NSLocation, "coordinatesForDisplay", 0, 1, "PointCoordinates"),
		p(NSLocation, "_locationExtension", 0, 1, "ext"),
		p(NSLocation, "supplementaryPositionalDescription", 0, 1, "ext"), p(NSLocation, "destination", 0, 1, "ext"),
		p(NSLocation, "_networkLocationExtension", 0, 1, "ext"),
		p(NSLocation, "pointByCoordinates", 0, 1, "PointByCoordinates"),
	}},
	"PointByCoordinates": {seq: []particle{p(NSLocation, "bearing", 0, 1, "Float"), p(NSLocation, "pointCoordinates", 1, 1, "PointCoordinates")}},
	"PointCoordinates":   {seq: []particle{p(NSLocation, "latitude", 1, 1, "Float"), p(NSLocation, "longitude", 1, 1, "Float")}},

	"InformationStatusEnum":    {enum: []string{"real", "securityExercise", "technicalExercise", "test"}},
	"ConfidentialityValueEnum": {enum: []string{"internalUse", "noRestriction", "restrictedToAuthorities", "restrictedToAuthoritiesAndTrafficOperators"}},
	"WeatherRelatedRoadConditionTypeEnum": {enum: []string{"blackIce", "deepSnow", "dry", "freezingOfWetRoads",
		"freezingPavements", "freezingRain", "freshSnow", "glaze", "ice", "iceBuildUp", "iceWithWheelBarTracks", "icyPatches",
		"looseSnow", "moist", "normalWinterConditionsForPedestrians", "notDry", "packedSnow", "rime", "roadSurfaceMelting",
		"slippery", "slushOnRoad", "slushStrings", "snow", "snowDrifts", "snowOnPavement", "wetAndIcyRoad", "snowOnTheRoad",
		"wetIcyPavement", "streamingWater", "surfaceWater", "wet", "other"}},
	"MeasuredOrDerivedDataTypeEnum": {enum: []string{"humidityInformation", "individualVehicleMeasurements",
		"pollutionInformation", "precipitationInformation", "pressureInformation", "roadSurfaceConditionInformation",
		"temperatureInformation", "trafficConcentration", "trafficFlow", "trafficGap", "trafficHeadway", "trafficSpeed",
		"trafficStatusInformation", "travelTimeInformation", "visibilityInformation", "windInformation"}},
}

// xsiTypes lists which types an element typed "*" may name by xsi:type.
var xsiTypes = map[string][]string{
	"physicalQuantity":        {"SinglePhysicalQuantity"},
	"basicData":               {"RoadSurfaceConditionInformation", "TemperatureInformation", "HumidityInformation"},
	"measurementSiteLocation": {"PointLocation"},
	"payload":                 {"MeasuredDataPublication", "MeasurementSiteTablePublication"},
}

// xmlNode is an element of a document parsed generically by encoding/xml,
// its namespaces resolved.
type xmlNode struct {
	name  xml.Name
	attrs []xml.Attr
	text  string
	kids  []*xmlNode
	// prefixes maps the prefixes in scope to namespaces, for QName values.
	prefixes map[string]string
}

func parseXML(t *testing.T, r io.Reader) *xmlNode {
	t.Helper()
	dec := xml.NewDecoder(r)
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: tk.Name, attrs: tk.Attr, prefixes: map[string]string{}}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				for k, v := range parent.prefixes {
					n.prefixes[k] = v
				}
				parent.kids = append(parent.kids, n)
			} else {
				root = n
			}
			for _, a := range tk.Attr {
				if a.Name.Space == "xmlns" {
					n.prefixes[a.Name.Local] = a.Value
				}
			}
			stack = append(stack, n)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tk)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	return root
}

func (n *xmlNode) attr(local string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == NSXSI) {
			return a.Value, true
		}
	}
	return "", false
}

// xsiType resolves the element's xsi:type to a namespace and local name.
func (n *xmlNode) xsiType() (ns, local string, ok bool) {
	for _, a := range n.attrs {
		if a.Name.Space == NSXSI && a.Name.Local == "type" {
			prefix, l, found := strings.Cut(a.Value, ":")
			if !found {
				return "", a.Value, true
			}
			return n.prefixes[prefix], l, true
		}
	}
	return "", "", false
}

// validate checks n against typ and returns every problem with its path.
func validate(n *xmlNode, typ, path string) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if typ == "*" {
		ns, local, ok := n.xsiType()
		switch {
		case !ok:
			bad("xsi:type missing")
			return errs
		case !slices.Contains(xsiTypes[n.name.Local], local):
			bad("xsi:type %s not allowed here", local)
			return errs
		case ns != NSRoad && ns != NSLocation:
			bad("xsi:type %s in namespace %q", local, ns)
		}
		typ = local
	}
	switch typ {
	case "", "ext":
		return errs
	case "Float":
		if _, err := fmt.Sscanf(strings.TrimSpace(n.text), "%g", new(float64)); err != nil {
			bad("%q is not a number", n.text)
		}
		return errs
	case "DateTime":
		if !dateTime.MatchString(n.text) {
			bad("%q is not an xs:dateTime", n.text)
		}
		return errs
	case "CountryCode":
		if len(n.text) != 2 {
			bad("%q is not a two-letter country code", n.text)
		}
		return errs
	}
	def, ok := types[typ]
	if !ok {
		bad("test knows no type %s", typ)
		return errs
	}
	if def.enum != nil {
		if !slices.Contains(def.enum, n.text) {
			bad("%q is not a value of %s", n.text, typ)
		}
		return errs
	}
	for _, a := range def.attrs {
		if _, ok := n.attr(a); !ok {
			bad("attribute %s required", a)
		}
	}
	i, count := 0, 0
	for _, k := range n.kids {
		for i < len(def.seq) && (def.seq[i].ns != k.name.Space || def.seq[i].local != k.name.Local) {
			if count < def.seq[i].min {
				bad("%s required before %s", def.seq[i].local, k.name.Local)
			}
			i, count = i+1, 0
		}
		if i == len(def.seq) {
			bad("element {%s}%s not allowed here or out of order", k.name.Space, k.name.Local)
			return errs
		}
		count++
		if def.seq[i].max != unbounded && count > def.seq[i].max {
			bad("%s more than %d times", k.name.Local, def.seq[i].max)
		}
		errs = append(errs, validate(k, def.seq[i].typ, path+"/"+k.name.Local)...)
	}
	for ; i < len(def.seq); i, count = i+1, 0 {
		if count < def.seq[i].min {
			bad("%s required", def.seq[i].local)
		}
	}
	return errs
}
