package sensorthings

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/mqttclient"
)

// Config is the sensorthings section of the daemon's configuration.
type Config struct {
	Enabled bool `mapstructure:"enabled"`
	// URL is the service root with its version, e.g.
	// https://udp.example.de/FROST-Server/v1.1.
	URL string `mapstructure:"url"`
	// Version is the API version the server speaks: "1.0" or "1.1". In 1.0
	// only Things have properties, so the other entities are found by
	// their name (Locations, Sensors, Datastreams) or definition
	// (ObservedProperties).
	Version string `mapstructure:"version"`
	// Username and Password are HTTP basic auth; Token a bearer token
	// instead. Never logged.
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
	Token    string `mapstructure:"token"`
	// BatchSize is the most observations in one CreateObservations request.
	BatchSize int `mapstructure:"batch_size"`
	// FlushInterval is how long the sink waits for a batch to fill once it
	// has a first observation.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Timeout bounds one HTTP request.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxBackoff caps the wait between retries of a failed request.
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
	// TLSInsecureSkipVerify accepts any server certificate; prefer a CA.
	TLSInsecureSkipVerify bool `mapstructure:"tls_insecure_skip_verify"`
	// MQTTURL, when set, is the server's MQTT interface (tcp:// or ssl://):
	// observations are then published there and confirmed by reading them
	// back over HTTP; entities are still created over HTTP.
	MQTTURL string `mapstructure:"mqtt_url"`
	// ConfirmTimeout is how long published observations may take to show
	// on the server; those that do not are sent over HTTP.
	ConfirmTimeout time.Duration `mapstructure:"confirm_timeout"`
}

// DefaultConfig returns the defaults: disabled, SensorThings 1.1, batches
// of 500 observations flushed at least every 2 s, 15 s request timeout,
// backoff up to 1 min.
func DefaultConfig() Config {
	return Config{
		URL:            "http://127.0.0.1:8080/FROST-Server/v1.1",
		Version:        "1.1",
		BatchSize:      500,
		FlushInterval:  2 * time.Second,
		Timeout:        15 * time.Second,
		MaxBackoff:     time.Minute,
		ConfirmTimeout: 10 * time.Second,
	}
}

// Validate reports every problem at once, each prefixed with its key
// (relative to the section). A disabled sink is not checked.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("url", "%q is not an http(s) URL", c.URL)
	} else if u.RawQuery != "" || u.Fragment != "" {
		add("url", "%q: the service root takes no query or fragment", c.URL)
	} else if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/v"+c.Version) {
		add("url", "%q does not end in the version path /v%s", c.URL, c.Version)
	}
	if c.Version != "1.0" && c.Version != "1.1" {
		add("version", "%q is not 1.0 or 1.1", c.Version)
	}
	if c.Token != "" && (c.Username != "" || c.Password != "") {
		add("token", "set either token or username/password, not both")
	}
	if c.Password != "" && c.Username == "" {
		add("username", "required with password")
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		add("batch_size", "%d is outside 1..10000", c.BatchSize)
	}
	if c.FlushInterval < 10*time.Millisecond || c.FlushInterval > time.Hour {
		add("flush_interval", "%s is outside 10ms..1h", c.FlushInterval)
	}
	if c.Timeout < 100*time.Millisecond || c.Timeout > 10*time.Minute {
		add("timeout", "%s is outside 100ms..10m", c.Timeout)
	}
	if c.MaxBackoff < 10*time.Millisecond || c.MaxBackoff > time.Hour {
		add("max_backoff", "%s is outside 10ms..1h", c.MaxBackoff)
	}
	if c.MQTTURL != "" {
		if err := mqttclient.ValidateURL(c.MQTTURL); err != nil {
			add("mqtt_url", "%v", err)
		}
		if c.Token != "" {
			add("mqtt_url", "the MQTT interface takes username and password, not a token")
		}
	}
	if c.ConfirmTimeout < 100*time.Millisecond || c.ConfirmTimeout > 10*time.Minute {
		add("confirm_timeout", "%s is outside 100ms..10m", c.ConfirmTimeout)
	}
	return errors.Join(errs...)
}

// root returns the service root without a trailing slash.
func (c Config) root() string { return strings.TrimSuffix(c.URL, "/") }
