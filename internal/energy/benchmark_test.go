package energy

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestComparisonTable checks the embedded table against rows of Anlage 1
// Tabelle 1 of the 2021 Bekanntmachung (TEK Heizung, TEK Warmwasser).
func TestComparisonTable(t *testing.T) {
	cats, err := Categories()
	require.NoError(t, err)
	assert.Len(t, cats, 52)
	for _, tc := range []struct {
		key, name string
		heating   float64
		hotWater  float64
	}{
		{"1", "Verwaltungsgebäude (allgemein)", 48.5, 6.9},
		{"6", "Feuerwehrdienstgebäude", 50.8, 7.1},
		{"7", "Bürogebäude", 49.0, 8.1},
		{"10", "Hochschule und Forschung (allgemein)", 66.5, 6.7},
		{"16", "Krankenhäuser (ohne Forschung und Lehre)", 64.1, 40.8},
		{"21", "Schulen", 49.3, 22.4},
		{"22", "Kinderbetreuungseinrichtungen", 50.4, 17.3},
		{"24", "Bibliotheken/Archive", 49.0, 5.0},
		{"30", "Sporthallen", 68.6, 22.0},
		{"32", "Schwimmhallen", 63.8, 24.7},
		{"44", "Gebäude für Lagerung", 38.1, 19.3},
		{"52", "Fernmeldetechnik", 38.4, 4.0},
	} {
		c, ok := cats[tc.key]
		require.True(t, ok, tc.key)
		assert.Equal(t, tc.name, c.Name, tc.key)
		assert.Equal(t, tc.heating, c.TEKHeating, tc.key)
		assert.Equal(t, tc.hotWater, c.TEKHotWater, tc.key)
		assert.Zero(t, c.ElectricityKWhM2a, "no electricity value is carried without a source")
	}
	// Nummer 6.3.1: the size factor is continuous at its bounds.
	assert.Equal(t, 1.46, SizeFactor(120))
	assert.InDelta(t, 1.46, SizeFactor(500.001), 0.002)
	assert.InDelta(t, 0.71, SizeFactor(49999), 0.003)
	assert.Equal(t, 0.71, SizeFactor(80000))
	assert.InDelta(t, 1.1539, SizeFactor(2000), 0.0001)
}

func TestComparisonTableRejectsBadRows(t *testing.T) {
	_, err := parseCategories([]byte("nr;category;tek_heating;tek_hot_water\n1;x;abc;2\n"))
	assert.ErrorContains(t, err, "row 2")
	_, err = parseCategories([]byte("nr;category;tek_heating;tek_hot_water\n1;x;2\n"))
	assert.Error(t, err)
}

// schoolReport is a school of 2000 m2 NRF with a normalised heating
// Kennwert and the given heat cost and CO2.
func schoolReport(heatKennwert, elKennwert float64) SiteReport {
	area := 2000.0
	h, e := heatKennwert, elKennwert
	return SiteReport{ID: "gs1", Name: "Grundschule 1", NRF: area,
		Media: []MediumReport{
			{Medium: Gas, EnergyKWh: h * area, CostEUR: 0.1 * h * area, CO2Kg: 0.2 * h * area},
			{Medium: Electricity, EnergyKWh: e * area, CostEUR: 0.3 * e * area, CO2Kg: 0.4 * e * area},
		},
		Kennwerte: Kennwerte{HeatingNRF: &h, ElectricityNRF: &e},
	}
}

// TestBenchmarkKnownBuilding: a school of 2000 m2 gets the comparison
// value 49.3 x f(2000) + 22.4 = 79.29 kWh/(m2 a), and its light and
// potential follow from its Kennwert.
func TestBenchmarkKnownBuilding(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sites = []SiteConfig{{ID: "gs1", Benchmark: SiteBenchmark{Category: "21"}}}
	r, err := cfg.resolve()
	require.NoError(t, err)
	cmp := 79.29
	for _, tc := range []struct {
		kennwert float64
		light    Light
	}{{70, Green}, {79.2, Green}, {85, Yellow}, {99, Yellow}, {100, Red}, {160, Red}} {
		b := r.benchmark(schoolReport(tc.kennwert, 30))
		require.NotNil(t, b)
		require.NotNil(t, b.Heating)
		assert.Nil(t, b.Electricity, "the table has no electricity value")
		assert.InDelta(t, cmp, b.Heating.ComparisonKWhM2a, 0.01)
		assert.Equal(t, tc.light, b.Heating.Light, "Kennwert %g", tc.kennwert)
		want := math.Max(0, tc.kennwert-b.Heating.ComparisonKWhM2a) * 2000
		assert.InDelta(t, want, b.Heating.PotentialKWh, 1e-6)
		assert.InDelta(t, 0.1*want, b.PotentialEUR, 1e-6)
		assert.InDelta(t, 0.2*want, b.PotentialCO2Kg, 1e-6)
		assert.Equal(t, "Schulen", b.CategoryName)
	}
	b := r.benchmark(schoolReport(160, 30))
	assert.InDelta(t, 161430.75, b.PotentialKWh, 0.1)

	// Decentral hot water leaves TEK Warmwasser out.
	cfg.Sites[0].Benchmark.NoCentralHotWater = true
	r, err = cfg.resolve()
	require.NoError(t, err)
	assert.InDelta(t, cmp-22.4, r.benchmark(schoolReport(100, 30)).Heating.ComparisonKWhM2a, 0.01)

	// Only the BGF known: the net area is 0.85 x BGF.
	cfg.Sites[0].Benchmark.NoCentralHotWater = false
	r, err = cfg.resolve()
	require.NoError(t, err)
	s := schoolReport(100, 30)
	bgfK := 100 * 2000 / 2352.94
	s.NRF, s.BGF, s.Kennwerte.HeatingNRF, s.Kennwerte.HeatingBGF = 0, 2352.94, nil, &bgfK
	b = r.benchmark(s)
	require.NotNil(t, b)
	assert.True(t, b.AreaFromBGF)
	assert.InDelta(t, 2000, b.AreaM2, 0.01)
	assert.InDelta(t, 100, b.Heating.KennwertKWhM2a, 0.01)
}

// TestBenchmarkConfiguration: categories override and extend the table,
// sites override their category, and a site without either has none.
func TestBenchmarkConfiguration(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Benchmarks.Categories = []Category{
		{Key: "21", ElectricityKWhM2a: 20, Source: "Kreis-Zielwert 2026"},
		{Key: "kita-neu", Name: "Kita Neubau", HeatingKWhM2a: 60, ElectricityKWhM2a: 15},
	}
	cfg.Sites = []SiteConfig{
		{ID: "gs1", Benchmark: SiteBenchmark{Category: "21"}},
		{ID: "kita", Benchmark: SiteBenchmark{Category: "kita-neu"}},
		{ID: "own", Benchmark: SiteBenchmark{HeatingKWhM2a: 90}},
	}
	require.NoError(t, cfg.Validate())
	r, err := cfg.resolve()
	require.NoError(t, err)

	b := r.benchmark(schoolReport(100, 30))
	require.NotNil(t, b.Electricity)
	assert.Equal(t, 49.3, r.cats["21"].TEKHeating, "fields left 0 keep the table's")
	assert.Equal(t, "Kreis-Zielwert 2026", b.Source)
	assert.InDelta(t, 1.5, b.Electricity.Ratio, 1e-9)
	assert.Equal(t, Red, b.Electricity.Light)
	assert.InDelta(t, 10*2000, b.Electricity.PotentialKWh, 1e-6)
	assert.InDelta(t, 0.3*10*2000, b.Electricity.PotentialEUR, 1e-6)

	k := schoolReport(66, 15)
	k.ID = "kita"
	b = r.benchmark(k)
	assert.Equal(t, 60.0, b.Heating.ComparisonKWhM2a)
	assert.Equal(t, Yellow, b.Heating.Light)
	assert.Equal(t, Green, b.Electricity.Light)

	o := schoolReport(80, 15)
	o.ID = "own"
	b = r.benchmark(o)
	assert.Equal(t, 90.0, b.Heating.ComparisonKWhM2a)
	assert.Zero(t, b.PotentialKWh)

	n := schoolReport(80, 15)
	n.ID = "none"
	assert.Nil(t, r.benchmark(n))
	z := schoolReport(0, 0)
	assert.Nil(t, r.benchmark(z), "a period without consumption has no Kennwert to compare")

	rep := &Report{Sites: []SiteReport{o, schoolReport(100, 30), k, n}}
	r.benchmarks(rep)
	require.Len(t, rep.Benchmarks, 3)
	assert.Equal(t, "gs1", rep.Benchmarks[0].Site, "the largest potential first")
	assert.Equal(t, 1, rep.Benchmarks[0].Place)
	assert.Equal(t, "own", rep.Benchmarks[2].Site)
}

func TestBenchmarkValidation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Benchmarks.GreenMax, cfg.Benchmarks.YellowMax = 1.2, 1.1
	cfg.Benchmarks.Categories = []Category{{Key: ""}, {Key: "x", HeatingKWhM2a: -1}, {Key: "x"}}
	cfg.Sites = []SiteConfig{{ID: "a", Benchmark: SiteBenchmark{Category: "4100"}}}
	err := cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{
		"energy.benchmarks.yellow_max: 1.1 is below green_max 1.2",
		"energy.benchmarks.categories[0].key: required",
		"energy.benchmarks.categories[1].heating_kwh_m2a",
		`energy.benchmarks.categories[2].key: "x" listed twice`,
		`energy.sites[0].benchmark.category: "4100" is neither`,
	} {
		assert.ErrorContains(t, err, want)
	}
}
