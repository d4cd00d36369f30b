package report

import (
	"math"
	"time"

	"github.com/loraedge/loraedge/internal/energy"
)

// measureTexts are the strings of the measures chapter, merged into texts.
var measureTexts = map[Lang]map[string]string{
	DE: {
		"measures":           "Maßnahmen und Einsparungen",
		"measures_intro":     "Vermiedener Verbrauch = Baseline-Prognose für Wetter und Kalender des Tages − gemessener Verbrauch (IPMVP Option C). Unsicherheit bei 90 % Konfidenz nach ASHRAE Guideline 14.",
		"measure":            "Maßnahme",
		"measure_from":       "ab",
		"avoided_kwh":        "Vermieden (kWh)",
		"avoided_pct":        "Anteil",
		"avoided_eur":        "EUR",
		"payback_years":      "Amort. (a)",
		"significant_from":   "signif. ab",
		"not_significant":    "noch nicht",
		"measure_fit":        "Baseline: %d Tage (%s bis %s), R² %s, CV(RMSE) %s %%, Balance-Temperatur %s °C. %s",
		"ashrae_ok":          "Erfüllt die Grenzwerte der ASHRAE Guideline 14.",
		"ashrae_no":          "Erfüllt die Grenzwerte der ASHRAE Guideline 14 nicht: Einsparung nur unter Vorbehalt.",
		"measure_error":      "Nicht berechenbar: %s",
		"chart_measure_day":  "Tagesverbrauch: gemessen und Baseline mit 90-%-Band",
		"chart_measure_cum":  "Kumulierte Einsparung mit 90-%-Unsicherheit",
		"series_measured":    "gemessen",
		"series_baseline":    "Baseline",
		"series_band":        "90-%-Band",
		"series_cumulative":  "kumuliert",
		"series_uncertainty": "Unsicherheit",
	},
	EN: {
		"measures":           "Measures and savings",
		"measures_intro":     "Avoided consumption = baseline prediction for the day's weather and calendar − measured consumption (IPMVP option C). Uncertainty at 90 % confidence per ASHRAE Guideline 14.",
		"measure":            "Measure",
		"measure_from":       "from",
		"avoided_kwh":        "Avoided (kWh)",
		"avoided_pct":        "Share",
		"avoided_eur":        "EUR",
		"payback_years":      "Payb. (a)",
		"significant_from":   "signif. from",
		"not_significant":    "not yet",
		"measure_fit":        "Baseline: %d days (%s to %s), R² %s, CV(RMSE) %s %%, balance temperature %s °C. %s",
		"ashrae_ok":          "Meets the ASHRAE Guideline 14 limits.",
		"ashrae_no":          "Does not meet the ASHRAE Guideline 14 limits: saving with reservations.",
		"measure_error":      "Cannot be computed: %s",
		"chart_measure_day":  "Daily consumption: measured and baseline with its 90 % band",
		"chart_measure_cum":  "Cumulative saving with its 90 % uncertainty",
		"series_measured":    "measured",
		"series_baseline":    "baseline",
		"series_band":        "90 % band",
		"series_cumulative":  "cumulative",
		"series_uncertainty": "uncertainty",
	},
}

func init() { mergeTexts(measureTexts) }

// measureBlocks is the measures chapter: a table of every measure and per
// measure its fit and two charts.
func measureBlocks(rep *energy.Report, t tr) []block {
	if len(rep.Measures) == 0 {
		return nil
	}
	names := map[string]string{}
	for _, s := range rep.Sites {
		names[s.ID] = s.Name
	}
	bs := []block{pageBreak{}, heading{t.s("measures"), 2}, para{text: t.s("measures_intro"), small: true}}
	tb := table{
		head:   []string{t.s("measure"), t.s("site"), t.s("measure_from"), t.s("avoided_kwh"), t.s("avoided_pct"), t.s("avoided_eur"), t.s("co2_t"), t.s("payback_years"), t.s("significant_from")},
		widths: []float64{2.5, 1.5, 1.35, 1.9, 0.8, 0.8, 0.75, 0.85, 1.35},
		right:  []bool{false, false, false, true, true, true, true, true, false},
	}
	for _, r := range rep.Measures {
		m, s := r.Measure, r.Savings
		row := []string{m.Title, names[m.Site], m.Date, "–", "–", "–", "–", "–", "–"}
		if s != nil {
			row[3] = t.num(s.AvoidedKWh, 0) + " ± " + t.num(s.UncertaintyKWh, 0)
			row[4] = t.num(100*s.Fraction, 1) + " %"
			row[5] = t.num(r.AvoidedEUR, 0)
			row[6] = t.num(r.AvoidedCO2Kg/1000, 1)
			row[7] = t.opt(r.PaybackYears, 1)
			row[8] = t.s("not_significant")
			if s.SignificantFrom != nil {
				row[8] = s.SignificantFrom.String()
			}
		}
		tb.rows = append(tb.rows, row)
	}
	bs = append(bs, tb)
	for _, r := range rep.Measures {
		bs = append(bs, heading{r.Measure.Title + " – " + names[r.Measure.Site], 3})
		s := r.Savings
		if s == nil {
			bs = append(bs, para{text: t.f("measure_error", r.Error), small: true})
			continue
		}
		b := s.Baseline
		verdict := t.s("ashrae_ok")
		if !b.MeetsASHRAE14 {
			verdict = t.s("ashrae_no")
		}
		bs = append(bs, para{text: t.f("measure_fit", b.N, s.BaselineFrom.String(), s.BaselineTo.String(), t.num(b.R2, 3), t.num(100*b.CVRMSE, 1), t.num(b.BalanceTemp, 1), verdict), small: true})
		if len(s.Days) < 2 {
			continue
		}
		days := s.Days
		col := mediumColor[r.Measure.Medium]
		unit := "kWh"
		if r.Measure.Medium == energy.Water {
			unit = "m3"
		}
		pick := func(f func(d energy.SavingsDay) float64) []float64 {
			out := make([]float64, len(days))
			for i, d := range days {
				out[i] = f(d)
			}
			return out
		}
		measured := pick(func(d energy.SavingsDay) float64 {
			if d.Measured == nil {
				return math.NaN()
			}
			return *d.Measured
		})
		unc := pick(func(d energy.SavingsDay) float64 { return d.Uncertainty })
		bs = append(bs,
			chart{h: 55, draw: func(c canvas, x, y, w, h float64) {
				lineChart(c, t, x, y, w, h, t.s("chart_measure_day"), unit, days, []lineSeries{
					{t.s("series_band"), colAxis, 0.2, pick(func(d energy.SavingsDay) float64 { return d.Lower })},
					{"", colAxis, 0.2, pick(func(d energy.SavingsDay) float64 { return d.Upper })},
					{t.s("series_baseline"), colMuted, 0.35, pick(func(d energy.SavingsDay) float64 { return d.Predicted })},
					{t.s("series_measured"), col, 0.45, measured},
				})
			}},
			chart{h: 50, draw: func(c canvas, x, y, w, h float64) {
				neg := make([]float64, len(unc))
				for i, u := range unc {
					neg[i] = -u
				}
				lineChart(c, t, x, y, w, h, t.s("chart_measure_cum"), unit, days, []lineSeries{
					{t.s("series_uncertainty"), colAxis, 0.2, unc},
					{"", colAxis, 0.2, neg},
					{t.s("series_cumulative"), col, 0.45, pick(func(d energy.SavingsDay) float64 { return d.Cumulative })},
				})
			}})
	}
	return bs
}

// lineSeries is one line of a line chart; NaN values break it. A series
// without a name has no legend entry.
type lineSeries struct {
	name   string
	color  rgb
	width  float64
	values []float64
}

// lineChart draws daily series over days with a zero line when the values
// cross it, and month labels.
func lineChart(c canvas, t tr, x, y, w, h float64, title, unit string, days []energy.SavingsDay, series []lineSeries) {
	c.text(x, y+3.5, title+" ("+unitText(unit)+")", 3.6, "start", colText, true)
	lx := x + w
	for i := len(series) - 1; i >= 0; i-- {
		s := series[i]
		if s.name == "" {
			continue
		}
		tw := float64(len([]rune(s.name)))*1.45 + 2
		lx -= tw + 6
		c.line(lx, y+2.5, lx+4, y+2.5, 0.6, s.color)
		c.text(lx+5, y+3.6, s.name, 2.8, "start", colMuted, false)
	}
	top := y + 7
	axisW := 16.0
	px, pw := x+axisW, w-axisW-3
	ph := h - (top - y) - 6
	lo, hi := 0.0, 0.0
	for _, s := range series {
		for _, v := range s.values {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	span, step := niceMax(hi - lo)
	lo = math.Floor(lo/step) * step
	span = math.Max(span, hi-lo)
	yOf := func(v float64) float64 { return top + ph - (v-lo)/span*ph }
	for v := lo; v <= lo+span+step/2; v += step {
		c.line(px, yOf(v), px+pw, yOf(v), 0.15, colGrid)
		c.text(px-1.5, yOf(v)+1, t.num(v, 0), 2.6, "end", colMuted, false)
	}
	n := len(days)
	xOf := func(i int) float64 { return px + float64(i)/float64(max(n-1, 1))*pw }
	for i, d := range days {
		if tm := d.Date.Time(time.UTC); tm.Day() == 1 || i == 0 {
			c.text(xOf(i), top+ph+3.6, t.monthShort(tm.Month())+" "+tm.Format("06"), 2.6, "middle", colMuted, false)
		}
	}
	c.line(px, yOf(0), px+pw, yOf(0), 0.3, colAxis)
	for _, s := range series {
		for i := 1; i < len(s.values) && i < n; i++ {
			a, b := s.values[i-1], s.values[i]
			if math.IsNaN(a) || math.IsNaN(b) {
				continue
			}
			c.line(xOf(i-1), yOf(a), xOf(i), yOf(b), s.width, s.color)
		}
	}
}
