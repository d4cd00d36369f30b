package datex2

import (
	"bufio"
	"encoding/xml"
	"io"
)

// node is an XML element with a prefixed name. DATEX II names its
// namespaces by prefix throughout (d2, com, roa, loc) and encoding/xml
// cannot be told which prefix to write, so the documents are built as a
// small tree and written by hand.
type node struct {
	name  string
	attrs [][2]string
	text  string
	kids  []*node
}

func el(name string, kids ...*node) *node { return &node{name: name, kids: kids} }

func leaf(name, text string) *node { return &node{name: name, text: text} }

func (n *node) attr(name, value string) *node {
	n.attrs = append(n.attrs, [2]string{name, value})
	return n
}

// add appends the non-nil kids.
func (n *node) add(kids ...*node) *node {
	for _, k := range kids {
		if k != nil {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

// write writes n. A bufio.Writer keeps its first error and Flush returns
// it, so the writes here need not check each.
func (n *node) write(bw *bufio.Writer, depth int) {
	w := sticky{bw}
	for range depth {
		w.WriteString("  ")
	}
	w.WriteString("<" + n.name)
	for _, a := range n.attrs {
		w.WriteString(" " + a[0] + `="`)
		_ = xml.EscapeText(bw, []byte(a[1]))
		w.WriteString(`"`)
	}
	switch {
	case len(n.kids) > 0:
		w.WriteString(">\n")
		for _, k := range n.kids {
			k.write(bw, depth+1)
		}
		for range depth {
			w.WriteString("  ")
		}
		w.WriteString("</" + n.name + ">\n")
	case n.text != "":
		w.WriteString(">")
		_ = xml.EscapeText(bw, []byte(n.text))
		w.WriteString("</" + n.name + ">\n")
	default:
		w.WriteString("/>\n")
	}
}

// writeDocument writes root as an XML document.
func writeDocument(out io.Writer, root *node) error {
	w := bufio.NewWriter(out)
	sticky{w}.WriteString(xml.Header)
	root.write(w, 0)
	return w.Flush()
}

// sticky drops the error of each write; see write.
type sticky struct{ w *bufio.Writer }

func (s sticky) WriteString(str string) { _, _ = s.w.WriteString(str) }
