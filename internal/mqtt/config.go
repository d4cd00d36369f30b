package mqtt

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/mqttclient"
)

// Config is the mqtt section of the daemon configuration.
type Config struct {
	Enabled bool `mapstructure:"enabled"`
	// Config is the broker connection; ClientID defaults to
	// "loraedge-<gateway>".
	mqttclient.Config `mapstructure:",squash"`
	// Gateway names this daemon in every topic (loraedge/<gateway>/...);
	// the daemon sets it from its gateway_id, so it is no key of its own.
	Gateway string `mapstructure:"-"`
	// TopicPrefix is the first topic level; default "loraedge".
	TopicPrefix string `mapstructure:"topic_prefix"`
	// PublishTimeout bounds the wait for the PUBACKs of one batch; after it
	// the batch is sent again on a new connection. Default 30s.
	PublishTimeout time.Duration `mapstructure:"publish_timeout"`
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

// DefaultConfig is the configuration with every default filled in
// (disabled).
func DefaultConfig() Config {
	return Config{
		Config:         mqttclient.DefaultConfig(),
		Gateway:        "gateway",
		TopicPrefix:    "loraedge",
		PublishTimeout: 30 * time.Second,
		BatchSize:      256,
		UplinkQueue:    1024,
		UplinkPayload:  true,
		Commands:       true,
	}
}

// withDefaults fills zero durations and sizes; booleans are taken as set.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.Config = c.WithDefaults()
	if c.TopicPrefix == "" {
		c.TopicPrefix = d.TopicPrefix
	}
	if c.ClientID == "" {
		c.ClientID = "loraedge-" + c.Gateway
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = d.PublishTimeout
	}
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
	errs := []error{c.Config.Validate()}
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
	if c.KeepAlive > 0 && c.KeepAlive < time.Second {
		errs = append(errs, errors.New("keepalive: below 1s"))
	}
	if c.BatchSize < 0 || c.UplinkQueue < 0 {
		errs = append(errs, errors.New("batch_size, uplink_queue: must not be negative"))
	}
	return errors.Join(errs...)
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
