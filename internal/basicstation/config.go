package basicstation

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/brocaar/lorawan"
)

// Config is the basicstation section of the daemon's configuration. An
// empty Listen turns the LNS off.
type Config struct {
	// Listen is the TCP address of the LNS, e.g. ":8887"; "" is off.
	Listen string `mapstructure:"listen"`
	// URI is the base the router-info answer points routers to, e.g.
	// "wss://lns.example.org:8887"; empty means the host the router asked.
	URI string    `mapstructure:"uri"`
	TLS TLSConfig `mapstructure:"tls"`
	// MaxMessageBytes bounds one WebSocket message; a larger one closes the
	// router's connection.
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
	// MessagesPerSecond and Burst bound each router's message rate; a
	// message beyond it is dropped and counted.
	MessagesPerSecond float64 `mapstructure:"messages_per_second"`
	Burst             int     `mapstructure:"burst"`
	// QueueSize is the capacity of Frames(); frames beyond it are dropped
	// and counted.
	QueueSize int `mapstructure:"queue_size"`
	// DntxedTimeout is how long a downlink waits for the router's dntxed
	// before it counts as unconfirmed.
	DntxedTimeout time.Duration `mapstructure:"dntxed_timeout"`
	// Routers are the Basics Station gateways allowed to connect.
	Routers []RouterConfig `mapstructure:"routers"`
}

// TLSConfig is basicstation.tls: the server's certificate and the CA that
// signs the routers' client certificates (tc.crt).
type TLSConfig struct {
	CertFile     string `mapstructure:"cert_file"`
	KeyFile      string `mapstructure:"key_file"`
	ClientCAFile string `mapstructure:"client_ca_file"`
}

// RouterConfig is one allowed router. It authenticates with a client
// certificate from tls.client_ca_file whose subject common name is its
// EUI, or with the Authorization header its tc.key token file sends, the
// content of TokenFile.
type RouterConfig struct {
	ID        lorawan.EUI64 `mapstructure:"id"`
	Name      string        `mapstructure:"name"`
	TokenFile string        `mapstructure:"token_file"`
}

// DefaultConfig returns the defaults: off, 16 KiB messages (a router's
// largest, router_config aside, is well under 1 KiB), 20 messages a second
// with a burst of 100 per router, 4096 queued frames, 30 s for a dntxed.
func DefaultConfig() Config {
	return Config{MaxMessageBytes: 16 << 10, MessagesPerSecond: 20, Burst: 100, QueueSize: 4096,
		DntxedTimeout: 30 * time.Second, Routers: []RouterConfig{}}
}

// Enabled reports whether the LNS listens.
func (c Config) Enabled() bool { return c.Listen != "" }

// Validate reports every problem at once, each prefixed with its key path.
// The files named are read, so a missing one shows here and not at the
// first connection.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("basicstation.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if n := c.MaxMessageBytes; n < 1024 || n > 1<<20 {
		add("max_message_bytes", "%d is outside 1024..1048576", n)
	}
	if r := c.MessagesPerSecond; r <= 0 || r > 10000 {
		add("messages_per_second", "%g is outside (0, 10000]", r)
	}
	if c.Burst < 1 || c.Burst > 100000 {
		add("burst", "%d is outside 1..100000", c.Burst)
	}
	if c.QueueSize < 1 {
		add("queue_size", "must be at least 1, is %d", c.QueueSize)
	}
	if d := c.DntxedTimeout; d < time.Second || d > 10*time.Minute {
		add("dntxed_timeout", "%s is outside 1s..10m", d)
	}
	if c.URI != "" && !strings.HasPrefix(c.URI, "wss://") {
		add("uri", "%q must start with wss://", c.URI)
	}
	if !c.Enabled() {
		return errors.Join(errs...)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "%q is not host:port", c.Listen)
	}
	errs = append(errs, c.TLS.validate()...)
	errs = append(errs, c.validateRouters()...)
	return errors.Join(errs...)
}

func (t TLSConfig) validate() []error {
	var errs []error
	for _, f := range []struct{ key, path string }{{"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("basicstation.tls.%s: required: routers connect over TLS only", f.key))
		} else if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("basicstation.tls.%s: %w", f.key, err))
		}
	}
	if t.ClientCAFile != "" {
		if _, err := os.Stat(t.ClientCAFile); err != nil {
			errs = append(errs, fmt.Errorf("basicstation.tls.client_ca_file: %w", err))
		}
	}
	return errs
}

func (c Config) validateRouters() []error {
	var errs []error
	if len(c.Routers) == 0 {
		errs = append(errs, errors.New("basicstation.routers: required: list the routers allowed to connect"))
	}
	seen := map[lorawan.EUI64]bool{}
	for i, r := range c.Routers {
		key := fmt.Sprintf("basicstation.routers[%d]", i)
		switch {
		case r.ID == (lorawan.EUI64{}):
			errs = append(errs, fmt.Errorf("%s.id: required (the router EUI, 16 hex digits)", key))
		case seen[r.ID]:
			errs = append(errs, fmt.Errorf("%s.id: %s listed twice", key, r.ID))
		}
		seen[r.ID] = true
		if r.TokenFile == "" && c.TLS.ClientCAFile == "" {
			errs = append(errs, fmt.Errorf("%s: no credentials: set token_file or basicstation.tls.client_ca_file", key))
		}
		if r.TokenFile != "" {
			if _, err := readToken(r.TokenFile); err != nil {
				errs = append(errs, fmt.Errorf("%s.token_file: %w", key, err))
			}
		}
	}
	return errs
}

// readToken reads a token file: the token alone, or the header line a
// Basics Station tc.key holds ("Authorization: Bearer ..."), whose value is
// then the token.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the file
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if name, value, ok := strings.Cut(tok, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "authorization") {
		tok = strings.TrimSpace(value)
	}
	if len(tok) < 16 {
		return "", fmt.Errorf("%s: token shorter than 16 characters", path)
	}
	return tok, nil
}
