package report

import (
	"math"
	"strconv"
	"strings"

	"github.com/loraedge/loraedge/internal/energy"
)

// The PDF and HTML renderers print the same document: a list of blocks
// built once from the report, so both show the same figures and charts.
type block interface{ isBlock() }

type heading struct {
	text  string
	level int // 1 title, 2 section, 3 subsection
}

type para struct {
	text  string
	small bool
}

type table struct {
	head   []string
	rows   [][]string
	widths []float64 // relative
	right  []bool    // right-aligned columns
	total  bool      // last row is a total (bold)
}

type chart struct {
	h    float64 // mm at full content width
	draw func(c canvas, x, y, w, h float64)
}

type pageBreak struct{}

func (heading) isBlock()   {}
func (para) isBlock()      {}
func (table) isBlock()     {}
func (chart) isBlock()     {}
func (pageBreak) isBlock() {}

// contentWidth is the A4 width minus margins, in mm; SVG charts use it
// as their viewBox width so both renderings have the same proportions.
const contentWidth = 174.0

func mark(s string, est bool) string {
	if est {
		return s + "*"
	}
	return s
}

func (t tr) granularityTitle(g energy.Granularity) string {
	switch g {
	case energy.Day:
		return t.s("daily")
	case energy.Year:
		return t.s("yearly")
	}
	return t.s("monthly")
}

// Empty reports whether rep has nothing to show: no building with meters
// in the period and selection.
func Empty(rep *energy.Report) bool {
	for _, s := range rep.Sites {
		if len(s.Media) > 0 {
			return false
		}
	}
	return true
}

// document lays out rep.
func document(rep *energy.Report, t tr) []block {
	var bs []block
	add := func(b ...block) { bs = append(bs, b...) }
	add(heading{t.s("title"), 1}, para{text: t.s("subtitle")})
	add(table{
		widths: []float64{1, 3},
		rows: [][]string{
			{t.s("period"), t.periodText(rep.From, rep.To)},
			{t.s("generated"), t.dateTime(rep.Generated)},
			{t.s("sites"), t.num(float64(len(rep.Sites)), 0)},
			{t.s("area_basis"), strings.ToUpper(rep.AreaBasis)},
		},
	})
	if Empty(rep) {
		// An empty PDF without a word looks like a bug; say why instead.
		add(heading{t.s("empty_title"), 2}, para{text: t.s("empty_text")})
		return bs
	}

	// Summary of all sites.
	add(heading{t.s("summary"), 2})
	sum := table{
		head:   []string{t.s("medium"), t.s("consumption"), t.s("unit"), t.s("energy_kwh"), t.s("cost_eur"), t.s("co2_t"), t.s("vs_previous"), t.s("vs_last_year")},
		widths: []float64{1.3, 1.4, 0.7, 1.4, 1.2, 0.9, 1.2, 1.2},
		right:  []bool{false, true, false, true, true, true, true, true},
		total:  true,
	}
	for _, m := range rep.Totals {
		cost := t.num(m.CostEUR, 0)
		if !m.CostComplete {
			cost += " (!)"
		}
		sum.rows = append(sum.rows, []string{t.medium(m.Medium), mark(t.num(m.Consumption, 0), m.Estimated), unitText(m.Unit), t.num(m.EnergyKWh, 0), cost, t.num(m.CO2Kg/1000, 1), t.pct(m.Previous.ChangePct), t.pct(m.LastYear.ChangePct)})
	}
	sum.rows = append(sum.rows, []string{t.s("total"), "", "", t.num(rep.EnergyKWh, 0), t.num(rep.CostEUR, 0), t.num(rep.CO2Kg/1000, 1), "", ""})
	add(sum, para{text: t.s("estimated_mark"), small: true})

	// Consumption per month (or day/year) per medium, all sites.
	add(heading{t.granularityTitle(rep.Granularity), 2})
	for _, m := range rep.Totals {
		add(chart{h: 52, draw: func(c canvas, x, y, w, h float64) {
			labels, vals, est := seriesOf(m.Buckets, rep.Granularity, t)
			barChart(c, t, x, y, w, h, t.medium(m.Medium), m.Unit, labels, []barSeries{{name: t.s("current"), color: mediumColor[m.Medium], values: vals, est: est}})
		}})
	}

	// Year comparison.
	add(pageBreak{}, heading{t.s("year_comparison"), 2})
	for _, m := range rep.Totals {
		add(chart{h: 52, draw: func(c canvas, x, y, w, h float64) {
			labels, vals, est := seriesOf(m.Buckets, rep.Granularity, t)
			_, ly, lyEst := seriesOf(m.LastYearBuckets, rep.Granularity, t)
			barChart(c, t, x, y, w, h, t.medium(m.Medium), m.Unit, labels, []barSeries{
				{name: t.s("last_year"), color: rgb{173, 181, 189}, values: ly, est: lyEst},
				{name: t.s("current"), color: mediumColor[m.Medium], values: vals, est: est},
			})
		}})
	}

	// Ranking by Kennwert.
	add(pageBreak{}, heading{t.s("ranking"), 2})
	var rl []string
	var rv []float64
	rk := table{
		head:   []string{t.s("place"), t.s("site"), t.s("heat") + " " + t.s("kennwert_unit"), t.s("electricity") + " " + t.s("kennwert_unit"), strings.ToUpper(rep.AreaBasis) + " m²"},
		widths: []float64{0.6, 3, 1.6, 1.6, 1},
		right:  []bool{true, false, true, true, true},
	}
	areas := map[string]float64{}
	for _, s := range rep.Sites {
		areas[s.ID] = s.BGF
		if rep.AreaBasis == "nrf" {
			areas[s.ID] = s.NRF
		}
	}
	for _, r := range rep.Ranking {
		rl = append(rl, r.Name)
		v := math.NaN()
		if r.Heating != nil {
			v = *r.Heating
		}
		rv = append(rv, v)
		rk.rows = append(rk.rows, []string{t.num(float64(r.Place), 0), r.Name, t.opt(r.Heating, 1), t.opt(r.Electricity, 1), t.num(areas[r.Site], 0)})
	}
	if len(rl) > 0 {
		h := math.Min(12+7*float64(len(rl)), 200)
		add(chart{h: h, draw: func(c canvas, x, y, w, h float64) {
			hbarChart(c, t, x, y, w, h, t.s("heating")+" ("+strings.ToUpper(rep.AreaBasis)+")", t.s("kennwert_unit"), rl, rv, mediumColor[energy.Heat])
		}})
	}
	add(rk)
	// The municipal report order: overview, development, buildings.
	bs = append(bs, developmentBlocks(rep, t)...)

	for _, s := range rep.Sites {
		add(pageBreak{})
		bs = append(bs, siteBlocks(rep, s, t)...)
	}

	bs = append(bs, measureBlocks(rep, t)...)
	bs = append(bs, benchmarkBlocks(rep, t)...)

	// Notes and method.
	add(pageBreak{}, heading{t.s("notes"), 2})
	if len(rep.Notes) == 0 {
		add(para{text: t.s("none")})
	}
	for _, n := range rep.Notes {
		add(para{text: "• " + t.note(rep, n), small: true})
	}
	add(heading{t.s("method"), 2})
	add(para{text: t.s("method_consumption"), small: true})
	add(para{text: t.f("method_weather", t.num(rep.ReferenceDegreeDays, 1)), small: true})
	add(para{text: t.f("method_kennwert", strings.ToUpper(rep.AreaBasis)), small: true})
	add(para{text: t.s("method_gas"), small: true})
	add(para{text: t.f("method_base", rep.NightStartHour, rep.NightEndHour), small: true})
	add(para{text: t.s("method_cost"), small: true})
	add(heading{t.s("emission_factors"), 3})
	ef := table{head: []string{t.s("medium"), t.s("year"), t.s("factor_kg"), t.s("source")}, widths: []float64{1, 0.6, 1, 4}, right: []bool{false, true, true, false}}
	for _, f := range rep.EmissionFactors {
		ef.rows = append(ef.rows, []string{t.medium(f.Medium), strconv.Itoa(f.Year), t.num(f.KgPerUnit, 3), f.Source})
	}
	add(ef)
	return bs
}

func seriesOf(bs []energy.Bucket, g energy.Granularity, t tr) ([]string, []float64, []bool) {
	labels := make([]string, len(bs))
	vals := make([]float64, len(bs))
	est := make([]bool, len(bs))
	for i, b := range bs {
		labels[i] = t.bucketLabel(b, g)
		vals[i] = b.Consumption
		est[i] = b.Estimated
	}
	return labels, vals, est
}

func siteBlocks(rep *energy.Report, s energy.SiteReport, t tr) []block {
	var bs []block
	add := func(b ...block) { bs = append(bs, b...) }
	add(heading{s.Name, 2})
	md := table{widths: []float64{1, 3}, rows: [][]string{{"ID", s.ID}}}
	if s.Address != "" {
		md.rows = append(md.rows, []string{t.s("address"), s.Address})
	}
	area := func(v float64) string {
		if v <= 0 {
			return t.s("n_a")
		}
		return t.num(v, 0) + " m²"
	}
	md.rows = append(md.rows, []string{t.s("bgf"), area(s.BGF)}, []string{t.s("nrf"), area(s.NRF)})
	add(md)

	mt := table{
		head:   []string{t.s("medium"), t.s("consumption"), t.s("unit"), t.s("cost_short"), t.s("co2_kg"), t.s("prev_short"), t.s("ly_short"), t.s("night_short"), t.s("weekend_short")},
		widths: []float64{1.1, 1.2, 0.6, 1, 1, 1.1, 1.1, 1.1, 1.1},
		right:  []bool{false, true, false, true, true, true, true, true, true},
	}
	for _, m := range s.Media {
		u := unitText(m.Unit)
		mt.rows = append(mt.rows, []string{t.medium(m.Medium), mark(t.num(m.Consumption, 1), m.Estimated), u, t.num(m.CostEUR, 0), t.num(m.CO2Kg, 0), t.pct(m.Previous.ChangePct), t.pct(m.LastYear.ChangePct), t.rate(m.Medium, m.NightBase), t.rate(m.Medium, m.WeekendBase)})
	}
	add(heading{t.s("consumption"), 3}, mt)
	for _, m := range s.Media {
		if m.Medium == energy.Gas {
			add(para{text: t.s("gas_conversion") + ": Z = " + t.num(m.GasZNumber, 4) + ", Hs = " + t.num(m.GasCalorificValue, 3) + " kWh/m³ ergibt " + t.num(m.EnergyKWh, 0) + " kWh", small: true})
		}
		if m.Medium == energy.Water {
			var leaks []string
			for _, n := range m.NightMonths {
				if n.Leak {
					leaks = append(leaks, n.Month+" ("+t.num(n.Rate*1000, 1)+" l/h)")
				}
			}
			l := t.s("none")
			if len(leaks) > 0 {
				l = strings.Join(leaks, ", ")
			}
			add(para{text: t.s("leak_months") + ": " + l, small: true})
		}
	}

	h := s.Heating
	if h.RawKWh > 0 {
		ht := table{widths: []float64{2, 2}, right: []bool{false, true}}
		ht.rows = append(ht.rows, []string{t.s("heating_raw"), t.num(h.RawKWh, 0) + " kWh"})
		if h.Normalised {
			ht.rows = append(ht.rows,
				[]string{t.s("degree_days") + " (" + t.ddSource(h.DegreeDays.Source) + ")", mark(t.num(h.DegreeDays.Value, 1)+" Kd", h.DegreeDays.Estimated)},
				[]string{t.s("degree_days_ref"), t.num(h.DegreeDays.Reference, 1) + " Kd"},
				[]string{t.s("factor"), t.num(h.Factor, 3)},
				[]string{t.s("heating_norm"), t.num(h.NormalisedKWh, 0) + " kWh"})
		} else {
			ht.rows = append(ht.rows, []string{t.s("heating_norm"), t.s("not_normalised")})
		}
		add(heading{t.s("heating"), 3}, ht)
	}

	kw := table{
		head:   []string{t.s("kennwerte"), t.s("bgf"), t.s("nrf")},
		widths: []float64{2, 1, 1},
		right:  []bool{false, true, true},
	}
	k := s.Kennwerte
	kw.rows = append(kw.rows,
		[]string{t.s("heating_norm") + " " + t.s("kennwert_unit"), t.opt(k.HeatingBGF, 1), t.opt(k.HeatingNRF, 1)},
		[]string{t.s("electricity") + " " + t.s("kennwert_unit"), t.opt(k.ElectricityBGF, 1), t.opt(k.ElectricityNRF, 1)},
		[]string{t.s("water") + " " + t.s("water_unit"), t.opt(k.WaterBGF, 3), t.opt(k.WaterNRF, 3)})
	add(heading{t.s("kennwerte"), 3}, kw)

	// Buckets per medium side by side.
	if len(s.Media) > 0 {
		bt := table{head: []string{t.granularityTitle(rep.Granularity)}, widths: []float64{1.2}, right: []bool{false}}
		for _, m := range s.Media {
			bt.head = append(bt.head, t.medium(m.Medium)+" ("+unitText(m.Unit)+")")
			bt.widths = append(bt.widths, 1)
			bt.right = append(bt.right, true)
		}
		for i, b := range s.Media[0].Buckets {
			row := []string{t.bucketLabel(b, rep.Granularity) + " " + b.Start.Format("2006")}
			if rep.Granularity == energy.Year {
				row[0] = b.Start.Format("2006")
			}
			for _, m := range s.Media {
				if i < len(m.Buckets) {
					row = append(row, mark(t.num(m.Buckets[i].Consumption, 1), m.Buckets[i].Estimated))
				}
			}
			bt.rows = append(bt.rows, row)
		}
		add(bt)
	}

	mt2 := table{head: []string{t.s("meter"), t.s("medium"), t.s("readings"), t.s("consumption"), t.s("estimated_head")}, widths: []float64{2.2, 1, 0.9, 1.2, 0.8}, right: []bool{false, false, true, true, false}}
	for _, m := range s.Media {
		for _, mr := range m.Meters {
			e := t.s("no")
			if mr.Estimated {
				e = t.s("yes")
			}
			mt2.rows = append(mt2.rows, []string{mr.ID, t.medium(m.Medium), t.num(float64(mr.Readings), 0), t.num(mr.Consumption, 1) + " " + unitText(m.Unit), e})
		}
	}
	add(heading{t.s("meters"), 3}, mt2)
	return bs
}
