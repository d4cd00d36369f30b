package datex2

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkMeasuredData renders the MeasuredDataPublication of 200 road
// stations with every value.
func BenchmarkMeasuredData(b *testing.B) {
	base := stations()[0]
	st := make([]Station, 200)
	for i := range st {
		st[i] = base
		st[i].ID = fmt.Sprintf("s%03d", i)
	}
	cfg := DefaultConfig()
	for b.Loop() {
		if err := cfg.MeasuredData(io.Discard, st, now); err != nil {
			b.Fatal(err)
		}
	}
}
