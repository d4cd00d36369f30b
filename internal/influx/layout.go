package influx

import (
	"math"
	"strconv"

	"github.com/loraedge/loraedge/internal/measurement"
)

// Families maps every canonical quantity to its InfluxDB measurement.
var Families = map[measurement.Quantity]string{
	measurement.RoadSurfaceTemperature:    "road_weather",
	measurement.RoadSubsurfaceTemperature: "road_weather",
	measurement.RoadSurfaceState:          "road_weather",
	measurement.WaterFilmHeight:           "road_weather",
	measurement.FreezingTemperature:       "road_weather",
	measurement.SaltConcentration:         "road_weather",

	measurement.Precipitation:      "weather",
	measurement.BarometricPressure: "weather",
	measurement.WindSpeed:          "weather",
	measurement.WindDirection:      "weather",
	measurement.SolarRadiation:     "weather",

	measurement.AirTemperature:   "air",
	measurement.RelativeHumidity: "air",
	measurement.DewPoint:         "air",
	measurement.FrostPoint:       "air",
	measurement.CO2:              "air",
	measurement.TVOC:             "air",
	measurement.PM1:              "air",
	measurement.PM2_5:            "air",
	measurement.PM4:              "air",
	measurement.PM10:             "air",
	measurement.NO2:              "air",

	measurement.Illuminance: "room",
	measurement.MotionCount: "room",
	measurement.Occupancy:   "room",

	measurement.EnergyActiveImport: "meter",
	measurement.EnergyActiveExport: "meter",
	measurement.PowerActive:        "meter",
	measurement.HeatEnergy:         "meter",
	measurement.HeatPower:          "meter",
	measurement.FlowTemperature:    "meter",
	measurement.ReturnTemperature:  "meter",
	measurement.VolumeFlow:         "meter",
	measurement.WaterVolume:        "meter",
	measurement.GasVolume:          "meter",
	measurement.PulseCount:         "meter",
	measurement.ValveState:         "meter",

	measurement.Distance:       "hydro",
	measurement.WaterLevel:     "hydro",
	measurement.WaterLevelRate: "hydro",
	measurement.WaterPressure:  "hydro",

	measurement.PeopleIn:    "people",
	measurement.PeopleOut:   "people",
	measurement.PeopleCount: "people",

	measurement.BatteryVoltage:     "device",
	measurement.BatteryPercent:     "device",
	measurement.DemodulationMargin: "device",

	measurement.LeakAlarm:     "alarm",
	measurement.BurstAlarm:    "alarm",
	measurement.BackflowAlarm: "alarm",
	measurement.DryAlarm:      "alarm",
	measurement.TamperAlarm:   "alarm",
	measurement.LowBattery:    "alarm",
}

// FamilyOther is the measurement of quantities missing from Families.
const FamilyOther = "other"

// Family returns the InfluxDB measurement of q.
func Family(q measurement.Quantity) string {
	if f, ok := Families[q]; ok {
		return f
	}
	return FamilyOther
}

// appendLine appends m as one line of line protocol (without newline).
// ok is false when the measurement cannot be represented (no device or
// quantity, or a NaN/Inf value, which line protocol has no syntax for).
func appendLine(b []byte, m measurement.Measurement, gateway string) (_ []byte, ok bool) {
	if m.Device == "" || m.Quantity == "" || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
		return b, false
	}
	b = appendEscaped(b, Family(m.Quantity), false)
	// Tags in key order, as InfluxDB prefers.
	if m.Channel != 0 {
		b = append(b, ",channel="...)
		b = strconv.AppendInt(b, int64(m.Channel), 10)
	}
	b = appendTag(b, "device", m.Device)
	b = appendTag(b, "gateway", gateway)
	b = appendTag(b, "quality", m.Meta[measurement.MetaQuality])
	b = appendTag(b, "site", m.Meta["site"])
	b = appendTag(b, "unit", m.Unit)
	b = append(b, ' ')
	b = appendEscaped(b, string(m.Quantity), true)
	b = append(b, '=')
	b = strconv.AppendFloat(b, m.Value, 'g', -1, 64)
	b = append(b, ' ')
	b = strconv.AppendInt(b, m.Time.UnixNano(), 10)
	return b, true
}

func appendTag(b []byte, k, v string) []byte {
	if v == "" {
		return b // line protocol has no empty tag values
	}
	b = append(b, ',')
	b = append(b, k...)
	b = append(b, '=')
	return appendEscaped(b, v, true)
}

// appendEscaped escapes s for a measurement name (commas, spaces) or a tag
// key/value or field key (also '='). Control characters have no escape in
// line protocol and backslashes unescape differently in InfluxDB 1.x and
// 2.x, so they become '_'.
func appendEscaped(b []byte, s string, eq bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ',' || c == ' ' || (eq && c == '='):
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f || c == '\\':
			b = append(b, '_')
		default:
			b = append(b, c)
		}
	}
	return b
}
