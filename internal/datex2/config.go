package datex2

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Config is the datex2 section: who publishes, and how old a value may be
// to be published.
type Config struct {
	// Country is the publication creator's ISO 3166-1 alpha-2 code.
	Country string `mapstructure:"country"`
	// NationalIdentifier names the publication creator within its country,
	// e.g. the county's identifier at the national access point.
	NationalIdentifier string `mapstructure:"national_identifier"`
	// Lang is the language of the publications' texts (site names).
	Lang string `mapstructure:"lang"`
	// TableID identifies the measurement site table; the measured data
	// publication refers to it.
	TableID string `mapstructure:"table_id"`
	// MaxAge leaves out values older than this: a station that stopped
	// reporting is not shown with yesterday's road temperature.
	MaxAge time.Duration `mapstructure:"max_age"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Country: "DE", NationalIdentifier: "loraedge", Lang: "de", TableID: "loraedge-road-weather", MaxAge: time.Hour}
}

var (
	countryCode = regexp.MustCompile(`^[A-Z]{2}$`)
	langCode    = regexp.MustCompile(`^[a-z]{2,3}$`)
)

// Validate reports every problem at once, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if !countryCode.MatchString(c.Country) {
		add("country", "%q is not an ISO 3166-1 alpha-2 code such as DE", c.Country)
	}
	if c.NationalIdentifier == "" {
		add("national_identifier", "required")
	}
	if !langCode.MatchString(c.Lang) {
		add("lang", "%q is not a language code such as de", c.Lang)
	}
	if c.TableID == "" {
		add("table_id", "required")
	}
	if c.MaxAge < time.Minute || c.MaxAge > 7*24*time.Hour {
		add("max_age", "%s is outside 1m..168h", c.MaxAge)
	}
	return errors.Join(errs...)
}
