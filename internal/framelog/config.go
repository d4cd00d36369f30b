package framelog

import (
	"errors"
	"fmt"
)

// Config is the frame_log section: how many frames are kept in memory.
type Config struct {
	// PerDevice is the number of frames kept per device.
	PerDevice int `mapstructure:"per_device"`
	// PerGateway is the number of frames kept per gateway.
	PerGateway int `mapstructure:"per_gateway"`
	// MaxDevices and MaxGateways bound the number of rings; the ring
	// written least recently goes first, so a flood of frames from
	// unknown devices cannot grow the log.
	MaxDevices  int `mapstructure:"max_devices"`
	MaxGateways int `mapstructure:"max_gateways"`
}

// DefaultConfig keeps 50 frames per device and 200 per gateway, for up to
// 1,000 devices and 64 gateways: at most about 10 MB of frames.
func DefaultConfig() Config {
	return Config{PerDevice: 50, PerGateway: 200, MaxDevices: 1000, MaxGateways: 64}
}

// Validate reports every problem at once, each with its key path.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		key      string
		v, lo, h int
	}{
		{"per_device", c.PerDevice, 1, 1000},
		{"per_gateway", c.PerGateway, 1, 10000},
		{"max_devices", c.MaxDevices, 1, 100000},
		{"max_gateways", c.MaxGateways, 1, 1024},
	} {
		if f.v < f.lo || f.v > f.h {
			errs = append(errs, fmt.Errorf("frame_log.%s: %d is outside %d..%d", f.key, f.v, f.lo, f.h))
		}
	}
	return errors.Join(errs...)
}
