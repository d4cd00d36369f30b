package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-pdf/fpdf"

	"github.com/loraedge/loraedge/internal/energy"
)

// Page geometry in mm (A4 portrait).
const (
	pageW, pageH   = 210.0, 297.0
	marginX        = 18.0
	marginTop      = 20.0
	marginBottom   = 18.0
	ptPerMM        = 1 / 0.3528
	tableRowHeight = 5.2
)

// The PDF uses the core font Helvetica with code page 1252, which covers
// German umlauts, ß, €, ², ³ and the dashes without embedding a font
// file into a gateway binary. Runes outside cp1252 are replaced first.
var pdfReplacer = strings.NewReplacer("−", "-", "→", "->", "…", "...", "Σ", "Summe")

type pdfDoc struct {
	f   *fpdf.Fpdf
	tr  func(string) string
	t   tr
	rep *energy.Report
}

// pdfCanvas draws charts on the current page.
type pdfCanvas struct{ d *pdfDoc }

func (c pdfCanvas) rect(x, y, w, h float64, fill rgb) {
	if w <= 0 || h <= 0 {
		return
	}
	c.d.f.SetFillColor(fill.r, fill.g, fill.b)
	c.d.f.Rect(x, y, w, h, "F")
}

func (c pdfCanvas) line(x1, y1, x2, y2, width float64, stroke rgb) {
	c.d.f.SetDrawColor(stroke.r, stroke.g, stroke.b)
	c.d.f.SetLineWidth(width)
	c.d.f.Line(x1, y1, x2, y2)
}

func (c pdfCanvas) text(x, y float64, s string, size float64, anchor string, col rgb, bold bool) {
	f := c.d.f
	style := ""
	if bold {
		style = "B"
	}
	f.SetFont("Helvetica", style, size*ptPerMM)
	f.SetTextColor(col.r, col.g, col.b)
	s = c.d.enc(s)
	w := f.GetStringWidth(s)
	switch anchor {
	case "middle":
		x -= w / 2
	case "end":
		x -= w
	}
	f.Text(x, y, s)
}

func (d *pdfDoc) enc(s string) string { return d.tr(pdfReplacer.Replace(s)) }

// renderPDF writes rep as a PDF document.
func renderPDF(w io.Writer, rep *energy.Report, t tr) error {
	f := fpdf.New("P", "mm", "A4", "")
	d := &pdfDoc{f: f, t: t, rep: rep}
	d.tr = f.UnicodeTranslatorFromDescriptor("cp1252")
	f.SetMargins(marginX, marginTop, marginX)
	f.SetAutoPageBreak(false, marginBottom)
	f.SetTitle(t.s("title")+" "+t.periodText(rep.From, rep.To), true)
	f.SetAuthor("loraedge", true)
	f.SetCreator("loraedge", true)
	// Fixed dates keep the output reproducible for golden comparisons.
	f.SetCreationDate(rep.Generated)
	f.SetModificationDate(rep.Generated)
	f.SetCatalogSort(true) // map order would otherwise shuffle the catalog
	f.AliasNbPages("{nb}")
	f.SetHeaderFunc(func() {
		if f.PageNo() == 1 {
			return
		}
		f.SetFont("Helvetica", "", 7.5)
		f.SetTextColor(colMuted.r, colMuted.g, colMuted.b)
		f.Text(marginX, 11, d.enc(t.s("title")+" · "+t.periodText(rep.From, rep.To)))
		f.SetDrawColor(colGrid.r, colGrid.g, colGrid.b)
		f.SetLineWidth(0.2)
		f.Line(marginX, 13, pageW-marginX, 13)
	})
	f.SetFooterFunc(func() {
		f.SetFont("Helvetica", "", 7.5)
		f.SetTextColor(colMuted.r, colMuted.g, colMuted.b)
		f.Text(marginX, pageH-9, d.enc(t.s("generated")+" "+t.dateTime(rep.Generated)+" · loraedge"))
		s := d.enc(fmt.Sprintf("%s %d %s {nb}", t.s("page"), f.PageNo(), t.s("of")))
		f.Text(pageW-marginX-f.GetStringWidth(s)+2, pageH-9, s)
	})
	f.AddPage()
	for _, b := range document(rep, t) {
		d.block(b)
	}
	if err := f.Error(); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	if err := f.Output(w); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	return nil
}

// ensure starts a new page unless h mm fit.
func (d *pdfDoc) ensure(h float64) {
	if d.f.GetY()+h > pageH-marginBottom-4 {
		d.f.AddPage()
		d.f.SetY(marginTop)
	}
}

func (d *pdfDoc) block(b block) {
	f := d.f
	switch b := b.(type) {
	case pageBreak:
		if f.GetY() > marginTop+1 {
			f.AddPage()
			f.SetY(marginTop)
		}
	case heading:
		size, gap := map[int][2]float64{1: {22, 11}, 2: {14, 8}, 3: {10.5, 6}}[b.level][0], map[int][2]float64{1: {22, 11}, 2: {14, 8}, 3: {10.5, 6}}[b.level][1]
		d.ensure(gap + 14)
		if f.GetY() > marginTop+1 {
			f.Ln(b.levelGap())
		}
		f.SetFont("Helvetica", "B", size)
		f.SetTextColor(colText.r, colText.g, colText.b)
		f.SetX(marginX)
		f.CellFormat(contentWidth, gap, d.enc(b.text), "", 1, "L", false, 0, "")
		if b.level <= 2 {
			f.SetDrawColor(mediumColor[energy.Heat].r, mediumColor[energy.Heat].g, mediumColor[energy.Heat].b)
			f.SetLineWidth(0.5)
			f.Line(marginX, f.GetY(), marginX+30, f.GetY())
			f.Ln(2.5)
		}
	case para:
		size := 9.5
		if b.small {
			size = 8
		}
		f.SetFont("Helvetica", "", size)
		f.SetTextColor(colText.r, colText.g, colText.b)
		d.ensure(5)
		f.SetX(marginX)
		f.MultiCell(contentWidth, size*0.45, d.enc(b.text), "", "L", false)
		f.Ln(1)
	case table:
		d.table(b)
	case chart:
		d.ensure(b.h + 2)
		y := f.GetY() + 1
		b.draw(pdfCanvas{d}, marginX, y, contentWidth, b.h)
		f.SetY(y + b.h + 2)
	}
}

func (h heading) levelGap() float64 {
	switch h.level {
	case 2:
		return 4
	case 3:
		return 2
	}
	return 0
}

func (d *pdfDoc) table(tb table) {
	f := d.f
	total := 0.0
	for _, w := range tb.widths {
		total += w
	}
	ncol := len(tb.widths)
	ws := make([]float64, ncol)
	for i, w := range tb.widths {
		ws[i] = w / total * contentWidth
	}
	row := func(cells []string, head, bold, fill bool, bg rgb) {
		style := ""
		if head || bold {
			style = "B"
		}
		size := 8.0
		if head {
			size = 7.5
		}
		f.SetFont("Helvetica", style, size)
		f.SetX(marginX)
		y := f.GetY()
		if fill {
			f.SetFillColor(bg.r, bg.g, bg.b)
			f.Rect(marginX, y, contentWidth, tableRowHeight, "F")
		}
		f.SetTextColor(colText.r, colText.g, colText.b)
		if head {
			f.SetTextColor(colMuted.r, colMuted.g, colMuted.b)
		}
		x := marginX
		for i := 0; i < ncol; i++ {
			s := ""
			if i < len(cells) {
				s = d.enc(cells[i])
			}
			// Shorten what does not fit rather than overprint the next
			// column.
			for len(s) > 1 && f.GetStringWidth(s) > ws[i]-2 {
				s = s[:len(s)-2] + "."
			}
			align := "L"
			if i < len(tb.right) && tb.right[i] {
				align = "R"
			}
			f.SetXY(x, y)
			f.CellFormat(ws[i], tableRowHeight, s, "", 0, align, false, 0, "")
			x += ws[i]
		}
		f.SetXY(marginX, y+tableRowHeight)
		if head || bold {
			f.SetDrawColor(colAxis.r, colAxis.g, colAxis.b)
			f.SetLineWidth(0.2)
			yy := y + tableRowHeight
			if bold && !head {
				yy = y
			}
			f.Line(marginX, yy, marginX+contentWidth, yy)
		}
	}
	d.ensure(tableRowHeight * float64(min(len(tb.rows)+1, 4)))
	f.Ln(1)
	if len(tb.head) > 0 {
		row(tb.head, true, false, false, rgb{})
	}
	for i, r := range tb.rows {
		if f.GetY()+tableRowHeight > pageH-marginBottom-4 {
			f.AddPage()
			f.SetY(marginTop)
			if len(tb.head) > 0 {
				row(tb.head, true, false, false, rgb{})
			}
		}
		last := tb.total && i == len(tb.rows)-1
		row(r, false, last, i%2 == 1, rgb{246, 247, 249})
	}
	f.Ln(3)
}
