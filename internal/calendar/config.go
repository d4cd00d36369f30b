package calendar

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/loraedge/loraedge/internal/site"
)

// Config is the calendar of use (key `calendar` in loraedge.yaml).
type Config struct {
	// State selects the public holidays and the built-in school holidays.
	// Only "NW" (North Rhine-Westphalia) is supported.
	State string `mapstructure:"state" yaml:"state"`
	// SchoolHolidays adds school holiday periods to the built-in files,
	// for years they do not cover yet.
	SchoolHolidays []Period `mapstructure:"school_holidays" yaml:"school_holidays"`
	// UseTimes are the opening hours of every building not listed in
	// Sites, per weekday (mon..sun): "07:00-16:00", several ranges
	// separated by commas, "" for a day without use.
	UseTimes map[string]string `mapstructure:"use_times" yaml:"use_times"`
	// Sites override use times and add closures per building.
	Sites []SiteConfig `mapstructure:"sites" yaml:"sites"`
}

// SiteConfig is one building's calendar.
type SiteConfig struct {
	ID string `mapstructure:"id" yaml:"id"`
	// UseTimes replace Config.UseTimes for this building (weekdays not
	// listed have no use).
	UseTimes map[string]string `mapstructure:"use_times" yaml:"use_times"`
	// ClosedInSchoolHolidays marks schools: a school holiday is a day
	// without use.
	ClosedInSchoolHolidays bool `mapstructure:"closed_in_school_holidays" yaml:"closed_in_school_holidays"`
	// Closures are days without use (renovation, summer closure).
	Closures []Period `mapstructure:"closures" yaml:"closures"`
}

// DefaultConfig is NRW with Monday to Friday 07:00-18:00 as use time.
func DefaultConfig() Config {
	day := "07:00-18:00"
	return Config{State: "NW", UseTimes: map[string]string{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}}
}

// weekdayKeys maps the configuration's weekday keys to time.Weekday
// indices.
var weekdayKeys = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// span is a use time range within a day in minutes, [From, To).
type span struct{ From, To int }

// week holds a building's use spans per weekday (time.Weekday index).
type week [7][]span

// parseWeek parses use times keyed by weekday.
func parseWeek(m map[string]string) (week, []error) {
	var w week
	var errs []error
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i, ok := weekdayKeys[strings.ToLower(k)]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: not a weekday (mon, tue, wed, thu, fri, sat, sun)", k))
			continue
		}
		spans, err := parseSpans(m[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
		}
		w[i] = spans
	}
	return w, errs
}

// parseSpans parses "07:00-12:00,13:00-17:00"; ranges must be ascending
// and must not overlap.
func parseSpans(s string) ([]span, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []span
	for _, part := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			return nil, fmt.Errorf("%q is not a range HH:MM-HH:MM", part)
		}
		from, err := parseClock(a)
		if err != nil {
			return nil, err
		}
		to, err := parseClock(b)
		if err != nil {
			return nil, err
		}
		if to <= from {
			return nil, fmt.Errorf("%q ends before it starts (ranges stay within one day)", part)
		}
		if len(out) > 0 && from < out[len(out)-1].To {
			return nil, fmt.Errorf("%q overlaps or precedes the range before it", part)
		}
		out = append(out, span{from, to})
	}
	return out, nil
}

// parseClock parses HH:MM, 00:00..24:00, into minutes.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, fmt.Errorf("%q is not a time HH:MM between 00:00 and 24:00", s)
	}
	return hh*60 + mm, nil
}

// Validate reports every problem of c at once, each with its key path.
func (c Config) Validate() error {
	var errs []error
	add := func(path string, err error) {
		if err == nil { // path carries the message
			errs = append(errs, fmt.Errorf("calendar.%s", path))
			return
		}
		errs = append(errs, fmt.Errorf("calendar.%s: %w", path, err))
	}
	if c.State != "NW" {
		add("state", fmt.Errorf("%q is not supported: public and school holidays are known for NW only", c.State))
	}
	for i, p := range c.SchoolHolidays {
		if _, _, err := p.span(); err != nil {
			add(fmt.Sprintf("school_holidays[%d]", i), err)
		}
	}
	_, werrs := parseWeek(c.UseTimes)
	for _, err := range werrs {
		add("use_times."+err.Error(), nil)
	}
	ids := map[string]bool{}
	for i, s := range c.Sites {
		p := fmt.Sprintf("sites[%d]", i)
		if s.ID == "" {
			add(p+".id", errors.New("required"))
		} else if ids[s.ID] {
			add(p+".id", fmt.Errorf("%q listed twice", s.ID))
		}
		ids[s.ID] = true
		_, werrs := parseWeek(s.UseTimes)
		for _, err := range werrs {
			add(p+".use_times."+err.Error(), nil)
		}
		for j, cl := range s.Closures {
			if _, _, err := cl.span(); err != nil {
				add(fmt.Sprintf("%s.closures[%d]", p, j), err)
			}
		}
	}
	return errors.Join(errs...)
}

// ValidateRefs checks that every configured site is a building of the
// top-level sites list; internal/config calls it.
func (c Config) ValidateRefs(sites []site.Site) error {
	kind := map[string]site.Kind{}
	for _, s := range sites {
		kind[s.ID] = s.Kind
	}
	var errs []error
	for i, s := range c.Sites {
		switch k, ok := kind[s.ID]; {
		case s.ID == "":
		case !ok:
			errs = append(errs, fmt.Errorf("calendar.sites[%d].id: unknown site %q", i, s.ID))
		case k != site.Building:
			errs = append(errs, fmt.Errorf("calendar.sites[%d].id: site %q is a %s, not a building", i, s.ID, k))
		}
	}
	return errors.Join(errs...)
}
