// Package mqttclient is the broker connection that the MQTT sink (package
// mqtt) and the MQTT source (package mqttin) share: the connection
// settings of their configuration sections and their checks, paho client
// options with TLS, one connection and the signal of its loss, and the
// loop that reconnects with exponential backoff until its context ends.
package mqttclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"
)

// Config is the broker connection part of a configuration section. The
// sections embed it with `mapstructure:",squash"`, so its keys stay at the
// section's top level (mqtt.url, mqttin.url).
type Config struct {
	// URL of the broker: tcp://host:1883, ssl://host:8883 (or tls://),
	// ws:// or wss://.
	URL string `mapstructure:"url"`
	// ClientID must be stable: the broker keeps the persistent session
	// (subscriptions, queued messages) under it. Each section has its own
	// default.
	ClientID string    `mapstructure:"client_id"`
	Username string    `mapstructure:"username"`
	Password string    `mapstructure:"password"`
	TLS      TLSConfig `mapstructure:"tls"`

	KeepAlive      time.Duration `mapstructure:"keepalive"`       // 30s
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"` // 10s
	// BackoffMin and BackoffMax bound the exponential reconnect backoff
	// (500ms, 30s).
	BackoffMin time.Duration `mapstructure:"backoff_min"`
	BackoffMax time.Duration `mapstructure:"backoff_max"`
}

// TLSConfig configures TLS towards a broker; empty fields take the system
// roots and no client certificate.
type TLSConfig struct {
	CAFile             string `mapstructure:"ca_file"`
	CertFile           string `mapstructure:"cert_file"`
	KeyFile            string `mapstructure:"key_file"`
	ServerName         string `mapstructure:"server_name"`
	InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify"`
}

// DefaultConfig is the connection with every default filled in except the
// client id, which each section derives from the gateway.
func DefaultConfig() Config {
	return Config{
		URL:            "tcp://127.0.0.1:1883",
		KeepAlive:      30 * time.Second,
		ConnectTimeout: 10 * time.Second,
		BackoffMin:     500 * time.Millisecond,
		BackoffMax:     30 * time.Second,
	}
}

// WithDefaults fills zero or negative durations.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&c.KeepAlive, d.KeepAlive)
	def(&c.ConnectTimeout, d.ConnectTimeout)
	def(&c.BackoffMin, d.BackoffMin)
	def(&c.BackoffMax, d.BackoffMax)
	return c
}

// Validate reports every problem of the settings both sections check, each
// prefixed with its key: url, backoff_min against backoff_max, tls.
func (c Config) Validate() error {
	var errs []error
	if err := ValidateURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	if c.BackoffMin > 0 && c.BackoffMax > 0 && c.BackoffMin > c.BackoffMax {
		errs = append(errs, errors.New("backoff_min: larger than backoff_max"))
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("tls: %w", err))
	}
	return errors.Join(errs...)
}

// ValidateURL checks a broker URL as paho understands it.
func ValidateURL(raw string) error {
	if raw == "" {
		return errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "ws", "wss":
	default:
		return fmt.Errorf("scheme %q is not tcp, ssl, tls, ws or wss", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host")
	}
	return nil
}

// Validate checks that the files exist and come in pairs.
func (t TLSConfig) Validate() error {
	var errs []error
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, errors.New("cert_file and key_file go together"))
	}
	for name, f := range map[string]string{"ca_file": t.CAFile, "cert_file": t.CertFile, "key_file": t.KeyFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Build returns the tls.Config, nil when nothing is configured (paho then
// uses its defaults for ssl:// URLs).
func (t TLSConfig) Build() (*tls.Config, error) {
	if t == (TLSConfig{}) {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // an explicit operator choice for test brokers
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificates", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
