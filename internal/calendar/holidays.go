package calendar

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Holiday is a public holiday.
type Holiday struct {
	Date Date   `json:"date"`
	Name string `json:"name"` // German name, as printed in calendars
}

// Easter returns Easter Sunday of the Gregorian calendar (the anonymous
// Gregorian algorithm, Meeus/Jones/Butcher).
func Easter(year int) Date {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return NewDate(year, time.Month(month), day)
}

// PublicHolidays returns the statutory public holidays of North
// Rhine-Westphalia in year (Feiertagsgesetz NW: the nine federal-wide days
// plus Fronleichnam and Allerheiligen), in date order. Easter Sunday and
// Whit Sunday are Sundays anyway and not listed.
func PublicHolidays(year int) []Holiday {
	e := Easter(year)
	hs := []Holiday{
		{NewDate(year, time.January, 1), "Neujahr"},
		{e.AddDays(-2), "Karfreitag"},
		{e.AddDays(1), "Ostermontag"},
		{NewDate(year, time.May, 1), "Tag der Arbeit"},
		{e.AddDays(39), "Christi Himmelfahrt"},
		{e.AddDays(50), "Pfingstmontag"},
		{e.AddDays(60), "Fronleichnam"},
		{NewDate(year, time.October, 3), "Tag der Deutschen Einheit"},
		{NewDate(year, time.November, 1), "Allerheiligen"},
		{NewDate(year, time.December, 25), "1. Weihnachtstag"},
		{NewDate(year, time.December, 26), "2. Weihnachtstag"},
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Date.Before(hs[j].Date) })
	return hs
}

// schoolFiles are the school holidays per state and year, one file each,
// with the source they were read from.
//
//go:embed schoolholidays/*.yaml
var schoolFiles embed.FS

// SchoolYear is one data file: the school holidays of a state whose first
// day falls in Year.
type SchoolYear struct {
	State    string   `yaml:"state" json:"state"`
	Year     int      `yaml:"year" json:"year"`
	Source   string   `yaml:"source" json:"source"`
	Holidays []Period `yaml:"holidays" json:"holidays"`
}

// Period is a named range of whole days, both ends inclusive, written as
// dates (2006-01-02).
type Period struct {
	Name string `mapstructure:"name" yaml:"name" json:"name"`
	From string `mapstructure:"from" yaml:"from" json:"from"`
	To   string `mapstructure:"to" yaml:"to" json:"to"`
}

// span parses p's dates.
func (p Period) span() (from, to Date, err error) {
	if from, err = ParseDate(p.From); err != nil {
		return from, to, fmt.Errorf("from: %w", err)
	}
	if to, err = ParseDate(p.To); err != nil {
		return from, to, fmt.Errorf("to: %w", err)
	}
	if to.Before(from) {
		return from, to, fmt.Errorf("to %s is before from %s", p.To, p.From)
	}
	if to.Sub(from) > 366 {
		return from, to, fmt.Errorf("%s..%s is longer than a year", p.From, p.To)
	}
	return from, to, nil
}

// BuiltinSchoolYears returns the embedded school holiday files of state
// (e.g. "NW"), by year ascending.
func BuiltinSchoolYears(state string) ([]SchoolYear, error) {
	names, err := fs.Glob(schoolFiles, "schoolholidays/"+strings.ToLower(state)+"-*.yaml")
	if err != nil {
		return nil, fmt.Errorf("school holidays: %w", err)
	}
	var out []SchoolYear
	for _, n := range names {
		b, err := schoolFiles.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("school holidays %s: %w", n, err)
		}
		sy, err := ParseSchoolYear(b)
		if err != nil {
			return nil, fmt.Errorf("school holidays %s: %w", n, err)
		}
		out = append(out, sy)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Year < out[j].Year })
	return out, nil
}

// ParseSchoolYear decodes and checks one school holiday file: known keys
// only, a source, valid periods starting in the file's year.
func ParseSchoolYear(b []byte) (SchoolYear, error) {
	var sy SchoolYear
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&sy); err != nil {
		return sy, fmt.Errorf("decode: %w", err)
	}
	if sy.State == "" || strings.TrimSpace(sy.Source) == "" {
		return sy, fmt.Errorf("state and source are required")
	}
	for i, p := range sy.Holidays {
		from, _, err := p.span()
		if err != nil {
			return sy, fmt.Errorf("holidays[%d]: %w", i, err)
		}
		if from.Year() != sy.Year {
			return sy, fmt.Errorf("holidays[%d]: starts %s, not in year %d", i, p.From, sy.Year)
		}
	}
	return sy, nil
}
