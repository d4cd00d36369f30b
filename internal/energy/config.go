package energy

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
)

// Medium is what a meter measures, as reported to the council.
type Medium string

// The media of a building's energy and water report.
const (
	Electricity Medium = "electricity"
	Heat        Medium = "heat" // district heat or heat meters, kWh
	Gas         Medium = "gas"  // natural gas, metered in m3, billed in kWh (Hs)
	Water       Medium = "water"
)

// Media lists the media in report order.
var Media = []Medium{Electricity, Heat, Gas, Water}

// Unit is the unit consumption of m is reported in: kWh, or m3 for gas
// (before conversion) and water.
func (m Medium) Unit() string {
	switch m {
	case Gas, Water:
		return "m3"
	}
	return "kWh"
}

// Valid reports whether m is one of Media.
func (m Medium) Valid() bool {
	for _, x := range Media {
		if x == m {
			return true
		}
	}
	return false
}

// DefaultQuantity is the quantity a meter of medium m reports unless a
// pulse counter or another quantity is configured.
func (m Medium) DefaultQuantity() measurement.Quantity {
	switch m {
	case Electricity:
		return measurement.EnergyActiveImport
	case Heat:
		return measurement.HeatEnergy
	case Gas:
		return measurement.GasVolume
	case Water:
		return measurement.WaterVolume
	}
	return ""
}

// MediumOf maps a cumulative quantity to its medium ("" for pulse counts,
// whose medium must be configured).
func MediumOf(q measurement.Quantity) Medium {
	switch q {
	case measurement.EnergyActiveImport:
		return Electricity
	case measurement.HeatEnergy:
		return Heat
	case measurement.GasVolume:
		return Gas
	case measurement.WaterVolume:
		return Water
	}
	return ""
}

// Defaults documented in README and in the config reference.
const (
	// DefaultReferenceDegreeDays is G20/15 of the reference climate used
	// for weather normalisation when none is configured: the test reference
	// year Potsdam (TRY 2011), the reference of the DWD Klimafaktoren since
	// EnEV 2014 / GEG, 3666.8 Kd/a (domain.md section 3, secondary source).
	DefaultReferenceDegreeDays = 3666.8
	// DefaultLeakNightLPH flags a month whose mean water flow between the
	// night hours exceeds this many litres per hour: schools and offices
	// use (almost) no water at night, a running toilet uses 10-30 l/h.
	DefaultLeakNightLPH = 10
	// DefaultGasZNumber is the Zustandszahl used when a site configures
	// neither z_number nor its altitude: sea level, 22 mbar gauge pressure
	// (low-pressure supply), gas at 15 degC (DVGW G 685).
	DefaultGasZNumber = 0.9711
	// DefaultGasCalorificValue is Hs,eff in kWh/m3 of H-gas used when a
	// site configures none (H-gas 10-12 kWh/m3); reports flag its use.
	DefaultGasCalorificValue = 11.0
)

// Config is the energy report configuration (key `energy` in
// loraedge.yaml). Zero values take the documented defaults.
type Config struct {
	// Timezone for days, months and night hours. Default Europe/Berlin.
	Timezone string `mapstructure:"timezone" yaml:"timezone,omitempty"`
	// AreaBasis is the area the ranking uses: "bgf" (VDI 3807-2
	// benchmarks, default) or "nrf" (GEG). Reports print both.
	AreaBasis string `mapstructure:"area_basis" yaml:"area_basis,omitempty"`
	// DiscoverMeters adds a meter for every energy_active_import,
	// heat_energy, gas_volume and water_volume series of a device with a
	// site, unless a configured meter names the series. Default true.
	DiscoverMeters *bool `mapstructure:"discover_meters" yaml:"discover_meters,omitempty"`
	// Meters configured explicitly (pulse counters always need this).
	Meters []MeterConfig `mapstructure:"meters" yaml:"meters,omitempty"`
	// Sites holds per-site settings (gas conversion, degree days).
	Sites []SiteConfig `mapstructure:"sites" yaml:"sites,omitempty"`
	// ReferenceDegreeDays is G20/15 in Kd per year of the reference
	// climate. Default DefaultReferenceDegreeDays (Potsdam TRY 2011).
	ReferenceDegreeDays float64 `mapstructure:"reference_degree_days" yaml:"reference_degree_days,omitempty"`
	// EmissionFactors override DefaultEmissionFactors for their year and
	// medium.
	EmissionFactors []EmissionFactor `mapstructure:"emission_factors" yaml:"emission_factors,omitempty"`
	// Tariffs give prices per medium and year.
	Tariffs []Tariff `mapstructure:"tariffs" yaml:"tariffs,omitempty"`
	// NightStartHour and NightEndHour bound the night base-load window,
	// local time. Default 0 and 4.
	NightStartHour *int `mapstructure:"night_start_hour" yaml:"night_start_hour,omitempty"`
	NightEndHour   *int `mapstructure:"night_end_hour" yaml:"night_end_hour,omitempty"`
	// LeakNightLPH flags water leak months. Default DefaultLeakNightLPH.
	LeakNightLPH float64 `mapstructure:"leak_night_lph" yaml:"leak_night_lph,omitempty"`
	// MaxGap is the longest interval between two readings that still
	// counts as measured when a period boundary falls inside it; a longer
	// one makes the interpolated boundary value an estimate. Default 0:
	// 2.5 times each meter's median reading interval.
	MaxGap time.Duration `mapstructure:"max_gap" yaml:"max_gap,omitempty"`
	// DropTolerance is the relative fall of a reading treated as noise
	// (the reading is ignored); a larger fall is a rollover or a meter
	// replacement. Default 0.001 (0.1 %).
	DropTolerance float64 `mapstructure:"drop_tolerance" yaml:"drop_tolerance,omitempty"`
	// Measures are the energy measures whose savings are verified.
	Measures []Measure `mapstructure:"measures" yaml:"measures,omitempty"`
	// BaselineDays is the length of a measure's baseline period. Default
	// DefaultBaselineDays.
	BaselineDays int `mapstructure:"baseline_days" yaml:"baseline_days,omitempty"`
	// Benchmarks set the traffic light and override or extend the
	// comparison values (see benchmark.go).
	Benchmarks BenchmarkConfig `mapstructure:"benchmarks" yaml:"benchmarks,omitempty"`
}

// MeterConfig describes one meter: the series it reports on and how to
// turn its register into consumption.
type MeterConfig struct {
	// ID names the meter in reports; default "<device>/<quantity>".
	ID     string `mapstructure:"id" yaml:"id,omitempty"`
	Site   string `mapstructure:"site" yaml:"site,omitempty"`
	Medium Medium `mapstructure:"medium" yaml:"medium,omitempty"`
	// Device is the DevEUI in hex.
	Device string `mapstructure:"device" yaml:"device,omitempty"`
	// Quantity defaults to the medium's (energy_active_import,
	// heat_energy, gas_volume, water_volume); pulse_count needs
	// PulseWeight.
	Quantity measurement.Quantity `mapstructure:"quantity" yaml:"quantity,omitempty"`
	Channel  int                  `mapstructure:"channel" yaml:"channel,omitempty"`
	// PulseWeight is kWh or m3 per pulse of a pulse counter; it scales
	// the register (default 1).
	PulseWeight float64 `mapstructure:"pulse_weight" yaml:"pulse_weight,omitempty"`
	// Digits is the number of register digits before the decimal point:
	// the register wraps at 10^Digits (in register units, i.e. pulses).
	// 0: no rollover expected.
	Digits int `mapstructure:"digits" yaml:"digits,omitempty"`
	// MaxRatePerHour (Qmax) rejects readings implying more consumption per
	// hour than this, in the medium's unit. 0: no check.
	MaxRatePerHour float64 `mapstructure:"max_rate_per_hour" yaml:"max_rate_per_hour,omitempty"`
	// Replacements are meter changes with their readings.
	Replacements []Replacement `mapstructure:"replacements" yaml:"replacements,omitempty"`
}

// Replacement is a meter change: the removed meter's final reading and the
// new meter's initial reading, in register units.
type Replacement struct {
	// Time of the change, "2006-01-02T15:04" local or RFC 3339. Readings
	// at or after Time belong to the new meter.
	Time       string  `mapstructure:"time" yaml:"time"`
	OldFinal   float64 `mapstructure:"old_final" yaml:"old_final"`
	NewInitial float64 `mapstructure:"new_initial" yaml:"new_initial"`
	at         time.Time
}

// SiteConfig holds what the report needs to know about one site beyond
// its areas.
type SiteConfig struct {
	ID  string    `mapstructure:"id" yaml:"id,omitempty"`
	Gas GasConfig `mapstructure:"gas" yaml:"gas,omitempty"`
	// TemperatureDevice is the DevEUI of an outdoor air_temperature
	// sensor for degree days (may be another site's weather station).
	TemperatureDevice  string `mapstructure:"temperature_device" yaml:"temperature_device,omitempty"`
	TemperatureChannel int    `mapstructure:"temperature_channel" yaml:"temperature_channel,omitempty"`
	// DegreeDays gives G20/15 per month ("2026-01": 512.3), used when the
	// sensor does not cover a month completely.
	DegreeDays map[string]float64 `mapstructure:"degree_days" yaml:"degree_days,omitempty"`
	// HotWaterShare is the share of heating energy (heat + gas) that does
	// not depend on the weather (hot water, process heat); it is not
	// normalised. 0..1, default 0.
	HotWaterShare float64 `mapstructure:"hot_water_share" yaml:"hot_water_share,omitempty"`
	// Benchmark assigns the building category and per-site comparison
	// values.
	Benchmark SiteBenchmark `mapstructure:"benchmark" yaml:"benchmark,omitempty"`
}

// GasConfig converts gas volume to energy per DVGW G 685:
// kWh = Vb * Z * Hs,eff.
type GasConfig struct {
	// ZNumber is the Zustandszahl from the gas bill. When 0 it is computed
	// from AltitudeM and GaugePressureMbar (gas at 15 degC).
	ZNumber           float64 `mapstructure:"z_number" yaml:"z_number,omitempty"`
	AltitudeM         float64 `mapstructure:"altitude_m" yaml:"altitude_m,omitempty"`
	GaugePressureMbar float64 `mapstructure:"gauge_pressure_mbar" yaml:"gauge_pressure_mbar,omitempty"`
	// CalorificValue is Hs,eff in kWh/m3 from the bill.
	CalorificValue float64 `mapstructure:"calorific_value_kwh_m3" yaml:"calorific_value_kwh_m3,omitempty"`
}

// ZNumber computes the Zustandszahl per DVGW G 685 for a meter at altitude
// h (m) with gauge pressure peff (mbar) and gas temperature t (degC):
// Z = Tn/(Tn+t) * (pamb+peff)/pn with pamb = 1016 - 0.12 h.
func ZNumber(h, peff, t float64) float64 {
	const tn, pn = 273.15, 1013.25
	pamb := 1016 - 0.12*h
	return tn / (tn + t) * (pamb + peff) / pn
}

// zNumber returns the Zustandszahl and whether it was configured.
func (g GasConfig) zNumber() (float64, bool) {
	if g.ZNumber > 0 {
		return g.ZNumber, true
	}
	if g.AltitudeM != 0 || g.GaugePressureMbar != 0 {
		return ZNumber(g.AltitudeM, g.GaugePressureMbar, 15), true
	}
	return DefaultGasZNumber, false
}

func (g GasConfig) calorific() (float64, bool) {
	if g.CalorificValue > 0 {
		return g.CalorificValue, true
	}
	return DefaultGasCalorificValue, false
}

// EmissionFactor is kg CO2 per kWh (per m3 for water) of a medium in a
// year. The factor of the latest year not after the consumption's year
// applies (else the earliest).
type EmissionFactor struct {
	Year      int     `mapstructure:"year" yaml:"year,omitempty"`
	Medium    Medium  `mapstructure:"medium" yaml:"medium,omitempty"`
	KgPerUnit float64 `mapstructure:"kg_per_unit" yaml:"kg_per_unit,omitempty"`
	Source    string  `mapstructure:"source" yaml:"source,omitempty"`
}

// DefaultEmissionFactors are used for media and years not configured
// (domain.md section 3). Gas is per kWh Hs because gas kWh here are
// V*Z*Hs. Water has no default (0): configure the utility's figure.
var DefaultEmissionFactors = []EmissionFactor{
	{Year: 2024, Medium: Electricity, KgPerUnit: 0.363, Source: "UBA CC 23/2024, Strommix 2024 (Schätzung), direktes CO2"},
	{Year: 2024, Medium: Gas, KgPerUnit: 0.182, Source: "BAFA Erdgas 0,201 kg/kWh Hi = 0,182 kg/kWh Hs"},
	{Year: 2024, Medium: Heat, KgPerUnit: 0.280, Source: "BAFA Fernwärme Standardwert"},
	{Year: 2024, Medium: Water, KgPerUnit: 0, Source: "kein Standardwert"},
}

// Tariff is the price of a medium in a year, for all sites or one.
type Tariff struct {
	Medium Medium `mapstructure:"medium" yaml:"medium,omitempty"`
	Year   int    `mapstructure:"year" yaml:"year,omitempty"`
	// Site restricts the tariff to one site; empty: every site.
	Site string `mapstructure:"site" yaml:"site,omitempty"`
	// EnergyPrice is EUR per kWh (electricity, heat, gas after
	// conversion) or per m3 (water), gross as billed.
	EnergyPrice float64 `mapstructure:"energy_price" yaml:"energy_price,omitempty"`
	// BaseFeePerYear is EUR per year per site and medium, prorated by days.
	BaseFeePerYear float64 `mapstructure:"base_fee_per_year" yaml:"base_fee_per_year,omitempty"`
}

// resolved is Config with defaults applied and strings parsed.
type resolved struct {
	Config
	loc                  *time.Location
	nightStart, nightEnd int
	sites                map[string]SiteConfig
	cats                 map[string]Category
	factors              map[Medium][]EmissionFactor // by year ascending
}

// DefaultConfig returns the defaults: German local time, ranking by gross
// floor area (bgf), meters discovered from the devices, the night
// base-load window 0-4 h and a 0.1 % drop of a reading taken as noise.
func DefaultConfig() Config {
	discover, nightStart, nightEnd := true, 0, 4
	return Config{
		Timezone: "Europe/Berlin", AreaBasis: "bgf", DiscoverMeters: &discover,
		ReferenceDegreeDays: DefaultReferenceDegreeDays, NightStartHour: &nightStart, NightEndHour: &nightEnd,
		LeakNightLPH: DefaultLeakNightLPH, DropTolerance: 0.001, BaselineDays: DefaultBaselineDays,
		Benchmarks: BenchmarkConfig{GreenMax: DefaultGreenMax, YellowMax: DefaultYellowMax},
	}
}

func (c Config) resolve() (*resolved, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	dc := DefaultConfig()
	r := &resolved{Config: c, nightStart: *dc.NightStartHour, nightEnd: *dc.NightEndHour, sites: map[string]SiteConfig{}, factors: map[Medium][]EmissionFactor{}}
	tz := c.Timezone
	if tz == "" {
		tz = dc.Timezone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	r.loc = loc
	if r.AreaBasis == "" {
		r.AreaBasis = dc.AreaBasis
	}
	if c.NightStartHour != nil {
		r.nightStart = *c.NightStartHour
	}
	if c.NightEndHour != nil {
		r.nightEnd = *c.NightEndHour
	}
	if r.ReferenceDegreeDays == 0 {
		r.ReferenceDegreeDays = dc.ReferenceDegreeDays
	}
	if r.LeakNightLPH == 0 {
		r.LeakNightLPH = dc.LeakNightLPH
	}
	if r.DropTolerance == 0 {
		r.DropTolerance = dc.DropTolerance
	}
	if r.BaselineDays == 0 {
		r.BaselineDays = dc.BaselineDays
	}
	for _, s := range c.Sites {
		r.sites[s.ID] = s
	}
	r.cats = c.Benchmarks.categories()
	r.Meters = make([]MeterConfig, len(c.Meters))
	for i, m := range c.Meters {
		m.Replacements = append([]Replacement(nil), m.Replacements...)
		for j := range m.Replacements {
			m.Replacements[j].at, _ = parseTime(m.Replacements[j].Time, loc)
		}
		sort.Slice(m.Replacements, func(a, b int) bool { return m.Replacements[a].at.Before(m.Replacements[b].at) })
		r.Meters[i] = m
	}
	// A medium with configured factors uses only those; the defaults fill
	// media nobody configured.
	for _, f := range c.EmissionFactors {
		r.factors[f.Medium] = append(r.factors[f.Medium], f)
	}
	for _, f := range DefaultEmissionFactors {
		if !hasMedium(c.EmissionFactors, f.Medium) {
			r.factors[f.Medium] = append(r.factors[f.Medium], f)
		}
	}
	for m := range r.factors {
		fs := r.factors[m]
		sort.Slice(fs, func(a, b int) bool { return fs[a].Year < fs[b].Year })
	}
	return r, nil
}

func hasMedium(fs []EmissionFactor, m Medium) bool {
	for _, f := range fs {
		if f.Medium == m {
			return true
		}
	}
	return false
}

// factor returns the emission factor of m for year.
func (r *resolved) factor(m Medium, year int) EmissionFactor {
	fs := r.factors[m]
	if len(fs) == 0 {
		return EmissionFactor{Year: year, Medium: m}
	}
	best := fs[0]
	for _, f := range fs {
		if f.Year <= year {
			best = f
		}
	}
	return best
}

// tariff returns the tariff of site and m for year: a site-specific one
// before a general one; ok false when none is configured for the year.
func (r *resolved) tariff(site string, m Medium, year int) (Tariff, bool) {
	var gen *Tariff
	for i, t := range r.Tariffs {
		if t.Medium != m || t.Year != year {
			continue
		}
		if t.Site == site {
			return t, true
		}
		if t.Site == "" && gen == nil {
			gen = &r.Tariffs[i]
		}
	}
	if gen != nil {
		return *gen, true
	}
	return Tariff{}, false
}

// parseTime accepts a date, a local date and time, or RFC 3339, between
// the years 1970 and 2200 (meter changes happen in this era; far-off years
// carry historic local-mean-time offsets nobody means).
func parseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, err := func() (time.Time, error) {
		for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t, nil
			}
		}
		return time.Parse(time.RFC3339, s)
	}()
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02), local time (2006-01-02T15:04) or RFC 3339", s)
	}
	if y := t.Year(); y < 1970 || y > 2200 {
		return time.Time{}, fmt.Errorf("%q: year %d is not between 1970 and 2200", s, y)
	}
	return t, nil
}

// Validate reports every problem of c at once, each with its key path.
func (c Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("energy.%s: %s", path, fmt.Sprintf(format, args...)))
	}
	loc := time.UTC
	if c.Timezone != "" {
		l, err := time.LoadLocation(c.Timezone)
		if err != nil {
			add("timezone", "%v", err)
		} else {
			loc = l
		}
	}
	switch c.AreaBasis {
	case "", "bgf", "nrf":
	default:
		add("area_basis", "%q is not bgf or nrf", c.AreaBasis)
	}
	if c.ReferenceDegreeDays < 0 {
		add("reference_degree_days", "must not be negative")
	}
	hour := func(p *int, name string) {
		if p != nil && (*p < 0 || *p > 24) {
			add(name, "%d is not an hour 0..24", *p)
		}
	}
	hour(c.NightStartHour, "night_start_hour")
	hour(c.NightEndHour, "night_end_hour")
	if c.NightStartHour != nil && c.NightEndHour != nil && *c.NightStartHour >= *c.NightEndHour {
		add("night_end_hour", "must be after night_start_hour (a window within one day)")
	}
	if c.LeakNightLPH < 0 {
		add("leak_night_lph", "must not be negative")
	}
	if c.MaxGap < 0 {
		add("max_gap", "must not be negative")
	}
	if c.DropTolerance < 0 || c.DropTolerance >= 1 {
		add("drop_tolerance", "must be in [0, 1)")
	}
	ids := map[string]bool{}
	for i, m := range c.Meters {
		p := fmt.Sprintf("meters[%d]", i)
		if m.Device == "" {
			add(p+".device", "required")
		}
		if !m.Medium.Valid() {
			add(p+".medium", "%q is not electricity, heat, gas or water", m.Medium)
		}
		if m.Quantity != "" && !measurement.Cumulative(m.Quantity) {
			add(p+".quantity", "%q is not a cumulative quantity", m.Quantity)
		}
		if m.Quantity == measurement.PulseCount && m.PulseWeight == 0 {
			add(p+".pulse_weight", "required for pulse_count")
		}
		if m.PulseWeight < 0 {
			add(p+".pulse_weight", "must not be negative")
		}
		if m.Digits < 0 || m.Digits > 15 {
			add(p+".digits", "%d is not 0..15", m.Digits)
		}
		if m.MaxRatePerHour < 0 {
			add(p+".max_rate_per_hour", "must not be negative")
		}
		id := m.id()
		if ids[id] {
			add(p+".id", "%q listed twice", id)
		}
		ids[id] = true
		for j, r := range m.Replacements {
			if _, err := parseTime(r.Time, loc); err != nil {
				add(fmt.Sprintf("%s.replacements[%d].time", p, j), "%v", err)
			}
		}
	}
	c.Benchmarks.validate(add)
	cats := c.Benchmarks.categories()
	for i, s := range c.Sites {
		p := fmt.Sprintf("sites[%d]", i)
		s.Benchmark.validate(p+".benchmark", cats, add)
		if s.ID == "" {
			add(p+".id", "required")
		}
		if s.Gas.ZNumber < 0 || s.Gas.ZNumber > 2 {
			add(p+".gas.z_number", "%g is not in (0, 2]", s.Gas.ZNumber)
		}
		if s.Gas.CalorificValue < 0 || s.Gas.CalorificValue > 15 {
			add(p+".gas.calorific_value_kwh_m3", "%g is not in (0, 15]", s.Gas.CalorificValue)
		}
		if s.HotWaterShare < 0 || s.HotWaterShare >= 1 {
			add(p+".hot_water_share", "must be in [0, 1)")
		}
		for k, v := range s.DegreeDays {
			if _, err := time.Parse("2006-01", k); err != nil {
				add(p+".degree_days."+k, "key is not a month 2006-01")
			}
			if v < 0 || math.IsNaN(v) {
				add(p+".degree_days."+k, "must not be negative")
			}
		}
	}
	for i, f := range c.EmissionFactors {
		p := fmt.Sprintf("emission_factors[%d]", i)
		if !f.Medium.Valid() {
			add(p+".medium", "%q is not electricity, heat, gas or water", f.Medium)
		}
		if f.Year < 1990 || f.Year > 2100 {
			add(p+".year", "%d is not a year", f.Year)
		}
		if f.KgPerUnit < 0 {
			add(p+".kg_per_unit", "must not be negative")
		}
	}
	if c.BaselineDays != 0 && (c.BaselineDays < MinBaselineDays || c.BaselineDays > 3*365) {
		add("baseline_days", "%d is not %d..%d", c.BaselineDays, MinBaselineDays, 3*365)
	}
	keys := map[string]bool{}
	for i, m := range c.Measures {
		p := fmt.Sprintf("measures[%d]", i)
		if err := m.Validate("energy." + p); err != nil {
			errs = append(errs, err)
		}
		if keys[m.Key()] {
			add(p+".id", "%q listed twice", m.Key())
		}
		keys[m.Key()] = true
	}
	for i, t := range c.Tariffs {
		p := fmt.Sprintf("tariffs[%d]", i)
		if !t.Medium.Valid() {
			add(p+".medium", "%q is not electricity, heat, gas or water", t.Medium)
		}
		if t.Year < 1990 || t.Year > 2100 {
			add(p+".year", "%d is not a year", t.Year)
		}
		if t.EnergyPrice < 0 || t.BaseFeePerYear < 0 {
			add(p, "prices must not be negative")
		}
	}
	return errors.Join(errs...)
}

func (m MeterConfig) quantity() measurement.Quantity {
	if m.Quantity != "" {
		return m.Quantity
	}
	return m.Medium.DefaultQuantity()
}

func (m MeterConfig) ref() SeriesRef {
	return SeriesRef{Device: strings.ToLower(m.Device), Quantity: m.quantity(), Channel: m.Channel}
}

func (m MeterConfig) id() string {
	if m.ID != "" {
		return m.ID
	}
	return m.ref().Key()
}

func (m MeterConfig) scale() float64 {
	if m.PulseWeight > 0 {
		return m.PulseWeight
	}
	return 1
}

// ValidateRefs checks what Validate cannot see alone: configured meters
// and site settings must name buildings of the top-level sites list.
// internal/config calls it with the whole configuration.
func (c Config) ValidateRefs(sites []site.Site) error {
	kind := map[string]site.Kind{}
	for _, s := range sites {
		kind[s.ID] = s.Kind
	}
	var buildings []string
	for _, s := range sites {
		if s.Kind == site.Building {
			buildings = append(buildings, s.ID)
		}
	}
	var errs []error
	check := func(path, id string) {
		switch k, ok := kind[id]; {
		case id == "":
		case !ok:
			errs = append(errs, fmt.Errorf("energy.%s: unknown site %q%s", path, id, inputerr.Suggest(id, buildings, "")))
		case k != site.Building:
			errs = append(errs, fmt.Errorf("energy.%s: site %q is a %s, not a building", path, id, k))
		}
	}
	for i, m := range c.Meters {
		check(fmt.Sprintf("meters[%d].site", i), m.Site)
	}
	for i, s := range c.Sites {
		check(fmt.Sprintf("sites[%d].id", i), s.ID)
	}
	for i, t := range c.Tariffs {
		check(fmt.Sprintf("tariffs[%d].site", i), t.Site)
	}
	for i, m := range c.Measures {
		check(fmt.Sprintf("measures[%d].site", i), m.Site)
	}
	return errors.Join(errs...)
}
