package report

import (
	"context"
	"strconv"
	"time"

	"github.com/loraedge/loraedge/internal/energy"
)

// developmentYears is how many years the annual report's development
// chapter shows, the report's year included.
const developmentYears = 5

var developmentTexts = map[Lang]map[string]string{
	DE: {
		"development":       "Entwicklung über die Jahre",
		"development_intro": "Verbrauch je Gebäude in den letzten bis zu fünf Jahren, soweit gespeichert: Wärme witterungsbereinigt mit Gradtagszahlen G20/15 (kWh), Strom (kWh), Wasser (m³). – = keine Daten.",
		"quantity":          "Größe",
	},
	EN: {
		"development":       "Development over the years",
		"development_intro": "Consumption per building over the last up to five years as far as stored: heat normalised with degree days G20/15 (kWh), electricity (kWh), water (m³). – = no data.",
		"quantity":          "Quantity",
	},
}

func init() { mergeTexts(developmentTexts) }

// development computes the chapter over years for rep when it covers one
// calendar year [from, to): the yearly figures of the same sites in up to
// four earlier years, from the first year the store holds; nil when it
// holds none before the report's year.
func development(ctx context.Context, eng *energy.Engine, src energy.Source, sites []string, rep *energy.Report, from, to time.Time) (*energy.Development, error) {
	if from.Month() != time.January || from.Day() != 1 || !to.Equal(from.AddDate(1, 0, 0)) {
		return nil, nil
	}
	reps := make([]*energy.Report, 0, developmentYears)
	for k := developmentYears - 1; k > 0; k-- {
		y, err := eng.Report(ctx, src, energy.Request{From: from.AddDate(-k, 0, 0), To: from.AddDate(-k+1, 0, 0), Sites: sites, Granularity: energy.Year})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			y = nil // a year the store cannot report counts as missing
		}
		reps = append(reps, y)
	}
	reps = append(reps, rep)
	d := &energy.Development{}
	first := -1
	for _, s := range rep.Sites {
		for _, q := range energy.DevelopmentQuantities {
			row := energy.DevelopmentRow{Site: s.ID, Name: s.Name, Quantity: q, Unit: "kWh", Values: make([]*float64, len(reps))}
			if q == "water" {
				row.Unit = "m3"
			}
			found := false
			for i, yr := range reps {
				if yr == nil {
					continue
				}
				for _, ys := range yr.Sites {
					if v, ok := energy.YearFigure(ys, q); ys.ID == s.ID && ok {
						row.Values[i], found = &v, true
						if first < 0 || i < first {
							first = i
						}
					}
				}
			}
			if found {
				d.Rows = append(d.Rows, row)
			}
		}
	}
	if first < 0 || first == len(reps)-1 {
		return nil, nil // a single year is no development
	}
	for i := range d.Rows {
		d.Rows[i].Values = d.Rows[i].Values[first:]
	}
	for i := first; i < len(reps); i++ {
		d.Years = append(d.Years, from.Year()-(len(reps)-1-i))
	}
	return d, nil
}

// developmentBlocks is the chapter over years: a table per site and
// quantity and a chart of the county total per quantity.
func developmentBlocks(rep *energy.Report, t tr) []block {
	d := rep.Development
	if d == nil || len(d.Rows) == 0 {
		return nil
	}
	bs := []block{pageBreak{}, heading{t.s("development"), 2}, para{text: t.s("development_intro"), small: true}}
	labels := make([]string, len(d.Years))
	for i, y := range d.Years {
		labels[i] = strconv.Itoa(y)
	}
	tb := table{head: append([]string{t.s("site"), t.s("quantity")}, labels...), widths: []float64{2.6, 1.8}, right: []bool{false, false}}
	totals := map[string][]float64{}
	for _, r := range d.Rows {
		row := []string{r.Name, t.s(r.Quantity) + " (" + unitText(r.Unit) + ")"}
		if totals[r.Quantity] == nil {
			totals[r.Quantity] = make([]float64, len(d.Years))
		}
		for i, v := range r.Values {
			if v == nil {
				row = append(row, "–")
				continue
			}
			row = append(row, t.num(*v, 0))
			totals[r.Quantity][i] += *v
		}
		tb.rows = append(tb.rows, row)
	}
	for range d.Years {
		tb.widths, tb.right = append(tb.widths, 1.2), append(tb.right, true)
	}
	bs = append(bs, tb)
	colors := map[string]rgb{"heating": mediumColor[energy.Heat], "electricity": mediumColor[energy.Electricity], "water": mediumColor[energy.Water]}
	for _, q := range energy.DevelopmentQuantities {
		vals := totals[q]
		if vals == nil {
			continue
		}
		unit := "kWh"
		if q == "water" {
			unit = "m3"
		}
		title := t.s(q)
		bs = append(bs, chart{h: 55, draw: func(c canvas, x, y, w, h float64) {
			barChart(c, t, x, y, w, h, title, unit, labels, []barSeries{{name: title, color: colors[q], values: vals, est: make([]bool, len(vals))}})
		}})
	}
	return bs
}
