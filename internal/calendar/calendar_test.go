package calendar

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/site"
)

func TestEaster(t *testing.T) {
	// Easter Sundays from published calendars.
	for year, want := range map[int]string{
		2000: "2000-04-23", 2008: "2008-03-23", 2019: "2019-04-21", 2024: "2024-03-31",
		2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2038: "2038-04-25",
	} {
		require.Equal(t, want, Easter(year).String(), "year %d", year)
	}
}

func TestPublicHolidaysNRW2026(t *testing.T) {
	want := []string{
		"2026-01-01 Neujahr", "2026-04-03 Karfreitag", "2026-04-06 Ostermontag", "2026-05-01 Tag der Arbeit",
		"2026-05-14 Christi Himmelfahrt", "2026-05-25 Pfingstmontag", "2026-06-04 Fronleichnam",
		"2026-10-03 Tag der Deutschen Einheit", "2026-11-01 Allerheiligen", "2026-12-25 1. Weihnachtstag",
		"2026-12-26 2. Weihnachtstag",
	}
	var got []string
	for _, h := range PublicHolidays(2026) {
		got = append(got, h.Date.String()+" "+h.Name)
	}
	require.Equal(t, want, got)
}

func TestBuiltinSchoolYears(t *testing.T) {
	years, err := BuiltinSchoolYears("NW")
	require.NoError(t, err)
	require.Len(t, years, 3)
	for _, sy := range years {
		require.Len(t, sy.Holidays, 5, "year %d: Oster-, Pfingst-, Sommer-, Herbst-, Weihnachtsferien", sy.Year)
		require.Contains(t, sy.Source, "schulministerium.nrw", "year %d", sy.Year)
	}
	require.Equal(t, Period{Name: "Sommerferien", From: "2026-07-20", To: "2026-09-01"}, years[1].Holidays[2])
}

func TestParseSchoolYearRejects(t *testing.T) {
	for name, in := range map[string]string{
		"unknown key":  "state: NW\nyear: 2026\nsource: x\nextra: 1\n",
		"no source":    "state: NW\nyear: 2026\n",
		"bad date":     "state: NW\nyear: 2026\nsource: x\nholidays: [{name: a, from: 2026-13-01, to: 2026-13-02}]\n",
		"reversed":     "state: NW\nyear: 2026\nsource: x\nholidays: [{name: a, from: 2026-05-02, to: 2026-05-01}]\n",
		"other year":   "state: NW\nyear: 2026\nsource: x\nholidays: [{name: a, from: 2025-05-01, to: 2025-05-02}]\n",
		"not yaml":     "{{{",
		"too long one": "state: NW\nyear: 2026\nsource: x\nholidays: [{name: a, from: 2026-01-01, to: 2028-01-01}]\n",
	} {
		_, err := ParseSchoolYear([]byte(in))
		require.Error(t, err, name)
	}
}

func newCal(t *testing.T, c Config) *Calendar {
	t.Helper()
	cal, err := New(c)
	require.NoError(t, err)
	return cal
}

func TestDayTypes(t *testing.T) {
	c := DefaultConfig()
	c.Sites = []SiteConfig{
		{ID: "school", ClosedInSchoolHolidays: true, UseTimes: map[string]string{"mon": "07:30-16:00", "tue": "07:30-16:00", "wed": "07:30-16:00", "thu": "07:30-16:00", "fri": "07:30-13:00"},
			Closures: []Period{{Name: "Sanierung", From: "2026-02-09", To: "2026-02-13"}}},
		{ID: "hall", UseTimes: map[string]string{"sat": "09:00-18:00", "mon": "16:00-22:00"}},
	}
	cal := newCal(t, c)
	d := func(s string) Date { v, err := ParseDate(s); require.NoError(t, err); return v }
	for _, tc := range []struct {
		site, date string
		typ        DayType
		name       string
		hours      float64
	}{
		{"school", "2026-03-02", WorkingDay, "", 8.5},            // Monday
		{"school", "2026-03-06", WorkingDay, "", 5.5},            // Friday
		{"school", "2026-03-07", Weekend, "", 0},                 // Saturday
		{"school", "2026-04-03", PublicHoliday, "Karfreitag", 0}, // inside Osterferien: holiday wins
		{"school", "2026-04-08", SchoolHoliday, "Osterferien", 0},
		{"school", "2026-02-10", Closed, "Sanierung", 0},
		{"townhall", "2026-04-08", SchoolHoliday, "Osterferien", 11}, // an office works in school holidays
		{"townhall", "2026-06-04", PublicHoliday, "Fronleichnam", 0},
		{"townhall", "2027-01-05", SchoolHoliday, "Weihnachtsferien", 11}, // Christmas holidays span the year end
		{"hall", "2026-03-07", Weekend, "", 9},
		{"hall", "2026-03-03", WorkingDay, "", 0},
	} {
		got := cal.Day(tc.site, d(tc.date))
		require.Equal(t, tc.typ, got.Type, "%s %s", tc.site, tc.date)
		require.Equal(t, tc.name, got.Name, "%s %s", tc.site, tc.date)
		require.InDelta(t, tc.hours, got.UseHours, 1e-9, "%s %s", tc.site, tc.date)
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	require.True(t, cal.InUse("school", time.Date(2026, 3, 2, 7, 30, 0, 0, loc)))
	require.False(t, cal.InUse("school", time.Date(2026, 3, 2, 16, 0, 0, 0, loc)), "end is exclusive")
	require.False(t, cal.InUse("school", time.Date(2026, 3, 2, 3, 0, 0, 0, loc)))
	require.False(t, cal.InUse("school", time.Date(2026, 4, 8, 10, 0, 0, 0, loc)), "school holiday")
	require.True(t, cal.InUse("townhall", time.Date(2026, 4, 8, 10, 0, 0, 0, loc)))
	require.True(t, cal.SchoolHolidayKnown(2026))
	require.False(t, cal.SchoolHolidayKnown(2031))
	require.Len(t, cal.Sources(), 3)
}

func TestConfiguredSchoolHolidays(t *testing.T) {
	c := DefaultConfig()
	c.SchoolHolidays = []Period{{Name: "Osterferien", From: "2031-04-14", To: "2031-04-26"}}
	cal := newCal(t, c)
	require.True(t, cal.SchoolHolidayKnown(2031))
	require.Equal(t, SchoolHoliday, cal.Day("x", NewDate(2031, 4, 15)).Type)
}

func TestValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	c := DefaultConfig()
	c.State = "BY"
	c.UseTimes = map[string]string{"monday": "07:00-16:00", "tue": "16:00-07:00", "wed": "07:00-12:00,11:00-13:00", "thu": "7-16", "fri": "00:00-24:00"}
	c.SchoolHolidays = []Period{{From: "2026-01-05", To: "2026-01-01"}}
	c.Sites = []SiteConfig{{ID: "a", Closures: []Period{{From: "x", To: "2026-01-01"}}}, {ID: "a"}, {}}
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`calendar.state: "BY" is not supported`,
		"calendar.use_times.monday: not a weekday",
		`calendar.use_times.tue: "16:00-07:00" ends before it starts`,
		"overlaps",
		`calendar.use_times.thu: "7" is not a time HH:MM`,
		"calendar.school_holidays[0]: to 2026-01-01 is before from 2026-01-05",
		`calendar.sites[0].closures[0]: from: "x" is not a date`,
		`calendar.sites[1].id: "a" listed twice`,
		"calendar.sites[2].id: required",
	} {
		require.Contains(t, err.Error(), want)
	}
	require.NotContains(t, err.Error(), "use_times.fri", "00:00-24:00 is a whole day")
	_, err = New(c)
	require.Error(t, err)
}

func TestValidateRefs(t *testing.T) {
	c := DefaultConfig()
	c.Sites = []SiteConfig{{ID: "b1"}, {ID: "road"}, {ID: "nope"}}
	err := c.ValidateRefs([]site.Site{{ID: "b1", Kind: site.Building}, {ID: "road", Kind: site.Road}})
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), `calendar.sites[1].id: site "road" is a road, not a building`))
	require.Contains(t, err.Error(), `calendar.sites[2].id: unknown site "nope"`)
}

func TestDateJSON(t *testing.T) {
	d := NewDate(2026, 12, 31)
	b, err := d.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, `"2026-12-31"`, string(b))
	var e Date
	require.NoError(t, e.UnmarshalJSON(b))
	require.Equal(t, d, e)
	require.Error(t, e.UnmarshalJSON([]byte(`"31.12.2026"`)))
	require.Equal(t, time.Thursday, d.Weekday())
	require.Equal(t, 1, NewDate(2027, 1, 1).Sub(d))
}

func FuzzParseSchoolYear(f *testing.F) {
	b, err := schoolFiles.ReadFile("schoolholidays/nw-2026.yaml")
	require.NoError(f, err)
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		sy, err := ParseSchoolYear(in)
		if err != nil {
			return
		}
		for _, p := range sy.Holidays {
			_, _, err := p.span()
			require.NoError(t, err)
		}
	})
}
