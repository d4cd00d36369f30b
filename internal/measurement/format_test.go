package measurement

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{
		412800:      "412800",
		412834.56:   "412835",
		1234.6:      "1235",
		81.16:       "81.16",
		4.28:        "4.28",
		3.609:       "3.609",
		19:          "19",
		0:           "0",
		-12.345:     "-12.35",
		0.000123456: "0.0001235",
		2.5e9:       "2500000000",
		1e22:        "10000000000000000000000",
		-0.00000001: "-0.00000001",
		1e-15:       "0",
		math.Inf(1): "+Inf",
	} {
		assert.Equal(t, want, FormatValue(v), "%v", v)
	}
}
