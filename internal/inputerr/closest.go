package inputerr

import (
	"slices"
	"strings"
)

// Closest returns up to n of known ordered by edit distance to id (case
// folded), nearest first, ties by name.
func Closest(id string, known []string, n int) []string {
	type cand struct {
		s string
		d int
	}
	low := strings.ToLower(id)
	cs := make([]cand, 0, len(known))
	for _, k := range known {
		cs = append(cs, cand{k, distance(low, strings.ToLower(k))})
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.s, b.s)
	})
	out := make([]string, 0, min(n, len(cs)))
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, c.s)
	}
	return out
}

// Suggest is the tail of an error that names an unknown id: the form of
// the ids (such as "vendor/model"; "" to leave it out) and the three known
// ids closest to id, e.g. ` (ids are vendor/model; closest: elsys/ers-co2,
// elsys/ers-sound)`, or ` (none are known)`.
func Suggest(id string, known []string, form string) string {
	var b strings.Builder
	b.WriteString(" (")
	if form != "" {
		b.WriteString("ids are " + form + "; ")
	}
	if len(known) == 0 {
		b.WriteString("none are known)")
		return b.String()
	}
	b.WriteString("closest: " + strings.Join(Closest(id, known, 3), ", ") + ")")
	return b.String()
}

// distance is the Levenshtein distance of a and b in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
