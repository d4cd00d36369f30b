package energy

import "time"

// Granularity is the bucket size of a report's time series.
type Granularity string

// Granularities; "" picks day for periods up to 62 days, else month.
const (
	Day   Granularity = "day"
	Month Granularity = "month"
	Year  Granularity = "year"
)

// Report is the energy report of a period: the model every renderer
// (PDF, HTML, CSV, JSON) prints. Consumption is in the medium's unit
// (kWh; m3 for gas and water); EnergyKWh converts gas to kWh (Hs).
type Report struct {
	From        time.Time   `json:"from"`
	To          time.Time   `json:"to"` // exclusive
	Granularity Granularity `json:"granularity"`
	Generated   time.Time   `json:"generated"`
	Timezone    string      `json:"timezone"`
	// AreaBasis ("bgf" or "nrf") orders the ranking; both are printed.
	AreaBasis string `json:"area_basis"`
	// ReferenceDegreeDays is the yearly G20/15 of the reference climate.
	ReferenceDegreeDays float64 `json:"reference_degree_days"`
	NightStartHour      int     `json:"night_start_hour"`
	NightEndHour        int     `json:"night_end_hour"`
	Previous            Period  `json:"previous"`
	LastYear            Period  `json:"last_year"`
	// Years is the period's length in years, for Kennwerte per year.
	Years           float64          `json:"years"`
	Sites           []SiteReport     `json:"sites"`
	Totals          []MediumTotal    `json:"totals"`
	Ranking         []Rank           `json:"ranking"`
	EmissionFactors []EmissionFactor `json:"emission_factors"`
	Notes           []Note           `json:"notes,omitempty"`
	// EnergyKWh, CostEUR and CO2Kg sum every site and medium.
	EnergyKWh float64 `json:"energy_kwh"`
	CostEUR   float64 `json:"cost_eur"`
	CO2Kg     float64 `json:"co2_kg"`
	// Measures are the energy measures of the report's sites that start
	// before its end, verified up to it (filled by report.Energy).
	Measures []MeasureResult `json:"measures,omitempty"`
	// Benchmarks are the sites with a building category or comparison
	// values, ranked by saving potential (largest first).
	Benchmarks []Benchmark `json:"benchmarks,omitempty"`
	// BenchmarkGreenMax and BenchmarkYellowMax are the traffic light's
	// limits as multiples of the comparison value.
	BenchmarkGreenMax  float64 `json:"benchmark_green_max,omitempty"`
	BenchmarkYellowMax float64 `json:"benchmark_yellow_max,omitempty"`
	// Development is the annual report's chapter over the last up to
	// five years (filled by report.Energy for a calendar year).
	Development *Development `json:"development,omitempty"`
}

// Period is a time range [From, To).
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// SiteReport is one building's part of the report.
type SiteReport struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Address string         `json:"address,omitempty"`
	BGF     float64        `json:"bgf_m2"`
	NRF     float64        `json:"nrf_m2"`
	Media   []MediumReport `json:"media"`
	Heating Heating        `json:"heating"`
	// Kennwerte per year and m2; nil when an area or the data is missing.
	Kennwerte Kennwerte `json:"kennwerte"`
	EnergyKWh float64   `json:"energy_kwh"`
	CostEUR   float64   `json:"cost_eur"`
	CO2Kg     float64   `json:"co2_kg"`
}

// MediumReport is one medium of one site (or of all sites in Totals).
type MediumReport struct {
	Medium      Medium  `json:"medium"`
	Unit        string  `json:"unit"`
	Consumption float64 `json:"consumption"`
	EnergyKWh   float64 `json:"energy_kwh"`
	// Estimated is set when a period boundary was interpolated across a
	// gap, lay outside the readings, or a replacement was detected.
	Estimated bool    `json:"estimated"`
	CostEUR   float64 `json:"cost_eur"`
	// CostComplete is false when a year of the period has no tariff.
	CostComplete    bool       `json:"cost_complete"`
	CO2Kg           float64    `json:"co2_kg"`
	Buckets         []Bucket   `json:"buckets"`
	LastYearBuckets []Bucket   `json:"last_year_buckets"`
	Previous        Comparison `json:"previous"`
	LastYear        Comparison `json:"last_year"`
	// NightBase and WeekendBase are mean rates in the unit per hour.
	NightBase   float64     `json:"night_base_per_h"`
	WeekendBase float64     `json:"weekend_base_per_h"`
	NightMonths []NightRate `json:"night_months,omitempty"`
	// GasZNumber and GasCalorificValue convert gas (gas only).
	GasZNumber        float64       `json:"gas_z_number,omitempty"`
	GasCalorificValue float64       `json:"gas_calorific_value_kwh_m3,omitempty"`
	Meters            []MeterReport `json:"meters,omitempty"`
}

// MediumTotal is a medium summed over the report's sites.
type MediumTotal = MediumReport

// Bucket is the consumption of one day, month or year.
type Bucket struct {
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Consumption float64   `json:"consumption"`
	EnergyKWh   float64   `json:"energy_kwh"`
	Estimated   bool      `json:"estimated,omitempty"`
	// uncovered is set when no meter has readings around the bucket (not
	// installed yet, removed): its zero is no measurement.
	uncovered bool
}

// Comparison is the consumption of a comparison period.
type Comparison struct {
	Period
	// Available is false when no meter has readings in the period.
	Available   bool    `json:"available"`
	Consumption float64 `json:"consumption"`
	EnergyKWh   float64 `json:"energy_kwh"`
	Estimated   bool    `json:"estimated,omitempty"`
	CostEUR     float64 `json:"cost_eur"`
	CO2Kg       float64 `json:"co2_kg"`
	// ChangePct is (current - comparison)/comparison in percent; nil when
	// the comparison is unavailable or zero. In totals only sites with
	// data in the comparison period count on the current side.
	ChangePct *float64 `json:"change_pct"`
}

// NightRate is the mean rate in the night window over one month.
type NightRate struct {
	Month string  `json:"month"`
	Rate  float64 `json:"rate_per_h"`
	// Leak is set for water when the night rate exceeds leak_night_lph.
	Leak bool `json:"leak,omitempty"`
}

// MeterReport is one meter's consumption and corrections.
type MeterReport struct {
	ID          string  `json:"id"`
	Device      string  `json:"device"`
	Quantity    string  `json:"quantity"`
	Channel     int     `json:"channel,omitempty"`
	Consumption float64 `json:"consumption"`
	Estimated   bool    `json:"estimated"`
	Readings    int     `json:"readings"`
	Events      []Event `json:"events,omitempty"`
}

// Heating is a site's heating energy (heat + gas kWh), raw and weather
// normalised: E_norm = E*(1-s)*G_ref/G + E*s with s the hot-water share.
type Heating struct {
	RawKWh        float64    `json:"raw_kwh"`
	HotWaterShare float64    `json:"hot_water_share"`
	DegreeDays    DegreeDays `json:"degree_days"`
	// Normalised is false when degree days are missing; NormalisedKWh is
	// then RawKWh.
	Normalised    bool    `json:"normalised"`
	Factor        float64 `json:"factor"`
	NormalisedKWh float64 `json:"normalised_kwh"`
}

// Kennwerte are consumption per reference area and year (VDI 3807).
// Heating uses the normalised energy annualised by the reference climate's
// share of the period; electricity and water divide by Report.Years.
type Kennwerte struct {
	HeatingBGF     *float64 `json:"heating_kwh_m2a_bgf"`
	HeatingNRF     *float64 `json:"heating_kwh_m2a_nrf"`
	ElectricityBGF *float64 `json:"electricity_kwh_m2a_bgf"`
	ElectricityNRF *float64 `json:"electricity_kwh_m2a_nrf"`
	WaterBGF       *float64 `json:"water_m3_m2a_bgf"`
	WaterNRF       *float64 `json:"water_m3_m2a_nrf"`
}

// Rank is one site's place in the Kennwert ranking (worst first).
type Rank struct {
	Place       int      `json:"place"`
	Site        string   `json:"site"`
	Name        string   `json:"name"`
	Heating     *float64 `json:"heating_kwh_m2a"`
	Electricity *float64 `json:"electricity_kwh_m2a"`
}

// Note is a remark for the reader, rendered by code in each language.
type Note struct {
	Code   NoteCode   `json:"code"`
	Site   string     `json:"site,omitempty"`
	Meter  string     `json:"meter,omitempty"`
	Medium Medium     `json:"medium,omitempty"`
	Month  string     `json:"month,omitempty"`
	Year   int        `json:"year,omitempty"`
	Value  float64    `json:"value,omitempty"`
	Time   *time.Time `json:"time,omitempty"`
}

// NoteCode identifies a note's text.
type NoteCode string

// Note codes.
const (
	NoteNoReadings          NoteCode = "no_readings"          // meter without readings in the period
	NoteEstimated           NoteCode = "estimated"            // meter value interpolated / incomplete
	NoteRollover            NoteCode = "rollover"             // register rollover corrected
	NoteReplacement         NoteCode = "replacement"          // configured meter change applied
	NoteReplacementDetected NoteCode = "replacement_detected" // drop treated as meter change
	NoteRejected            NoteCode = "rejected"             // readings above Qmax ignored (Value = count)
	NoteGap                 NoteCode = "gap"                  // gaps longer than max_gap (Value = count)
	NoteLeak                NoteCode = "leak"                 // water night flow above threshold (Value = l/h)
	NoteNoTariff            NoteCode = "no_tariff"            // no tariff for medium and year
	NoteGasDefault          NoteCode = "gas_default"          // default Z / Hs used
	NoteNoDegreeDays        NoteCode = "no_degree_days"       // heating not normalised
	NoteNoArea              NoteCode = "no_area"              // no BGF/NRF: no Kennwerte
	NoteFactorYear          NoteCode = "factor_year"          // emission factor of another year used
)
