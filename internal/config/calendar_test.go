package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUnquotedDates: YAML reads 2026-02-09 as a timestamp; the calendar's
// and the measures' date keys take it as the date written.
func TestUnquotedDates(t *testing.T) {
	y := []byte(`
sites:
  - {id: gs1, name: Grundschule 1, kind: building}
calendar:
  sites:
    - id: gs1
      closed_in_school_holidays: true
      closures: [{name: Sanierung, from: 2026-02-09, to: 2026-02-13}]
energy:
  measures:
    - {site: gs1, medium: heat, date: 2026-01-12, title: Pumpe, kind: heating}
`)
	c, err := Load(Source{File: "x.yaml", YAML: y})
	require.NoError(t, err)
	require.Equal(t, "2026-02-09", c.Calendar.Sites[0].Closures[0].From)
	require.Equal(t, "2026-01-12", c.Energy.Measures[0].Date)

	bad := []byte(`
sites:
  - {id: gs1, name: Grundschule 1, kind: building}
calendar:
  sites: [{id: nope, use_times: {mon: "8-16"}}]
`)
	_, err = Load(Source{File: "x.yaml", YAML: bad})
	require.ErrorContains(t, err, `calendar.sites[0].use_times.mon: "8" is not a time HH:MM`)
}
