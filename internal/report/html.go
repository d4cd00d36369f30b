package report

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/loraedge/loraedge/internal/energy"
)

const htmlStyle = `body{font-family:Helvetica,Arial,sans-serif;color:#212529;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}
h1{font-size:1.9rem;margin-bottom:.2rem}h2{font-size:1.3rem;margin-top:2.2rem;border-bottom:3px solid #d55e00;display:inline-block;padding-bottom:.1rem}
h3{font-size:1rem;margin:1.2rem 0 .3rem}table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem;font-size:.85rem}
th{color:#6c757d;font-weight:bold;text-align:left;border-bottom:1px solid #868e96;padding:.25rem .4rem}
td{padding:.2rem .4rem}tr:nth-child(even) td{background:#f6f7f9}td.r,th.r{text-align:right}tr.total td{font-weight:bold;border-top:1px solid #868e96}
p.small{font-size:.8rem;color:#495057}figure{margin:.5rem 0 1rem}section.site{border-top:1px solid #dee2e6;margin-top:2rem}
@media print{section.site,.break{break-before:page}}`

// renderHTML writes rep as one self-contained HTML page with inline SVG
// charts (the same charts as in the PDF).
func renderHTML(w io.Writer, rep *energy.Report, t tr) error {
	var b strings.Builder
	title := t.s("title") + " " + t.periodText(rep.From, rep.To)
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>%s</title><style>%s</style></head><body>\n", t.lang, html.EscapeString(title), htmlStyle)
	pendingBreak := false
	for _, bl := range document(rep, t) {
		switch bl := bl.(type) {
		case pageBreak:
			pendingBreak = true
		case heading:
			if bl.level == 1 {
				fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(bl.text))
				continue
			}
			cls := ""
			if pendingBreak && bl.level == 2 {
				cls = ` class="break"`
			}
			pendingBreak = false
			fmt.Fprintf(&b, "<h%d%s>%s</h%d>\n", bl.level, cls, html.EscapeString(bl.text), bl.level)
		case para:
			cls := ""
			if bl.small {
				cls = ` class="small"`
			}
			fmt.Fprintf(&b, "<p%s>%s</p>\n", cls, html.EscapeString(bl.text))
		case table:
			b.WriteString("<table>")
			cell := func(tag string, i int, s string) {
				cls := ""
				if i < len(bl.right) && bl.right[i] {
					cls = ` class="r"`
				}
				fmt.Fprintf(&b, "<%s%s>%s</%s>", tag, cls, html.EscapeString(s), tag)
			}
			if len(bl.head) > 0 {
				b.WriteString("<thead><tr>")
				for i, h := range bl.head {
					cell("th", i, h)
				}
				b.WriteString("</tr></thead>")
			}
			b.WriteString("<tbody>")
			for i, r := range bl.rows {
				if bl.total && i == len(bl.rows)-1 {
					b.WriteString(`<tr class="total">`)
				} else {
					b.WriteString("<tr>")
				}
				for j, c := range r {
					cell("td", j, c)
				}
				b.WriteString("</tr>")
			}
			b.WriteString("</tbody></table>\n")
		case chart:
			svg := newSVG(contentWidth, bl.h)
			bl.draw(svg, 0, 0, contentWidth, bl.h)
			b.WriteString("<figure>")
			b.WriteString(svg.String())
			b.WriteString("</figure>\n")
		}
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
