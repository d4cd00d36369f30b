package report

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/loraedge/loraedge/internal/energy"
)

// rgb is a colour.
type rgb struct{ r, g, b int }

func (c rgb) hex() string { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

// lighter mixes c with white.
func (c rgb) lighter(f float64) rgb {
	mix := func(v int) int { return v + int(float64(255-v)*f) }
	return rgb{mix(c.r), mix(c.g), mix(c.b)}
}

// Colours of the media (Okabe-Ito palette, readable for colour-blind
// readers and in greyscale print).
var mediumColor = map[energy.Medium]rgb{
	energy.Electricity: {230, 159, 0},
	energy.Heat:        {213, 94, 0},
	energy.Gas:         {0, 114, 178},
	energy.Water:       {0, 158, 115},
}

var (
	colText  = rgb{33, 37, 41}
	colMuted = rgb{108, 117, 125}
	colGrid  = rgb{222, 226, 230}
	colAxis  = rgb{134, 142, 150}
)

// canvas is what the charts draw on: the PDF page (mm) or an SVG
// document (user units = mm). Text size is in mm, y of text is the
// baseline.
type canvas interface {
	rect(x, y, w, h float64, fill rgb)
	line(x1, y1, x2, y2, width float64, stroke rgb)
	text(x, y float64, s string, size float64, anchor string, col rgb, bold bool)
}

// barSeries is one series of a bar chart.
type barSeries struct {
	name   string
	color  rgb
	values []float64
	est    []bool
}

// niceMax returns a round axis maximum >= v and its tick step.
func niceMax(v float64) (float64, float64) {
	if v <= 0 || math.IsNaN(v) {
		return 1, 0.25
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Ceil(v/step) * step, step
}

// barChart draws grouped vertical bars with a y axis, grid and legend.
func barChart(c canvas, t tr, x, y, w, h float64, title, unit string, labels []string, series []barSeries) {
	c.text(x, y+3.5, title+" ("+unitText(unit)+")", 3.6, "start", colText, true)
	top := y + 7
	if len(series) > 1 {
		lx := x + w
		for i := len(series) - 1; i >= 0; i-- {
			s := series[i]
			tw := float64(len([]rune(s.name)))*1.45 + 2
			lx -= tw + 4
			c.rect(lx, y+1, 3, 3, s.color)
			c.text(lx+4, y+3.6, s.name, 2.8, "start", colMuted, false)
		}
	}
	axisW := 16.0
	px, pw := x+axisW, w-axisW-3 // room for the last label
	ph := h - (top - y) - 6
	max := 0.0
	for _, s := range series {
		for _, v := range s.values {
			max = math.Max(max, v)
		}
	}
	ymax, step := niceMax(max)
	for v := 0.0; v <= ymax+step/2; v += step {
		yy := top + ph - v/ymax*ph
		c.line(px, yy, px+pw, yy, 0.15, colGrid)
		dec := 0
		if step < 1 {
			dec = int(math.Ceil(-math.Log10(step)))
		}
		c.text(px-1.5, yy+1, t.num(v, dec), 2.6, "end", colMuted, false)
	}
	n := len(labels)
	if n == 0 {
		return
	}
	slot := pw / float64(n)
	gap := slot * 0.2
	bw := (slot - gap) / float64(len(series))
	every := int(math.Ceil(float64(n) / 24))
	for i := 0; i < n; i++ {
		for k, s := range series {
			if i >= len(s.values) {
				continue
			}
			v := s.values[i]
			bh := 0.0
			if ymax > 0 {
				bh = math.Max(v, 0) / ymax * ph
			}
			bx := px + float64(i)*slot + gap/2 + float64(k)*bw
			col := s.color
			if i < len(s.est) && s.est[i] {
				col = col.lighter(0.45)
			}
			c.rect(bx, top+ph-bh, bw, bh, col)
			if i < len(s.est) && s.est[i] && bh > 0 && n <= 24 {
				c.text(bx+bw/2, top+ph-bh-0.6, "*", 2.6, "middle", colMuted, false)
			}
		}
		if i%every == 0 {
			c.text(px+float64(i)*slot+slot/2, top+ph+3.6, labels[i], 2.6, "middle", colMuted, false)
		}
	}
	c.line(px, top+ph, px+pw, top+ph, 0.3, colAxis)
}

// hbarChart draws horizontal bars (the ranking), largest first as given.
func hbarChart(c canvas, t tr, x, y, w, h float64, title, unit string, labels []string, values []float64, col rgb) {
	c.text(x, y+3.5, title, 3.6, "start", colText, true)
	top := y + 7
	n := len(labels)
	if n == 0 {
		return
	}
	labW := 45.0
	px, pw := x+labW, w-labW-14
	rowH := math.Min((h-(top-y))/float64(n), 7)
	max := 0.0
	for _, v := range values {
		max = math.Max(max, v)
	}
	ymax, step := niceMax(max)
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step)))
	}
	for v := 0.0; v <= ymax+step/2; v += step {
		xx := px + v/ymax*pw
		c.line(xx, top, xx, top+rowH*float64(n), 0.15, colGrid)
		c.text(xx, top+rowH*float64(n)+3.2, t.num(v, dec), 2.4, "middle", colMuted, false)
	}
	fs := math.Min(2.8, rowH*0.6)
	for i := 0; i < n; i++ {
		yy := top + float64(i)*rowH
		c.text(px-1.5, yy+rowH/2+fs*0.35, truncate(labels[i], 30), fs, "end", colText, false)
		v := values[i]
		if math.IsNaN(v) {
			c.text(px+1, yy+rowH/2+fs*0.35, t.s("n_a"), fs, "start", colMuted, false)
			continue
		}
		bw := math.Max(v, 0) / ymax * pw
		c.rect(px, yy+rowH*0.15, bw, rowH*0.7, col)
		c.text(px+bw+1, yy+rowH/2+fs*0.35, t.num(v, 1), fs, "start", colMuted, false)
	}
	c.text(px+pw+13, top+rowH*float64(n)+3.2, unit, 2.4, "end", colMuted, false)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// svgCanvas writes SVG elements; units are mm.
type svgCanvas struct {
	b    strings.Builder
	w, h float64
}

func newSVG(w, h float64) *svgCanvas {
	s := &svgCanvas{w: w, h: h}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="100%%" role="img" font-family="Helvetica, Arial, sans-serif">`, w, h)
	return s
}

func (s *svgCanvas) rect(x, y, w, h float64, fill rgb) {
	if w <= 0 || h <= 0 {
		return
	}
	fmt.Fprintf(&s.b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"/>`, x, y, w, h, fill.hex())
}

func (s *svgCanvas) line(x1, y1, x2, y2, width float64, stroke rgb) {
	fmt.Fprintf(&s.b, `<line x1="%.2f" y1="%.2f" x2="%.2f" y2="%.2f" stroke="%s" stroke-width="%.2f"/>`, x1, y1, x2, y2, stroke.hex(), width)
}

func (s *svgCanvas) text(x, y float64, str string, size float64, anchor string, col rgb, bold bool) {
	w := ""
	if bold {
		w = ` font-weight="bold"`
	}
	fmt.Fprintf(&s.b, `<text x="%.2f" y="%.2f" font-size="%.2f" text-anchor="%s" fill="%s"%s>%s</text>`, x, y, size, anchor, col.hex(), w, html.EscapeString(str))
}

func (s *svgCanvas) String() string { return s.b.String() + "</svg>" }
