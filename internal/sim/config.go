package sim

import (
	"errors"
	"fmt"
)

// Config is the simulator section of the daemon's configuration: virtual
// gateways and devices run inside the daemon for demos and tests.
type Config struct {
	Enabled bool `mapstructure:"enabled"`
	// Scenario is one of Scenarios().
	Scenario string `mapstructure:"scenario"`
	// Speed is virtual seconds per real second.
	Speed float64 `mapstructure:"speed"`
	// Gateways is the number of virtual gateways.
	Gateways int `mapstructure:"gateways"`
}

// DefaultConfig returns the defaults: off; when on, every scenario at 600
// virtual seconds per real second (a minute per 100 ms) through three
// gateways, so deduplication has copies to merge.
func DefaultConfig() Config {
	return Config{Scenario: "all", Speed: 600, Gateways: 3}
}

// Validate reports every problem at once, each prefixed with its key path.
// The scenario name is checked by whoever runs the simulator, as it
// matters only then.
func (c Config) Validate() error {
	var errs []error
	if c.Speed <= 0 {
		errs = append(errs, fmt.Errorf("simulator.speed: must be positive, is %g", c.Speed))
	}
	if c.Gateways < 1 || c.Gateways > 16 {
		errs = append(errs, fmt.Errorf("simulator.gateways: %d is outside 1..16", c.Gateways))
	}
	return errors.Join(errs...)
}
