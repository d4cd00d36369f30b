package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Config is the mqtt section of the daemon configuration.
type Config struct {
	Enabled bool `mapstructure:"enabled"`
	// URL of the broker: tcp://host:1883, ssl://host:8883 (or tls://),
	// ws:// or wss://.
	URL string `mapstructure:"url"`
	// Gateway names this daemon in every topic (loraedge/<gateway>/...);
	// the daemon sets it from its gateway_id, so it is no key of its own.
	Gateway string `mapstructure:"-"`
	// TopicPrefix is the first topic level; default "loraedge".
	TopicPrefix string `mapstructure:"topic_prefix"`
	// ClientID must be stable: the broker keeps the session (command
	// subscription, queued commands) under it. Default "loraedge-<gateway>".
	ClientID string    `mapstructure:"client_id"`
	Username string    `mapstructure:"username"`
	Password string    `mapstructure:"password"`
	TLS      TLSConfig `mapstructure:"tls"`

	KeepAlive      time.Duration `mapstructure:"keepalive"`       // 30s
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"` // 10s
	// PublishTimeout bounds the wait for the PUBACKs of one batch; after it
	// the batch is sent again on a new connection. Default 30s.
	PublishTimeout time.Duration `mapstructure:"publish_timeout"`
	// BackoffMin and BackoffMax bound the exponential reconnect backoff
	// (500ms, 30s).
	BackoffMin time.Duration `mapstructure:"backoff_min"`
	BackoffMax time.Duration `mapstructure:"backoff_max"`
	// BatchSize is the most log records published before waiting for their
	// PUBACKs and committing the cursor (256).
	BatchSize int `mapstructure:"batch_size"`
	// UplinkQueue bounds the live uplink events waiting to be published
	// (1024); a full queue drops and counts.
	UplinkQueue int `mapstructure:"uplink_queue"`
	// UplinkPayload adds the decrypted FRMPayload (base64 "data") to the
	// uplink events, which lets a central loraedge (mqttin format
	// "loraedge") decode them. Default true.
	UplinkPayload bool `mapstructure:"uplink_payload"`
	// Commands accepts downlink commands on
	// <prefix>/<gateway>/device/+/command/down. Default true.
	Commands bool `mapstructure:"commands"`
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

// DefaultConfig is the configuration with every default filled in
// (disabled).
func DefaultConfig() Config {
	return Config{
		URL:            "tcp://127.0.0.1:1883",
		Gateway:        "gateway",
		TopicPrefix:    "loraedge",
		KeepAlive:      30 * time.Second,
		ConnectTimeout: 10 * time.Second,
		PublishTimeout: 30 * time.Second,
		BackoffMin:     500 * time.Millisecond,
		BackoffMax:     30 * time.Second,
		BatchSize:      256,
		UplinkQueue:    1024,
		UplinkPayload:  true,
		Commands:       true,
	}
}

// withDefaults fills zero durations and sizes; booleans are taken as set.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.TopicPrefix == "" {
		c.TopicPrefix = d.TopicPrefix
	}
	if c.ClientID == "" {
		c.ClientID = "loraedge-" + c.Gateway
	}
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&c.KeepAlive, d.KeepAlive)
	def(&c.ConnectTimeout, d.ConnectTimeout)
	def(&c.PublishTimeout, d.PublishTimeout)
	def(&c.BackoffMin, d.BackoffMin)
	def(&c.BackoffMax, d.BackoffMax)
	if c.BatchSize <= 0 {
		c.BatchSize = d.BatchSize
	}
	if c.UplinkQueue <= 0 {
		c.UplinkQueue = d.UplinkQueue
	}
	return c
}

// Validate reports every problem at once. A disabled section is not
// checked.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if err := ValidateURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	}
	if err := validLevel(c.Gateway); err != nil {
		errs = append(errs, fmt.Errorf("gateway: %w", err))
	}
	if c.TopicPrefix != "" {
		if err := validLevel(c.TopicPrefix); err != nil {
			errs = append(errs, fmt.Errorf("topic_prefix: %w", err))
		}
	}
	if c.KeepAlive < 0 || c.ConnectTimeout < 0 || c.PublishTimeout < 0 || c.BackoffMin < 0 || c.BackoffMax < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if c.BackoffMin > 0 && c.BackoffMax > 0 && c.BackoffMin > c.BackoffMax {
		errs = append(errs, errors.New("backoff_min: larger than backoff_max"))
	}
	if c.KeepAlive > 0 && c.KeepAlive < time.Second {
		errs = append(errs, errors.New("keepalive: below 1s"))
	}
	if c.BatchSize < 0 || c.UplinkQueue < 0 {
		errs = append(errs, errors.New("batch_size, uplink_queue: must not be negative"))
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

// validLevel checks one topic level: non-empty, no wildcards, no slash.
func validLevel(s string) error {
	if s == "" {
		return errors.New("required")
	}
	if strings.ContainsAny(s, "+#/\x00") {
		return fmt.Errorf("%q must not contain +, #, / or NUL", s)
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

// ClientOptions are the paho options shared by the sink and mqttin:
// broker, identity, credentials, TLS, keepalive, persistent session and a
// memory store. Reconnecting is left to the caller.
func ClientOptions(url, clientID, username, password string, t TLSConfig, keepAlive, connectTimeout time.Duration) (*paho.ClientOptions, error) {
	tc, err := t.Build()
	if err != nil {
		return nil, err
	}
	o := paho.NewClientOptions().
		AddBroker(url).
		SetClientID(clientID).
		SetUsername(username).
		SetPassword(password).
		SetCleanSession(false).
		SetKeepAlive(keepAlive).
		SetPingTimeout(keepAlive/2 + time.Second).
		SetConnectTimeout(connectTimeout).
		SetWriteTimeout(connectTimeout).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetStore(paho.NewMemoryStore())
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	return o, nil
}
