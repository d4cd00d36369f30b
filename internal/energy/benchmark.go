package energy

import (
	"bytes"
	_ "embed" // the comparison table
	"encoding/csv"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// vergleichswerte2021 is the federal comparison table for heat with its
// source in the file's header.
//
//go:embed vergleichswerte2021.csv
var vergleichswerte2021 []byte

// BenchmarkSource names the document the built-in comparison values are
// read from.
const BenchmarkSource = "Bekanntmachung der Regeln für Energieverbrauchswerte und der Vergleichswerte im Nichtwohngebäudebestand vom 15. April 2021 (BAnz AT 03.05.2021 B1), Anlage 1 Tabelle 1"

// NGFPerBGF converts gross to net floor area when only the BGF is known
// (Bekanntmachung 2021, Nummer 4).
const NGFPerBGF = 0.85

// Default traffic-light limits as multiples of the comparison value.
const (
	DefaultGreenMax  = 1.0
	DefaultYellowMax = 1.25
)

// Category is a building category with its comparison values.
type Category struct {
	// Key is the Lfd.-Nr. of the built-in table ("21") or any key of a
	// configured category.
	Key  string `mapstructure:"key" yaml:"key"`
	Name string `mapstructure:"name" yaml:"name,omitempty"`
	// TEKHeating and TEKHotWater are the table's partial energy values in
	// kWh/(m2 a) on the net floor area; heat = TEKHeating x f(area) +
	// TEKHotWater.
	TEKHeating  float64 `mapstructure:"tek_heating" yaml:"tek_heating,omitempty"`
	TEKHotWater float64 `mapstructure:"tek_hot_water" yaml:"tek_hot_water,omitempty"`
	// HeatingKWhM2a, when set, is a flat comparison value for heat that
	// replaces the TEK formula.
	HeatingKWhM2a float64 `mapstructure:"heating_kwh_m2a" yaml:"heating_kwh_m2a,omitempty"`
	// ElectricityKWhM2a is the comparison value for electricity; 0: none.
	ElectricityKWhM2a float64 `mapstructure:"electricity_kwh_m2a" yaml:"electricity_kwh_m2a,omitempty"`
	// Source says where the values come from.
	Source string `mapstructure:"source" yaml:"source,omitempty"`
}

// BenchmarkConfig is the benchmarking configuration (energy.benchmarks).
type BenchmarkConfig struct {
	// GreenMax and YellowMax bound the traffic light: a Kennwert up to
	// GreenMax x the comparison value is green, up to YellowMax x yellow,
	// above red.
	GreenMax  float64 `mapstructure:"green_max" yaml:"green_max,omitempty"`
	YellowMax float64 `mapstructure:"yellow_max" yaml:"yellow_max,omitempty"`
	// Categories override built-in categories by key (fields left 0 keep
	// the table's) or add new ones.
	Categories []Category `mapstructure:"categories" yaml:"categories,omitempty"`
}

// SiteBenchmark assigns a site its category and per-site comparison values.
type SiteBenchmark struct {
	Category string `mapstructure:"category" yaml:"category,omitempty"`
	// HeatingKWhM2a and ElectricityKWhM2a replace the category's values.
	HeatingKWhM2a     float64 `mapstructure:"heating_kwh_m2a" yaml:"heating_kwh_m2a,omitempty"`
	ElectricityKWhM2a float64 `mapstructure:"electricity_kwh_m2a" yaml:"electricity_kwh_m2a,omitempty"`
	// NoCentralHotWater leaves TEK Warmwasser out (decentral hot water).
	NoCentralHotWater bool `mapstructure:"no_central_hot_water" yaml:"no_central_hot_water,omitempty"`
}

// Light is a benchmark traffic light.
type Light string

// Lights.
const (
	Green  Light = "green"
	Yellow Light = "yellow"
	Red    Light = "red"
)

// Benchmark is one building against its comparison values.
type Benchmark struct {
	Place        int    `json:"place"`
	Site         string `json:"site"`
	Name         string `json:"name"`
	Category     string `json:"category"`
	CategoryName string `json:"category_name"`
	Source       string `json:"source"`
	// AreaM2 is the net floor area used; AreaFromBGF is set when it is
	// 0.85 x BGF.
	AreaM2      float64         `json:"area_m2"`
	AreaFromBGF bool            `json:"area_from_bgf,omitempty"`
	Heating     *BenchmarkValue `json:"heating,omitempty"`
	Electricity *BenchmarkValue `json:"electricity,omitempty"`
	// PotentialKWh, PotentialEUR and PotentialCO2Kg are per year, summed
	// over heat and electricity.
	PotentialKWh   float64 `json:"potential_kwh_a"`
	PotentialEUR   float64 `json:"potential_eur_a"`
	PotentialCO2Kg float64 `json:"potential_co2_kg_a"`
}

// BenchmarkValue is one medium's Kennwert against its comparison value;
// the potential brings the Kennwert down to the comparison value.
type BenchmarkValue struct {
	KennwertKWhM2a   float64 `json:"kennwert_kwh_m2a"`
	ComparisonKWhM2a float64 `json:"comparison_kwh_m2a"`
	Ratio            float64 `json:"ratio"`
	Light            Light   `json:"light"`
	PotentialKWh     float64 `json:"potential_kwh_a"`
	PotentialEUR     float64 `json:"potential_eur_a"`
	PotentialCO2Kg   float64 `json:"potential_co2_kg_a"`
}

var (
	builtinOnce sync.Once
	builtin     map[string]Category
	builtinErr  error
)

// Categories returns the built-in comparison table by key.
func Categories() (map[string]Category, error) {
	builtinOnce.Do(func() { builtin, builtinErr = parseCategories(vergleichswerte2021) })
	out := make(map[string]Category, len(builtin))
	for k, v := range builtin {
		out[k] = v
	}
	return out, builtinErr
}

func parseCategories(b []byte) (map[string]Category, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma, r.Comment, r.FieldsPerRecord = ';', '#', 4
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("comparison table: %w", err)
	}
	out := map[string]Category{}
	for i, row := range rows[1:] {
		h, err1 := strconv.ParseFloat(row[2], 64)
		w, err2 := strconv.ParseFloat(row[3], 64)
		if err1 != nil || err2 != nil || h <= 0 || w < 0 {
			return nil, fmt.Errorf("comparison table row %d: bad values %q %q", i+2, row[2], row[3])
		}
		out[row[0]] = Category{Key: row[0], Name: row[1], TEKHeating: h, TEKHotWater: w, Source: BenchmarkSource}
	}
	return out, nil
}

// SizeFactor is the factor on TEK Heizung for a net floor area in m2
// (Bekanntmachung 2021, Nummer 6.3.1).
func SizeFactor(area float64) float64 {
	switch {
	case area <= 500:
		return 1.46
	case area >= 50000:
		return 0.71
	default:
		return 4.53*math.Pow(area, -0.215) + 0.27
	}
}

// HeatComparison is the category's comparison value for heat in kWh/(m2 a)
// at a net floor area, with or without central hot water.
func (c Category) HeatComparison(area float64, hotWater bool) float64 {
	if c.HeatingKWhM2a > 0 {
		return c.HeatingKWhM2a
	}
	if c.TEKHeating <= 0 {
		return 0
	}
	v := c.TEKHeating * SizeFactor(area)
	if hotWater {
		v += c.TEKHotWater
	}
	return v
}

func (b BenchmarkConfig) validate(add func(path, format string, args ...any)) {
	if b.GreenMax < 0 || b.YellowMax < 0 {
		add("benchmarks", "green_max and yellow_max must not be negative")
	}
	if b.GreenMax > 0 && b.YellowMax > 0 && b.YellowMax < b.GreenMax {
		add("benchmarks.yellow_max", "%g is below green_max %g", b.YellowMax, b.GreenMax)
	}
	seen := map[string]bool{}
	for i, c := range b.Categories {
		p := fmt.Sprintf("benchmarks.categories[%d]", i)
		if strings.TrimSpace(c.Key) == "" {
			add(p+".key", "required")
		}
		if seen[c.Key] {
			add(p+".key", "%q listed twice", c.Key)
		}
		seen[c.Key] = true
		for name, v := range map[string]float64{"tek_heating": c.TEKHeating, "tek_hot_water": c.TEKHotWater, "heating_kwh_m2a": c.HeatingKWhM2a, "electricity_kwh_m2a": c.ElectricityKWhM2a} {
			if v < 0 || v > 2000 || math.IsNaN(v) {
				add(p+"."+name, "%g is not in [0, 2000]", v)
			}
		}
	}
}

func (s SiteBenchmark) validate(p string, cats map[string]Category, add func(path, format string, args ...any)) {
	if s.Category != "" {
		if _, ok := cats[s.Category]; !ok {
			add(p+".category", "%q is neither a category of the built-in table (1..52) nor a configured one", s.Category)
		}
	}
	for name, v := range map[string]float64{"heating_kwh_m2a": s.HeatingKWhM2a, "electricity_kwh_m2a": s.ElectricityKWhM2a} {
		if v < 0 || v > 2000 || math.IsNaN(v) {
			add(p+"."+name, "%g is not in [0, 2000]", v)
		}
	}
}

// categories merges the configured categories over the built-in table.
func (b BenchmarkConfig) categories() map[string]Category {
	cats, _ := Categories() // the embedded table is tested
	for _, c := range b.Categories {
		base, ok := cats[c.Key]
		if !ok {
			base = Category{Key: c.Key, Source: "configuration"}
		} else {
			base.Source += "; overridden by configuration"
		}
		if c.Name != "" {
			base.Name = c.Name
		}
		if c.TEKHeating > 0 {
			base.TEKHeating = c.TEKHeating
		}
		if c.TEKHotWater > 0 {
			base.TEKHotWater = c.TEKHotWater
		}
		if c.HeatingKWhM2a > 0 {
			base.HeatingKWhM2a = c.HeatingKWhM2a
		}
		if c.ElectricityKWhM2a > 0 {
			base.ElectricityKWhM2a = c.ElectricityKWhM2a
		}
		if c.Source != "" {
			base.Source = c.Source
		}
		cats[c.Key] = base
	}
	return cats
}

// limits are the traffic light's limits, defaults filled in.
func (b BenchmarkConfig) limits() (green, yellow float64) {
	green, yellow = b.GreenMax, b.YellowMax
	if green == 0 {
		green = DefaultGreenMax
	}
	if yellow == 0 {
		yellow = max(DefaultYellowMax, green)
	}
	return green, yellow
}

// lightOf is the traffic light of a ratio Kennwert / comparison value.
func (b BenchmarkConfig) lightOf(ratio float64) Light {
	g, y := b.limits()
	switch {
	case ratio <= g:
		return Green
	case ratio <= y:
		return Yellow
	default:
		return Red
	}
}

// benchmark compares one site's Kennwerte with its comparison values;
// nil when the site has no category, no values, no area or no
// consumption measured in the period (a zero is no Kennwert).
func (r *resolved) benchmark(s SiteReport) *Benchmark {
	sc := r.sites[s.ID]
	sb := sc.Benchmark
	if sb.Category == "" && sb.HeatingKWhM2a == 0 && sb.ElectricityKWhM2a == 0 {
		return nil
	}
	cat := r.cats[sb.Category]
	b := &Benchmark{Site: s.ID, Name: s.Name, Category: sb.Category, CategoryName: cat.Name, Source: cat.Source, AreaM2: s.NRF}
	if b.AreaM2 <= 0 {
		b.AreaM2, b.AreaFromBGF = NGFPerBGF*s.BGF, true
	}
	if b.AreaM2 <= 0 {
		return nil
	}
	if sb.HeatingKWhM2a > 0 || sb.ElectricityKWhM2a > 0 {
		b.Source = "site configuration"
	}
	// Annual heating energy (normalised) and electricity from the BGF or
	// NRF Kennwerte, whichever exists.
	annual := func(bgf, nrf *float64) (float64, bool) {
		switch {
		case nrf != nil && s.NRF > 0:
			return *nrf * s.NRF, true
		case bgf != nil && s.BGF > 0:
			return *bgf * s.BGF, true
		}
		return 0, false
	}
	var heatKWh, heatEUR, heatCO2, elKWh, elEUR, elCO2 float64
	for _, m := range s.Media {
		switch m.Medium {
		case Heat, Gas:
			heatKWh, heatEUR, heatCO2 = heatKWh+m.EnergyKWh, heatEUR+m.CostEUR, heatCO2+m.CO2Kg
		case Electricity:
			elKWh, elEUR, elCO2 = elKWh+m.EnergyKWh, elEUR+m.CostEUR, elCO2+m.CO2Kg
		}
	}
	value := func(kwhA, comparison, kwh, eur, co2 float64) *BenchmarkValue {
		k := kwhA / b.AreaM2
		v := &BenchmarkValue{KennwertKWhM2a: k, ComparisonKWhM2a: comparison, Ratio: k / comparison}
		v.Light = r.Benchmarks.lightOf(v.Ratio)
		if k > comparison {
			v.PotentialKWh = (k - comparison) * b.AreaM2
		}
		// The period's own price and emission per kWh value the potential.
		if kwh > 0 {
			v.PotentialEUR = v.PotentialKWh * eur / kwh
			v.PotentialCO2Kg = v.PotentialKWh * co2 / kwh
		}
		return v
	}
	heatCmp := sb.HeatingKWhM2a
	if heatCmp == 0 {
		heatCmp = cat.HeatComparison(b.AreaM2, !sb.NoCentralHotWater)
	}
	if h, ok := annual(s.Kennwerte.HeatingBGF, s.Kennwerte.HeatingNRF); ok && heatCmp > 0 && heatKWh > 0 {
		b.Heating = value(h, heatCmp, heatKWh, heatEUR, heatCO2)
	}
	elCmp := sb.ElectricityKWhM2a
	if elCmp == 0 {
		elCmp = cat.ElectricityKWhM2a
	}
	if e, ok := annual(s.Kennwerte.ElectricityBGF, s.Kennwerte.ElectricityNRF); ok && elCmp > 0 && elKWh > 0 {
		b.Electricity = value(e, elCmp, elKWh, elEUR, elCO2)
	}
	if b.Heating == nil && b.Electricity == nil {
		return nil
	}
	for _, v := range []*BenchmarkValue{b.Heating, b.Electricity} {
		if v != nil {
			b.PotentialKWh += v.PotentialKWh
			b.PotentialEUR += v.PotentialEUR
			b.PotentialCO2Kg += v.PotentialCO2Kg
		}
	}
	return b
}

// benchmarks fills rep.Benchmarks, ranked by saving potential in EUR,
// then kWh (the largest first).
func (r *resolved) benchmarks(rep *Report) {
	rep.Benchmarks = nil
	for _, s := range rep.Sites {
		if b := r.benchmark(s); b != nil {
			rep.Benchmarks = append(rep.Benchmarks, *b)
		}
	}
	sort.SliceStable(rep.Benchmarks, func(i, j int) bool {
		a, b := rep.Benchmarks[i], rep.Benchmarks[j]
		if a.PotentialEUR != b.PotentialEUR {
			return a.PotentialEUR > b.PotentialEUR
		}
		return a.PotentialKWh > b.PotentialKWh
	})
	for i := range rep.Benchmarks {
		rep.Benchmarks[i].Place = i + 1
	}
	if len(rep.Benchmarks) > 0 {
		rep.BenchmarkGreenMax, rep.BenchmarkYellowMax = r.Benchmarks.limits()
	}
}
