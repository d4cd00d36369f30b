package site_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/loraedge/loraedge/internal/site"
)

func TestGaugeAndAreaValidate(t *testing.T) {
	zero := 0.0
	for _, tc := range []struct {
		name string
		s    site.Site
		errs []string
	}{
		{"distance gauge", site.Site{ID: "g", Kind: site.Gauge, GaugeSite: site.GaugeSite{River: "Rur", MountingHeight: 4.5}}, nil},
		{"pressure gauge at the zero", site.Site{ID: "g", Kind: site.Gauge, GaugeSite: site.GaugeSite{SensorHeight: &zero}}, nil},
		{"gauge without height", site.Site{ID: "g", Kind: site.Gauge}, []string{"a gauge needs one"}},
		{"bad gauge values", site.Site{ID: "g", Kind: site.Gauge, GaugeSite: site.GaugeSite{MountingHeight: -1, MaxRate: -2}},
			[]string{"mounting_height_m: -1 is outside", "max_rate_cm_h: must not be negative"}},
		{"area", site.Site{ID: "a", Kind: site.Area, Capacity: 500}, nil},
		{"gauge keys on a road", site.Site{ID: "r", Kind: site.Road, GaugeSite: site.GaugeSite{River: "Rur"}}, []string{"only gauge sites"}},
		{"unknown kind", site.Site{ID: "x", Kind: "lake"}, []string{"is not building, road, gauge or area"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if len(tc.errs) == 0 {
				assert.NoError(t, err)
				return
			}
			for _, e := range tc.errs {
				assert.ErrorContains(t, err, e)
			}
		})
	}
	assert.Equal(t, site.DefaultMaxRate, site.GaugeSite{}.MaxRateOrDefault())
	assert.Equal(t, site.DefaultRateWindow, site.GaugeSite{}.RateWindowOrDefault())
}
