package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/energy"
)

// Lang is the language of a rendered report.
type Lang string

// Supported languages.
const (
	DE Lang = "de"
	EN Lang = "en"
)

// ParseLang accepts "de" or "en" (default de).
func ParseLang(s string) (Lang, error) {
	switch strings.ToLower(s) {
	case "", "de":
		return DE, nil
	case "en":
		return EN, nil
	}
	return "", fmt.Errorf("language %q: want de or en", s)
}

// texts holds every user-facing string in both languages; a test checks
// that both have the same keys.
var texts = map[Lang]map[string]string{
	DE: {
		"title":                     "Energiebericht",
		"subtitle":                  "Liegenschaften: Verbrauch, Kosten und CO2",
		"period":                    "Berichtszeitraum",
		"generated":                 "Erstellt",
		"sites":                     "Liegenschaften",
		"summary":                   "Zusammenfassung",
		"medium":                    "Medium",
		"consumption":               "Verbrauch",
		"unit":                      "Einheit",
		"energy_kwh":                "Energie (kWh)",
		"cost_eur":                  "Kosten (EUR)",
		"co2_t":                     "CO2 (t)",
		"co2_kg":                    "CO2 (kg)",
		"vs_previous":               "ggü. Vorperiode",
		"cost_short":                "Kosten €",
		"prev_short":                "Vorperiode",
		"ly_short":                  "Vorjahr",
		"night_short":               "Nacht",
		"weekend_short":             "Wochenende",
		"vs_last_year":              "ggü. Vorjahr",
		"total":                     "Gesamt",
		"monthly":                   "Verbrauch je Monat",
		"daily":                     "Verbrauch je Tag",
		"yearly":                    "Verbrauch je Jahr",
		"year_comparison":           "Vergleich mit dem Vorjahreszeitraum",
		"current":                   "Berichtszeitraum",
		"last_year":                 "Vorjahr",
		"ranking":                   "Rangfolge nach Kennwert Wärme (witterungsbereinigt)",
		"ranking_elec":              "Kennwert Strom",
		"place":                     "Rang",
		"site":                      "Liegenschaft",
		"kennwerte":                 "Kennwerte",
		"kennwert_unit":             "kWh/(m² a)",
		"water_unit":                "m³/(m² a)",
		"heating":                   "Wärme (Heizenergie)",
		"heating_raw":               "Heizenergie gemessen",
		"heating_norm":              "Heizenergie witterungsbereinigt",
		"degree_days":               "Gradtagzahl G20/15",
		"degree_days_ref":           "Referenz-Gradtagzahl",
		"factor":                    "Bereinigungsfaktor",
		"not_normalised":            "keine Bereinigung (Gradtage fehlen)",
		"source_sensor":             "Außentemperaturfühler",
		"source_configured":         "konfigurierte Monatswerte",
		"source_mixed":              "Fühler und Monatswerte",
		"base_load":                 "Grundlast",
		"night_base":                "Nacht-Grundlast",
		"weekend_base":              "Wochenend-Grundlast",
		"per_hour":                  "/h",
		"master_data":               "Stammdaten",
		"address":                   "Adresse",
		"bgf":                       "BGF",
		"nrf":                       "NRF",
		"area_basis":                "Flächenbezug",
		"meters":                    "Zähler",
		"meter":                     "Zähler",
		"readings":                  "Messwerte",
		"estimated":                 "geschätzt",
		"estimated_head":            "Geschätzt",
		"estimated_mark":            "* geschätzt (interpoliert oder unvollständig)",
		"yes":                       "ja",
		"no":                        "nein",
		"notes":                     "Hinweise",
		"method":                    "Methodik und Annahmen",
		"emission_factors":          "Emissionsfaktoren",
		"year":                      "Jahr",
		"factor_kg":                 "kg CO2 je Einheit",
		"source":                    "Quelle",
		"page":                      "Seite",
		"of":                        "von",
		"month":                     "Monat",
		"from":                      "von",
		"to":                        "bis",
		"leak_months":               "Monate mit Leckverdacht",
		"none":                      "keine",
		"cost_incomplete":           "Kosten unvollständig (Tarif fehlt)",
		"gas_conversion":            "Gasumrechnung (DVGW G 685)",
		"n_a":                       "–",
		"electricity":               "Strom",
		"heat":                      "Wärme",
		"gas":                       "Gas",
		"water":                     "Wasser",
		"method_consumption":        "Verbrauch je Zähler aus Zählerständen: Differenzen aufeinanderfolgender Stände; Überlauf des Zählwerks (10^Stellen) und Zählerwechsel (Ablese- und Anfangsstand) werden korrigiert, ein großer Rückgang ohne Konfiguration gilt als Zählerwechsel. Stände an den Periodengrenzen werden linear interpoliert, Wärme und Gas in Datenlücken nach Gradtagen; liegt eine Grenze in einer Lücke (länger als das 2,5-fache des üblichen Ableseintervalls) oder außerhalb der Messwerte, ist der Wert als geschätzt markiert.",
		"method_weather":            "Witterungsbereinigung: E_ber = E × (1 − a) × G_ref / G + E × a mit a = Warmwasseranteil; G20/15 = Summe von (20 − t_m) über alle Tage mit Tagesmittel t_m < 15 °C. Referenz: %s Kd/a (Standard: Testreferenzjahr Potsdam, Bezug der DWD-Klimafaktoren), auf Teilzeiträume nach VDI 2067/DIN 4713 verteilt.",
		"method_kennwert":           "Kennwerte nach VDI 3807: Verbrauch je m² Bezugsfläche und Jahr; Rangfolge auf %s. Wärme = Fernwärme + Gas (kWh Hs), witterungsbereinigt.",
		"method_gas":                "Gas: kWh = m³ × Zustandszahl × Brennwert (DVGW G 685).",
		"method_base":               "Grundlast: mittlere Leistung nachts (%d–%d Uhr) und am Wochenende (Sa 0 Uhr bis Mo 0 Uhr).",
		"method_cost":               "Kosten: Verbrauch × Arbeitspreis + Grundpreis anteilig nach Tagen, je Kalenderjahr.",
		"note_no_readings":          "%s: Zähler %s ohne Messwerte im Zeitraum.",
		"note_estimated":            "%s: Zähler %s – Wert teilweise geschätzt.",
		"note_rollover":             "%s: Zähler %s – Zählwerksüberlauf am %s korrigiert.",
		"note_replacement":          "%s: Zähler %s – Zählerwechsel am %s berücksichtigt.",
		"note_replacement_detected": "%s: Zähler %s – Rückgang am %s als Zählerwechsel gewertet, Verbrauch der Lücke geschätzt (%s).",
		"note_rejected":             "%s: Zähler %s – %s unplausible Messwerte verworfen.",
		"note_gap":                  "%s: Zähler %s – %s Datenlücke(n) länger als zulässig.",
		"note_leak":                 "%s: Leckverdacht Wasser im %s – Nachtverbrauch %s l/h.",
		"note_no_tariff":            "%s: kein Tarif für %s im Jahr %d – Kosten unvollständig.",
		"note_gas_default":          "%s: Gasumrechnung mit Standardwerten (Zustandszahl/Brennwert nicht konfiguriert).",
		"note_no_degree_days":       "%s: keine Gradtagzahlen – Heizenergie nicht witterungsbereinigt.",
		"note_no_area":              "%s: keine Bezugsfläche – keine Kennwerte.",
		"note_factor_year":          "Emissionsfaktor %s für %d: Wert von %s verwendet.",
		"empty_title":               "Dieser Bericht ist leer",
		"empty_text":                "Für den Berichtszeitraum und die Auswahl gibt es keine Liegenschaft mit Zählern. Liegenschaften stehen in der Konfiguration unter sites, ihre Zähler unter energy.meters; ohne --site (oder site=) zählt jede Liegenschaft mit Zählern.",
	},
	EN: {
		"title":                     "Energy report",
		"subtitle":                  "Public buildings: consumption, costs and CO2",
		"period":                    "Reporting period",
		"generated":                 "Generated",
		"sites":                     "Sites",
		"summary":                   "Summary",
		"medium":                    "Medium",
		"consumption":               "Consumption",
		"unit":                      "Unit",
		"energy_kwh":                "Energy (kWh)",
		"cost_eur":                  "Costs (EUR)",
		"co2_t":                     "CO2 (t)",
		"co2_kg":                    "CO2 (kg)",
		"vs_previous":               "vs previous period",
		"cost_short":                "Costs €",
		"prev_short":                "Prev. period",
		"ly_short":                  "Last year",
		"night_short":               "Night",
		"weekend_short":             "Weekend",
		"vs_last_year":              "vs last year",
		"total":                     "Total",
		"monthly":                   "Consumption per month",
		"daily":                     "Consumption per day",
		"yearly":                    "Consumption per year",
		"year_comparison":           "Comparison with the same period last year",
		"current":                   "Reporting period",
		"last_year":                 "Last year",
		"ranking":                   "Ranking by heating index (weather-normalised)",
		"ranking_elec":              "Electricity index",
		"place":                     "Rank",
		"site":                      "Site",
		"kennwerte":                 "Energy indices",
		"kennwert_unit":             "kWh/(m² a)",
		"water_unit":                "m³/(m² a)",
		"heating":                   "Heating energy",
		"heating_raw":               "Heating energy measured",
		"heating_norm":              "Heating energy weather-normalised",
		"degree_days":               "Degree days G20/15",
		"degree_days_ref":           "Reference degree days",
		"factor":                    "Normalisation factor",
		"not_normalised":            "not normalised (degree days missing)",
		"source_sensor":             "outdoor temperature sensor",
		"source_configured":         "configured monthly figures",
		"source_mixed":              "sensor and monthly figures",
		"base_load":                 "Base load",
		"night_base":                "Night base load",
		"weekend_base":              "Weekend base load",
		"per_hour":                  "/h",
		"master_data":               "Master data",
		"address":                   "Address",
		"bgf":                       "GFA (BGF)",
		"nrf":                       "NFA (NRF)",
		"area_basis":                "Reference area",
		"meters":                    "Meters",
		"meter":                     "Meter",
		"readings":                  "Readings",
		"estimated":                 "estimated",
		"estimated_head":            "Estimated",
		"estimated_mark":            "* estimated (interpolated or incomplete)",
		"yes":                       "yes",
		"no":                        "no",
		"notes":                     "Notes",
		"method":                    "Method and assumptions",
		"emission_factors":          "Emission factors",
		"year":                      "Year",
		"factor_kg":                 "kg CO2 per unit",
		"source":                    "Source",
		"page":                      "Page",
		"of":                        "of",
		"month":                     "Month",
		"from":                      "from",
		"to":                        "to",
		"leak_months":               "Months with suspected leak",
		"none":                      "none",
		"cost_incomplete":           "costs incomplete (tariff missing)",
		"gas_conversion":            "Gas conversion (DVGW G 685)",
		"n_a":                       "–",
		"electricity":               "Electricity",
		"heat":                      "Heat",
		"gas":                       "Gas",
		"water":                     "Water",
		"method_consumption":        "Consumption per meter from register readings: differences of consecutive readings; register rollover (10^digits) and meter replacements (final and initial readings) are corrected, a large unconfigured drop counts as a replacement. Readings at period boundaries are interpolated linearly, heat and gas inside data gaps by degree days; a boundary inside a gap (longer than 2.5 times the usual reading interval) or outside the readings is flagged as estimated.",
		"method_weather":            "Weather normalisation: E_norm = E × (1 − a) × G_ref / G + E × a with a = hot-water share; G20/15 = sum of (20 − t_m) over days with a daily mean t_m < 15 °C. Reference: %s Kd/a (default: test reference year Potsdam, the reference of the DWD climate factors), split over partial periods per VDI 2067/DIN 4713.",
		"method_kennwert":           "Indices per VDI 3807: consumption per m² reference area and year; ranking on %s. Heat = district heat + gas (kWh gross calorific value), weather-normalised.",
		"method_gas":                "Gas: kWh = m³ × Z-number × gross calorific value (DVGW G 685).",
		"method_base":               "Base load: mean power at night (%d–%d h) and at weekends (Sat 0 h to Mon 0 h).",
		"method_cost":               "Costs: consumption × unit price + base fee prorated by days, per calendar year.",
		"note_no_readings":          "%s: meter %s has no readings in the period.",
		"note_estimated":            "%s: meter %s – value partly estimated.",
		"note_rollover":             "%s: meter %s – register rollover on %s corrected.",
		"note_replacement":          "%s: meter %s – meter replacement on %s applied.",
		"note_replacement_detected": "%s: meter %s – drop on %s taken as a meter replacement, gap consumption estimated (%s).",
		"note_rejected":             "%s: meter %s – %s implausible readings rejected.",
		"note_gap":                  "%s: meter %s – %s data gap(s) longer than allowed.",
		"note_leak":                 "%s: suspected water leak in %s – night flow %s l/h.",
		"note_no_tariff":            "%s: no tariff for %s in %d – costs incomplete.",
		"note_gas_default":          "%s: gas converted with default values (Z-number/calorific value not configured).",
		"note_no_degree_days":       "%s: no degree days – heating energy not weather-normalised.",
		"note_no_area":              "%s: no reference area – no indices.",
		"note_factor_year":          "Emission factor %s for %d: value of %s used.",
		"empty_title":               "This report is empty",
		"empty_text":                "For this period and selection there is no building with meters. Buildings are configured under sites, their meters under energy.meters; without --site (or site=) every building with meters counts.",
	},
}

// tr is a translator for one language.
type tr struct{ lang Lang }

func (t tr) s(key string) string {
	if v, ok := texts[t.lang][key]; ok {
		return v
	}
	return key
}

func (t tr) f(key string, args ...any) string { return fmt.Sprintf(t.s(key), args...) }

func (t tr) medium(m energy.Medium) string { return t.s(string(m)) }

var monthsDE = [12]string{"Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"}
var monthsEN = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func (t tr) monthShort(m time.Month) string {
	if t.lang == EN {
		return monthsEN[m-1]
	}
	return monthsDE[m-1]
}

// date formats a day (German 31.12.2026, English 2026-12-31).
func (t tr) date(d time.Time) string {
	if t.lang == EN {
		return d.Format("2006-01-02")
	}
	return d.Format("02.01.2006")
}

func (t tr) dateTime(d time.Time) string {
	if t.lang == EN {
		return d.Format("2006-01-02 15:04")
	}
	return d.Format("02.01.2006 15:04")
}

// periodText prints [from, to) with an inclusive end date.
func (t tr) periodText(from, to time.Time) string {
	last := to.Add(-time.Nanosecond)
	return t.date(from) + " – " + t.date(last)
}

// bucketLabel labels a bucket by its start.
func (t tr) bucketLabel(b energy.Bucket, g energy.Granularity) string {
	switch g {
	case energy.Day:
		if t.lang == EN {
			return b.Start.Format("01-02")
		}
		return b.Start.Format("02.01.")
	case energy.Year:
		return b.Start.Format("2006")
	}
	return t.monthShort(b.Start.Month())
}

// num formats v with dec decimals and thousands separators per language.
func (t tr) num(v float64, dec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return t.s("n_a")
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', dec, 64)
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
	}
	thou, decSep := ".", ","
	if t.lang == EN {
		thou, decSep = ",", "."
	}
	var b strings.Builder
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteString("−")
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(thou)
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString(decSep)
		b.WriteString(frac)
	}
	return b.String()
}

// auto picks decimals by magnitude so tables stay readable.
func (t tr) auto(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return t.num(v, 0)
	case a >= 10:
		return t.num(v, 1)
	}
	return t.num(v, 2)
}

func (t tr) pct(p *float64) string {
	if p == nil {
		return t.s("n_a")
	}
	s := t.num(*p, 1) + " %"
	if *p > 0 {
		s = "+" + s
	}
	return s
}

func (t tr) opt(p *float64, dec int) string {
	if p == nil {
		return t.s("n_a")
	}
	return t.num(*p, dec)
}

// unit renders a medium unit for print.
func unitText(u string) string {
	if u == "m3" {
		return "m³"
	}
	return u
}

func (t tr) ddSource(s string) string {
	switch s {
	case "sensor":
		return t.s("source_sensor")
	case "configured":
		return t.s("source_configured")
	case "mixed":
		return t.s("source_mixed")
	}
	return t.s("n_a")
}

// note renders one note.
func (t tr) note(rep *energy.Report, n energy.Note) string {
	site := n.Site
	for _, s := range rep.Sites {
		if s.ID == n.Site {
			site = s.Name
		}
	}
	when := ""
	if n.Time != nil {
		when = t.dateTime(n.Time.In(rep.From.Location()))
	}
	month := n.Month
	if mt, err := time.Parse("2006-01", n.Month); err == nil {
		month = t.monthShort(mt.Month()) + " " + mt.Format("2006")
	}
	switch n.Code {
	case energy.NoteNoReadings, energy.NoteEstimated:
		return t.f("note_"+string(n.Code), site, n.Meter)
	case energy.NoteRollover, energy.NoteReplacement:
		return t.f("note_"+string(n.Code), site, n.Meter, when)
	case energy.NoteReplacementDetected:
		return t.f("note_"+string(n.Code), site, n.Meter, when, t.auto(n.Value)+" "+unitText(n.Medium.Unit()))
	case energy.NoteRejected, energy.NoteGap:
		return t.f("note_"+string(n.Code), site, n.Meter, t.num(n.Value, 0))
	case energy.NoteLeak:
		return t.f("note_leak", site, month, t.num(n.Value, 1))
	case energy.NoteNoTariff:
		return t.f("note_no_tariff", site, t.medium(n.Medium), n.Year)
	case energy.NoteGasDefault, energy.NoteNoDegreeDays, energy.NoteNoArea:
		return t.f("note_"+string(n.Code), site)
	case energy.NoteFactorYear:
		return t.f("note_factor_year", t.medium(n.Medium), n.Year, t.num(n.Value, 0))
	}
	return string(n.Code)
}

// rate prints a base load: kW for energy, l/h for water.
func (t tr) rate(m energy.Medium, perHour float64) string {
	switch m {
	case energy.Water:
		return t.num(perHour*1000, 1) + " l/h"
	case energy.Gas:
		return t.num(perHour, 2) + " m³/h"
	}
	return t.num(perHour, 1) + " kW"
}
