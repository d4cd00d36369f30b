// Package measurement defines the canonical measurement that every codec
// produces and every later stage (store, alerts, sinks, reports) consumes.
package measurement

import (
	"fmt"
	"time"
)

// Quantity names a canonical physical quantity. Units are fixed per
// quantity (see Units) so that consumers never convert.
type Quantity string

// Canonical quantities. Cumulative counters are marked; everything else is
// an instantaneous value.
const (
	AirTemperature            Quantity = "air_temperature"             // degC
	RoadSurfaceTemperature    Quantity = "road_surface_temperature"    // degC
	RoadSubsurfaceTemperature Quantity = "road_subsurface_temperature" // degC
	RelativeHumidity          Quantity = "relative_humidity"           // %
	DewPoint                  Quantity = "dew_point"                   // degC
	FrostPoint                Quantity = "frost_point"                 // degC
	FreezingTemperature       Quantity = "freezing_temperature"        // degC
	SaltConcentration         Quantity = "salt_concentration"          // % NaCl equivalent in the road's water film
	RoadSurfaceState          Quantity = "road_surface_state"          // TLS code
	WaterFilmHeight           Quantity = "water_film_height"           // mm
	Precipitation             Quantity = "precipitation"               // mm
	BarometricPressure        Quantity = "barometric_pressure"         // hPa
	WindSpeed                 Quantity = "wind_speed"                  // m/s
	WindDirection             Quantity = "wind_direction"              // deg
	SolarRadiation            Quantity = "solar_radiation"             // W/m2
	CO2                       Quantity = "co2"                         // ppm
	TVOC                      Quantity = "tvoc"                        // ppb (or index, see Unit)
	PM1                       Quantity = "pm1"                         // ug/m3
	PM2_5                     Quantity = "pm2_5"                       // ug/m3
	PM4                       Quantity = "pm4"                         // ug/m3
	PM10                      Quantity = "pm10"                        // ug/m3
	NO2                       Quantity = "no2"                         // ug/m3
	Illuminance               Quantity = "illuminance"                 // lx
	MotionCount               Quantity = "motion_count"                // count
	Occupancy                 Quantity = "occupancy"                   // 0/1
	BatteryVoltage            Quantity = "battery_voltage"             // V
	BatteryPercent            Quantity = "battery_percent"             // %
	DemodulationMargin        Quantity = "demodulation_margin"         // dB, from the LoRaWAN DevStatusAns
	EnergyActiveImport        Quantity = "energy_active_import"        // kWh, cumulative
	EnergyActiveExport        Quantity = "energy_active_export"        // kWh, cumulative
	PowerActive               Quantity = "power_active"                // W
	HeatEnergy                Quantity = "heat_energy"                 // kWh, cumulative
	HeatPower                 Quantity = "heat_power"                  // W
	FlowTemperature           Quantity = "flow_temperature"            // degC
	ReturnTemperature         Quantity = "return_temperature"          // degC
	VolumeFlow                Quantity = "volume_flow"                 // m3/h
	WaterVolume               Quantity = "water_volume"                // m3, cumulative
	GasVolume                 Quantity = "gas_volume"                  // m3, cumulative
	PulseCount                Quantity = "pulse_count"                 // count, cumulative
	LeakAlarm                 Quantity = "leak_alarm"                  // 0/1
	BurstAlarm                Quantity = "burst_alarm"                 // 0/1
	BackflowAlarm             Quantity = "backflow_alarm"              // 0/1
	DryAlarm                  Quantity = "dry_alarm"                   // 0/1
	TamperAlarm               Quantity = "tamper_alarm"                // 0/1
	LowBattery                Quantity = "low_battery"                 // 0/1
	ValveState                Quantity = "valve_state"                 // 0 closed, 1 open
	Distance                  Quantity = "distance"                    // m, sensor to target (ultrasonic, radar)
	WaterLevel                Quantity = "water_level"                 // m above the gauge zero (Pegelnullpunkt)
	WaterLevelRate            Quantity = "water_level_rate"            // cm/h, derived from water_level
	WaterPressure             Quantity = "water_pressure"              // bar, hydrostatic (gauge pressure)
	PeopleIn                  Quantity = "people_in"                   // persons, cumulative counter (resets tolerated)
	PeopleOut                 Quantity = "people_out"                  // persons, cumulative counter (resets tolerated)
	PeopleCount               Quantity = "people_count"                // persons, instantaneous occupancy
)

// Units maps every canonical quantity to its one unit. A codec that decodes
// another unit converts before it returns.
var Units = map[Quantity]string{
	AirTemperature: "degC", RoadSurfaceTemperature: "degC", RoadSubsurfaceTemperature: "degC",
	RelativeHumidity: "%", DewPoint: "degC", FrostPoint: "degC", FreezingTemperature: "degC",
	SaltConcentration: "%", RoadSurfaceState: "tls", WaterFilmHeight: "mm", Precipitation: "mm", BarometricPressure: "hPa",
	WindSpeed: "m/s", WindDirection: "deg", SolarRadiation: "W/m2",
	CO2: "ppm", TVOC: "ppb", PM1: "ug/m3", PM2_5: "ug/m3", PM4: "ug/m3", PM10: "ug/m3", NO2: "ug/m3",
	Illuminance: "lx", MotionCount: "1", Occupancy: "1",
	BatteryVoltage: "V", BatteryPercent: "%", DemodulationMargin: "dB",
	EnergyActiveImport: "kWh", EnergyActiveExport: "kWh", PowerActive: "W",
	HeatEnergy: "kWh", HeatPower: "W", FlowTemperature: "degC", ReturnTemperature: "degC",
	VolumeFlow: "m3/h", WaterVolume: "m3", GasVolume: "m3", PulseCount: "1",
	LeakAlarm: "1", BurstAlarm: "1", BackflowAlarm: "1", DryAlarm: "1", TamperAlarm: "1", LowBattery: "1",
	ValveState: "1",
	Distance:   "m", WaterLevel: "m", WaterLevelRate: "cm/h", WaterPressure: "bar",
	PeopleIn: "1", PeopleOut: "1", PeopleCount: "1",
}

// Cumulative reports whether q is a monotonically counting register (meter
// reading) rather than an instantaneous value; reports and the store's
// "increase" aggregate treat those differently.
func Cumulative(q Quantity) bool {
	switch q {
	case EnergyActiveImport, EnergyActiveExport, HeatEnergy, WaterVolume, GasVolume, PulseCount, PeopleIn, PeopleOut:
		return true
	}
	return false
}

// Known reports whether q is a canonical quantity.
func Known(q Quantity) bool { _, ok := Units[q]; return ok }

// Measurement is one value of one quantity of one device at one time.
type Measurement struct {
	// Device is the DevEUI in lower-case hex.
	Device   string   `json:"device"`
	Quantity Quantity `json:"quantity"`
	// Channel distinguishes several values of one quantity on one device
	// (e.g. the two pulse inputs of an Adeunis Pulse 4); 0 when there is one.
	Channel int     `json:"channel,omitempty"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	// Time is the gateway receive time (GPS time when the gateway has it),
	// or the time the payload itself states for historical values.
	Time time.Time         `json:"time"`
	Meta map[string]string `json:"meta,omitempty"`
}

// MetaQuality is the Meta key that qualifies a measurement; a measurement
// without it is a normal reading.
const MetaQuality = "quality"

// QualityInvalid is the MetaQuality value of a reading the sensor itself
// flagged as invalid. Such a measurement keeps the raw value for diagnosis
// but is not a reading of the quantity: alerts and plausibility checks must
// not act on it alone.
const QualityInvalid = "invalid"

// Invalid reports whether m is marked MetaQuality=QualityInvalid.
func (m Measurement) Invalid() bool { return m.Meta[MetaQuality] == QualityInvalid }

// SeriesKey identifies the series a measurement belongs to.
func (m Measurement) SeriesKey() string {
	if m.Channel != 0 {
		return fmt.Sprintf("%s/%s/%d", m.Device, m.Quantity, m.Channel)
	}
	return m.Device + "/" + string(m.Quantity)
}
