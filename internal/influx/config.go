package influx

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config is the influx section of the daemon's configuration.
type Config struct {
	Enabled bool `mapstructure:"enabled"`
	// URL is the HTTP API base, e.g. http://influx.example:8086.
	URL string `mapstructure:"url"`
	// Token is an InfluxDB 2.x API token, or "user:password" for InfluxDB
	// 1.8 (empty when its auth is off). It is never logged.
	Token string `mapstructure:"token"`
	// Org is the 2.x organisation; 1.8 ignores it.
	Org string `mapstructure:"org"`
	// Bucket is the 2.x bucket, or "database/retention-policy" for 1.8.
	Bucket string `mapstructure:"bucket"`
	// BatchSize is the most points in one write request.
	BatchSize int `mapstructure:"batch_size"`
	// FlushInterval is how long the sink waits for a batch to fill once it
	// has a first point: latency against the number of requests.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Timeout bounds one HTTP request.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxBackoff caps the wait between retries of a failed write.
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
	// TLSInsecureSkipVerify accepts any server certificate (self-signed
	// servers on a LAN); prefer a proper CA.
	TLSInsecureSkipVerify bool `mapstructure:"tls_insecure_skip_verify"`
	// GatewayTag writes the instance's gateway_id as a "gateway" tag. Off by
	// default: a tag is part of the series key, so two gateways storing one
	// reading made two series and doubled every sum. Each reading has one
	// writer in a county network (the device's home), and who wrote it is not
	// a property of the reading. Not a string field either, which would
	// break sum() and mean() over a whole measurement. On only for a single
	// gateway whose dashboards filter by the tag.
	GatewayTag bool `mapstructure:"gateway_tag"`
}

// DefaultConfig returns the defaults: disabled, 5000-point batches flushed
// at least every second, 10 s request timeout, backoff up to 1 min.
func DefaultConfig() Config {
	return Config{
		URL:           "http://127.0.0.1:8086",
		Org:           "-",
		Bucket:        "loraedge/autogen",
		BatchSize:     5000,
		FlushInterval: time.Second,
		Timeout:       10 * time.Second,
		MaxBackoff:    time.Minute,
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
	}
	if c.Bucket == "" {
		add("bucket", "required (\"database/retention-policy\" for InfluxDB 1.8)")
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		add("batch_size", "%d is outside 1..100000", c.BatchSize)
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
	return errors.Join(errs...)
}
