// Package calendar knows when a public building is in use: opening hours
// per weekday, the public holidays of North Rhine-Westphalia (computed from
// Easter and fixed dates), the school holidays of NRW (data files per year
// with their source, embedded; no network access), and closures per
// building. The energy baseline models and the waste rules ask it for a
// day's type and whether a moment lies in the use time.
package calendar

import (
	"fmt"
	"time"
)

// DayType classifies a day for a building, in this order of precedence:
// a closure, a public holiday, a weekend, a school holiday, else a working
// day.
type DayType string

// Day types.
const (
	WorkingDay    DayType = "working_day"
	Weekend       DayType = "weekend"
	PublicHoliday DayType = "holiday"
	SchoolHoliday DayType = "school_holiday"
	Closed        DayType = "closed"
)

// Day is what the calendar says about one building's day.
type Day struct {
	Date Date    `json:"date"`
	Type DayType `json:"type"`
	// Name is the holiday's or closure's name.
	Name string `json:"name,omitempty"`
	// UseHours is the building's use time on the day (0 when closed,
	// on holidays, and on school holidays of a school).
	UseHours float64 `json:"use_hours"`
}

// Calendar answers day types and use times; it is immutable and safe for
// concurrent use.
type Calendar struct {
	school      map[Date]string
	schoolYears map[int]bool
	sources     []string
	defaultWeek week
	sites       map[string]*siteCalendar
}

type siteCalendar struct {
	week         week
	schoolClosed bool
	closures     map[Date]string
}

// New builds a calendar from c (validated here).
func New(c Config) (*Calendar, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cal := &Calendar{school: map[Date]string{}, schoolYears: map[int]bool{}, sites: map[string]*siteCalendar{}}
	years, err := BuiltinSchoolYears(c.State)
	if err != nil {
		return nil, err
	}
	for _, sy := range years {
		cal.schoolYears[sy.Year] = true
		cal.sources = append(cal.sources, fmt.Sprintf("%s %d: %s", sy.State, sy.Year, sy.Source))
		for _, p := range sy.Holidays {
			cal.addSchool(p)
		}
	}
	for _, p := range c.SchoolHolidays {
		from := cal.addSchool(p)
		cal.schoolYears[from.Year()] = true
	}
	cal.defaultWeek, _ = parseWeek(c.UseTimes)
	for _, s := range c.Sites {
		sc := &siteCalendar{schoolClosed: s.ClosedInSchoolHolidays, closures: map[Date]string{}}
		sc.week, _ = parseWeek(s.UseTimes)
		if s.UseTimes == nil {
			sc.week = cal.defaultWeek
		}
		for _, p := range s.Closures {
			from, to, _ := p.span()
			for d := from; !to.Before(d); d++ {
				sc.closures[d] = p.Name
			}
		}
		cal.sites[s.ID] = sc
	}
	return cal, nil
}

func (c *Calendar) addSchool(p Period) Date {
	from, to, _ := p.span()
	for d := from; !to.Before(d); d++ {
		c.school[d] = p.Name
	}
	return from
}

// Holiday returns the name of the public holiday on d.
func (c *Calendar) Holiday(d Date) (string, bool) { return holidayOf(d) }

func holidayOf(d Date) (string, bool) {
	for _, h := range PublicHolidays(d.Year()) {
		if h.Date == d {
			return h.Name, true
		}
	}
	return "", false
}

// SchoolHolidayKnown reports whether school holidays starting in year are
// known (built in or configured); day types of years without them never
// say SchoolHoliday, and reports say so.
func (c *Calendar) SchoolHolidayKnown(year int) bool { return c.schoolYears[year] }

// Sources lists where the school holiday data comes from.
func (c *Calendar) Sources() []string { return append([]string(nil), c.sources...) }

func (c *Calendar) site(id string) *siteCalendar {
	if s, ok := c.sites[id]; ok {
		return s
	}
	return &siteCalendar{week: c.defaultWeek}
}

// Day returns what the calendar says about building siteID on d.
func (c *Calendar) Day(siteID string, d Date) Day {
	s := c.site(siteID)
	day := Day{Date: d, Type: WorkingDay}
	wd := d.Weekday()
	holiday, isHoliday := holidayOf(d)
	school, isSchool := c.school[d]
	switch closure, closed := s.closures[d]; {
	case closed:
		day.Type, day.Name = Closed, closure
	case isHoliday:
		day.Type, day.Name = PublicHoliday, holiday
	case wd == time.Saturday || wd == time.Sunday:
		day.Type = Weekend
	case isSchool:
		day.Type, day.Name = SchoolHoliday, school
	}
	if day.Type == Closed || day.Type == PublicHoliday || (isSchool && s.schoolClosed) {
		return day
	}
	for _, sp := range s.week[wd] {
		day.UseHours += float64(sp.To-sp.From) / 60
	}
	return day
}

// InUse reports whether building siteID is in use at t (t's location is
// the building's local time).
func (c *Calendar) InUse(siteID string, t time.Time) bool {
	d := DateOf(t)
	if c.Day(siteID, d).UseHours == 0 {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	for _, sp := range c.site(siteID).week[d.Weekday()] {
		if m >= sp.From && m < sp.To {
			return true
		}
	}
	return false
}
