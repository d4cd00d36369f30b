package inputerr

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClosest(t *testing.T) {
	known := []string{"elsys/ers-co2", "elsys/ers-sound", "decentlab/dl-lp8p", "milesight/em300-di", "elsys/elt-2"}
	got := Closest("elsys-ers-co2", known, 3)
	assert.Len(t, got, 3)
	assert.Equal(t, "elsys/ers-co2", got[0], "one edit away")
	assert.NotContains(t, got, "decentlab/dl-lp8p")
	assert.Equal(t, []string{"milesight/em300-di"}, Closest("Milesight/EM300-DI", known, 1), "case folded")
	assert.Empty(t, Closest("x", nil, 3))
	assert.Equal(t, 3, distance("kitten", "sitting"))
	assert.Equal(t, 0, distance("", ""))
	assert.Equal(t, 4, distance("", "abcd"))
}

func TestSuggest(t *testing.T) {
	assert.Equal(t, " (ids are vendor/model; closest: elsys/ers-co2, elsys/ers-sound)",
		Suggest("elsys-ers-co2", []string{"elsys/ers-sound", "elsys/ers-co2"}, "vendor/model"))
	assert.Equal(t, " (closest: gs-nord)", Suggest("gs-nrod", []string{"gs-nord"}, ""))
	assert.Equal(t, " (ids are vendor/model; none are known)", Suggest("a/b", nil, "vendor/model"))
}
