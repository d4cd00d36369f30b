package store

import (
	"errors"
	"fmt"
	"time"
)

// Config is the store section of the daemon's configuration.
type Config struct {
	// CommitInterval is the longest time between two fsyncs of the log
	// while appends arrive (group commit; at once when idle); a power cut
	// loses at most this.
	CommitInterval time.Duration `mapstructure:"commit_interval"`
	// DiskBudget caps the bytes used by chunks and log; above it the oldest
	// data is evicted. 0 means no cap.
	DiskBudget int64 `mapstructure:"disk_budget_bytes"`
}

// DefaultConfig returns the defaults: a 10 ms commit interval, which keeps
// uplink-to-stored latency near the network's dedup window (200 ms writes
// the flash less when many devices send often), and no disk budget.
func DefaultConfig() Config {
	return Config{CommitInterval: 10 * time.Millisecond}
}

// Validate reports every problem at once, each prefixed with its key path.
func (c Config) Validate() error {
	var errs []error
	if c.CommitInterval <= 0 || c.CommitInterval > time.Second {
		errs = append(errs, fmt.Errorf("store.commit_interval: %s is outside (0, 1s]: a power cut loses at most this much", c.CommitInterval))
	}
	if c.DiskBudget < 0 {
		errs = append(errs, errors.New("store.disk_budget_bytes: must not be negative"))
	}
	return errors.Join(errs...)
}
