package measurement

import (
	"math"
	"strconv"
	"strings"
)

// FormatValue prints v in plain decimal for logs and texts: four
// significant digits, but every digit before the point (a meter reading
// of 412834 kWh stays 412834, never 4.128e+05), trailing zeros dropped.
func FormatValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if v == 0 {
		return "0"
	}
	// Digits before the point (at least 1); below 1 the leading zeros
	// after the point count as places too.
	mag := int(math.Floor(math.Log10(math.Abs(v)))) + 1
	dec := min(max(4-mag, 0), 12)
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
