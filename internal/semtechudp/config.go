package semtechudp

import (
	"errors"
	"fmt"
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
}

// DefaultConfig returns the defaults: port 1700 on every address, 4096
// queued frames and a 4 MiB receive buffer to absorb bursts.
func DefaultConfig() Config {
	return Config{Listen: ":1700", QueueSize: 4096, ReadBuffer: 4 << 20}
}

// Validate reports every problem at once, each prefixed with its key path.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("udp.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Listen == "" {
		add("listen", "required, e.g. \":1700\"")
	}
	if c.ReadBuffer < 64<<10 || c.ReadBuffer > 256<<20 {
		add("read_buffer_bytes", "%d is outside 64 KiB..256 MiB", c.ReadBuffer)
	}
	if c.QueueSize < 1 {
		add("queue_size", "must be at least 1, is %d", c.QueueSize)
	}
	return errors.Join(errs...)
}
