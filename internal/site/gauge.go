package site

import (
	"errors"
	"fmt"
	"time"
)

// GaugeSite is what a river gauge adds to a site: where its sensor sits
// relative to the gauge zero (Pegelnullpunkt), so that its readings become
// a water level, and how fast the level may plausibly change.
type GaugeSite struct {
	// River is the water body ("Rur", "Wurm").
	River string `mapstructure:"river" yaml:"river" json:"river,omitempty"`
	// MountingHeight is the height of a distance sensor (ultrasonic,
	// radar) above the gauge zero in m: water_level = MountingHeight -
	// distance.
	MountingHeight float64 `mapstructure:"mounting_height_m" yaml:"mounting_height_m" json:"mounting_height_m,omitempty"`
	// SensorHeight is the height of a submerged pressure sensor above the
	// gauge zero in m (negative below it): water_level = SensorHeight +
	// pressure head.
	SensorHeight *float64 `mapstructure:"sensor_height_m" yaml:"sensor_height_m" json:"sensor_height_m,omitempty"`
	// MaxRate is the fastest plausible change of the level in cm/h
	// (default 100): a reading that jumps further from the last plausible
	// one is kept but marked implausible.
	MaxRate float64 `mapstructure:"max_rate_cm_h" yaml:"max_rate_cm_h" json:"max_rate_cm_h,omitempty"`
	// RateWindow is the window of the derived water_level_rate (default
	// 1h).
	RateWindow time.Duration `mapstructure:"rate_window" yaml:"rate_window" json:"rate_window,omitempty"`
}

// Gauge defaults.
const (
	DefaultMaxRate    = 100.0 // cm/h
	DefaultRateWindow = time.Hour
)

// MaxRateOrDefault returns MaxRate or its default.
func (g GaugeSite) MaxRateOrDefault() float64 {
	if g.MaxRate == 0 {
		return DefaultMaxRate
	}
	return g.MaxRate
}

// RateWindowOrDefault returns RateWindow or its default.
func (g GaugeSite) RateWindowOrDefault() time.Duration {
	if g.RateWindow == 0 {
		return DefaultRateWindow
	}
	return g.RateWindow
}

func (g GaugeSite) validate() []error {
	var errs []error
	if g.MountingHeight < 0 || g.MountingHeight > 100 {
		errs = append(errs, fmt.Errorf("mounting_height_m: %g is outside 0..100", g.MountingHeight))
	}
	if g.MountingHeight == 0 && g.SensorHeight == nil {
		errs = append(errs, errors.New("mounting_height_m or sensor_height_m: a gauge needs one to turn readings into a level"))
	}
	if g.SensorHeight != nil && (*g.SensorHeight < -100 || *g.SensorHeight > 100) {
		errs = append(errs, fmt.Errorf("sensor_height_m: %g is outside -100..100", *g.SensorHeight))
	}
	if g.MaxRate < 0 {
		errs = append(errs, errors.New("max_rate_cm_h: must not be negative"))
	}
	if g.RateWindow < 0 {
		errs = append(errs, errors.New("rate_window: must not be negative"))
	}
	return errs
}
