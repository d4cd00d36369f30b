package sensorthings

import (
	"github.com/loraedge/loraedge/internal/measurement"
)

// UnitOfMeasurement is a Datastream's unit as SensorThings describes it.
type UnitOfMeasurement struct {
	Name       string `json:"name"`
	Symbol     string `json:"symbol"`
	Definition string `json:"definition"`
}

// ObservationType is the O&M type of every Datastream: each canonical
// quantity is a number (codes and 0/1 flags included).
const ObservationType = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"

// QuantityDefinition returns the ObservedProperty definition URI of q: a
// stable URN of loraedge's canonical quantity, because several quantities
// (air, road surface, flow temperature) share one QUDT quantity kind and
// would otherwise merge into one ObservedProperty.
func QuantityDefinition(q measurement.Quantity) string {
	return "urn:loraedge:quantity:" + string(q)
}

// units maps the unit strings of measurement.Units to SensorThings units
// with QUDT unit URIs.
var units = map[string]UnitOfMeasurement{
	"degC":  {"degree Celsius", "°C", "http://qudt.org/vocab/unit/DEG_C"},
	"%":     {"percent", "%", "http://qudt.org/vocab/unit/PERCENT"},
	"tls":   {"TLS road surface state code", "", "urn:loraedge:unit:tls-road-surface-state"},
	"mm":    {"millimetre", "mm", "http://qudt.org/vocab/unit/MilliM"},
	"hPa":   {"hectopascal", "hPa", "http://qudt.org/vocab/unit/HectoPA"},
	"m/s":   {"metre per second", "m/s", "http://qudt.org/vocab/unit/M-PER-SEC"},
	"deg":   {"degree", "°", "http://qudt.org/vocab/unit/DEG"},
	"W/m2":  {"watt per square metre", "W/m²", "http://qudt.org/vocab/unit/W-PER-M2"},
	"ppm":   {"parts per million", "ppm", "http://qudt.org/vocab/unit/PPM"},
	"ppb":   {"parts per billion", "ppb", "http://qudt.org/vocab/unit/PPB"},
	"ug/m3": {"microgram per cubic metre", "µg/m³", "http://qudt.org/vocab/unit/MicroGM-PER-M3"},
	"lx":    {"lux", "lx", "http://qudt.org/vocab/unit/LUX"},
	"1":     {"count", "", "http://qudt.org/vocab/unit/NUM"},
	"V":     {"volt", "V", "http://qudt.org/vocab/unit/V"},
	"dB":    {"decibel", "dB", "http://qudt.org/vocab/unit/DeciB"},
	"kWh":   {"kilowatt hour", "kWh", "http://qudt.org/vocab/unit/KiloW-HR"},
	"W":     {"watt", "W", "http://qudt.org/vocab/unit/W"},
	"m3/h":  {"cubic metre per hour", "m³/h", "http://qudt.org/vocab/unit/M3-PER-HR"},
	"m3":    {"cubic metre", "m³", "http://qudt.org/vocab/unit/M3"},
	"m":     {"metre", "m", "http://qudt.org/vocab/unit/M"},
	"cm/h":  {"centimetre per hour", "cm/h", "http://qudt.org/vocab/unit/CentiM-PER-HR"},
	"bar":   {"bar", "bar", "http://qudt.org/vocab/unit/BAR"},
}

// Unit returns the SensorThings unit of a measurement unit string; an
// unknown one (a codec's own unit) is passed on by name.
func Unit(u string) UnitOfMeasurement {
	if v, ok := units[u]; ok {
		return v
	}
	return UnitOfMeasurement{Name: u, Symbol: u, Definition: "urn:loraedge:unit:" + u}
}

// Device is what the sink needs to know of a device for its Thing.
type Device struct {
	Name    string
	Profile string
	Site    string
}

// Place is what the sink needs to know of a site for its Location.
type Place struct {
	ID, Name, Description string
	Lat, Lon              float64
}
