package calendar

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a civil day (no time zone), counted in days since 1970-01-01.
// Days of use, holidays and closures are civil days; Time gives their
// start in a location.
type Date int32

// NewDate returns the civil date year-month-day (normalised like
// time.Date).
func NewDate(year int, month time.Month, day int) Date {
	return Date(time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return NewDate(y, m, d)
}

// ParseDate parses 2006-01-02 between the years 1970 and 2200.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a date 2006-01-02", s)
	}
	if t.Year() < 1970 || t.Year() > 2200 {
		return 0, fmt.Errorf("%q: year not between 1970 and 2200", s)
	}
	return DateOf(t), nil
}

func (d Date) utc() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Time returns the start of d in loc.
func (d Date) Time(loc *time.Location) time.Time {
	y, m, dd := d.utc().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// Year returns d's year.
func (d Date) Year() int { return d.utc().Year() }

// Weekday returns d's day of the week.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// AddDays returns d shifted by n days.
func (d Date) AddDays(n int) Date { return d + Date(n) }

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d < e }

// Sub returns the number of days from e to d.
func (d Date) Sub(e Date) int { return int(d - e) }

// String formats d as 2006-01-02.
func (d Date) String() string { return d.utc().Format(time.DateOnly) }

// MarshalJSON writes d as "2006-01-02".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "2006-01-02".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: %w", err)
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
