package semtechudp

import (
	"errors"
	"fmt"
	"time"
)

// Config is the udp section of the daemon's configuration: the GWMP
// listener for packet forwarders.
type Config struct {
	// Listen is the UDP address, e.g. ":1700" or "127.0.0.1:0".
	Listen string `mapstructure:"listen"`
	// QueueSize is the capacity of Frames(); frames beyond it are dropped
	// and counted.
	QueueSize int `mapstructure:"queue_size"`
	// ReadBuffer is the socket receive buffer; bursts beyond it are dropped
	// by the kernel (capped by net.core.rmem_max).
	ReadBuffer int `mapstructure:"read_buffer_bytes"`
	// PullMoveAfter is how long the IP a gateway's downlinks are pinned to
	// must be silent before PULL_DATA from another IP may take them; longer
	// than the forwarder's keepalive (keepalive_interval, typically 10 s).
	PullMoveAfter time.Duration `mapstructure:"pull_move_after"`
	// PullMoveCount is how many PULL_DATA in a row from the new IP, after
	// that silence, move the downlinks there.
	PullMoveCount int `mapstructure:"pull_move_count"`
	// GPSTime decides when an rxpk's GPS time is the frame's time.
	GPSTime GPSTimeConfig `mapstructure:"gps_time"`
}

// GPSTimeConfig is udp.gps_time. An rxpk "time" is used only when it is
// consistent: it advances with tmst since the gateway's previous timed rxpk
// (within MaxTmstDrift) and lies within MaxHostSkew of the host clock.
// Otherwise the frame carries no GPS time and the reception time is used.
type GPSTimeConfig struct {
	// MaxHostSkew bounds |rxpk time - host clock|.
	MaxHostSkew time.Duration `mapstructure:"max_host_skew"`
	// MaxTmstDrift bounds how far the rxpk time may advance differently
	// from tmst between two rxpk of one gateway.
	MaxTmstDrift time.Duration `mapstructure:"max_tmst_drift"`
	// IgnoreHostClock switches the host check off, for replaying recorded
	// traffic whose times lie in the past.
	IgnoreHostClock bool `mapstructure:"ignore_host_clock"`
}

// DefaultConfig returns the defaults: port 1700 on loopback only (GWMP has
// no authentication; the forwarder runs on the same gateway), 4096
// queued frames, a 4 MiB receive buffer to absorb bursts, and GPS times
// trusted within 10 minutes of the host clock and 100 ms of tmst (the
// concentrator's crystal drifts some 10 ppm, 36 ms an hour). A gateway's
// downlinks move to another IP after 2 minutes of silence of the old one
// and 3 PULL_DATA from the new one.
func DefaultConfig() Config {
	return Config{Listen: "127.0.0.1:1700", QueueSize: 4096, ReadBuffer: 4 << 20,
		PullMoveAfter: 2 * time.Minute, PullMoveCount: 3,
		GPSTime: GPSTimeConfig{MaxHostSkew: 10 * time.Minute, MaxTmstDrift: 100 * time.Millisecond}}
}

// Validate reports every problem at once, each prefixed with its key path.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("udp.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Listen == "" {
		add("listen", "required, e.g. \"127.0.0.1:1700\"")
	}
	if c.ReadBuffer < 64<<10 || c.ReadBuffer > 256<<20 {
		add("read_buffer_bytes", "%d is outside 64 KiB..256 MiB", c.ReadBuffer)
	}
	if c.QueueSize < 1 {
		add("queue_size", "must be at least 1, is %d", c.QueueSize)
	}
	if d := c.PullMoveAfter; d < 20*time.Second || d > 24*time.Hour {
		add("pull_move_after", "%s is outside 20s..24h (it must exceed the forwarder's keepalive)", d)
	}
	if n := c.PullMoveCount; n < 2 || n > 100 {
		add("pull_move_count", "%d is outside 2..100", n)
	}
	if d := c.GPSTime.MaxHostSkew; d < time.Second || d > 24*time.Hour {
		add("gps_time.max_host_skew", "%s is outside 1s..24h (set gps_time.ignore_host_clock to replay old traffic)", d)
	}
	if d := c.GPSTime.MaxTmstDrift; d < time.Millisecond || d > 10*time.Second {
		add("gps_time.max_tmst_drift", "%s is outside 1ms..10s", d)
	}
	return errors.Join(errs...)
}
