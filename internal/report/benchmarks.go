package report

import (
	"github.com/loraedge/loraedge/internal/energy"
)

// benchmarkTexts are the strings of the benchmark chapter, merged into
// texts.
var benchmarkTexts = map[Lang]map[string]string{
	DE: {
		"benchmarks":       "Vergleichswerte und Einsparpotenzial",
		"benchmarks_intro": "Kennwerte je m² Nettoraumfläche (NRF; ohne NRF 0,85 × BGF) gegen die Vergleichswerte der Gebäudekategorie: Wärme witterungsbereinigt (Potsdam) gegen TEK Heizung × Größenfaktor + TEK Warmwasser. Ampel: grün bis %s × Vergleichswert, gelb bis %s ×, rot darüber. Potenzial = Verbrauch über dem Vergleichswert je Jahr, bewertet mit Preis und CO₂ des Zeitraums. Rangfolge nach Potenzial in EUR.",
		"benchmark_source": "Quelle der Vergleichswerte: %s.",
		"category":         "Kategorie",
		"heat_kw":          "Wärme Ist/Soll",
		"elec_kw":          "Strom Ist/Soll",
		"potential_kwh":    "Potenzial kWh/a",
		"potential_eur":    "EUR/a",
		"potential_co2":    "t CO₂/a",
		"light_green":      "grün",
		"light_yellow":     "gelb",
		"light_red":        "rot",
		"benchmark_total":  "Summe Landkreis",
	},
	EN: {
		"benchmarks":       "Comparison values and saving potential",
		"benchmarks_intro": "Kennwerte per m² net floor area (NRF; without one 0.85 × GFA) against the comparison values of the building category: heat weather-normalised (Potsdam) against TEK heating × size factor + TEK hot water. Traffic light: green up to %s × the comparison value, yellow up to %s ×, red above. Potential = consumption above the comparison value per year, valued at the period's price and CO₂. Ranked by potential in EUR.",
		"benchmark_source": "Source of the comparison values: %s.",
		"category":         "Category",
		"heat_kw":          "Heat actual/target",
		"elec_kw":          "Electr. actual/target",
		"potential_kwh":    "Potential kWh/a",
		"potential_eur":    "EUR/a",
		"potential_co2":    "t CO₂/a",
		"light_green":      "green",
		"light_yellow":     "yellow",
		"light_red":        "red",
		"benchmark_total":  "County total",
	},
}

func init() { mergeTexts(benchmarkTexts) }

// mergeTexts adds a chapter's strings to texts.
func mergeTexts(add map[Lang]map[string]string) {
	for l, m := range add {
		for k, v := range m {
			texts[l][k] = v
		}
	}
}

// benchmarkBlocks is the benchmark chapter: the county ranking by saving
// potential with each building's lights.
func benchmarkBlocks(rep *energy.Report, t tr) []block {
	if len(rep.Benchmarks) == 0 {
		return nil
	}
	bs := []block{pageBreak{}, heading{t.s("benchmarks"), 2}, para{text: t.f("benchmarks_intro", t.num(rep.BenchmarkGreenMax, 2), t.num(rep.BenchmarkYellowMax, 2)), small: true}}
	tb := table{
		head:   []string{"#", t.s("site"), t.s("category"), t.s("heat_kw"), t.s("elec_kw"), t.s("potential_kwh"), t.s("potential_eur"), t.s("potential_co2")},
		widths: []float64{0.35, 2.2, 2.2, 2.1, 2.1, 1.4, 1, 0.9},
		right:  []bool{true, false, false, false, false, true, true, true},
		total:  true,
	}
	val := func(v *energy.BenchmarkValue) string {
		if v == nil {
			return "–"
		}
		return t.num(v.KennwertKWhM2a, 0) + " / " + t.num(v.ComparisonKWhM2a, 0) + " " + t.s("light_"+string(v.Light))
	}
	var kwh, eur, co2 float64
	sources := map[string]bool{}
	var srcList []string
	for _, b := range rep.Benchmarks {
		cat := b.CategoryName
		if cat == "" {
			cat = b.Category
		}
		tb.rows = append(tb.rows, []string{t.num(float64(b.Place), 0), b.Name, cat, val(b.Heating), val(b.Electricity),
			t.num(b.PotentialKWh, 0), t.num(b.PotentialEUR, 0), t.num(b.PotentialCO2Kg/1000, 1)})
		kwh, eur, co2 = kwh+b.PotentialKWh, eur+b.PotentialEUR, co2+b.PotentialCO2Kg
		if b.Source != "" && !sources[b.Source] {
			sources[b.Source] = true
			srcList = append(srcList, b.Source)
		}
	}
	tb.rows = append(tb.rows, []string{"", t.s("benchmark_total"), "", "", "", t.num(kwh, 0), t.num(eur, 0), t.num(co2/1000, 1)})
	bs = append(bs, tb)
	for _, s := range srcList {
		bs = append(bs, para{text: t.f("benchmark_source", s), small: true})
	}
	return bs
}
