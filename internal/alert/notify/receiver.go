package notify

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Receiver is one notification target as configured (alert.receivers[]):
// the YAML keys are the configuration schema.
type Receiver struct {
	Name string `mapstructure:"name" yaml:"name"`
	// Type is "webhook", "mqtt" or "email".
	Type     string `mapstructure:"type" yaml:"type"`
	Language string `mapstructure:"language" yaml:"language"`
	// SendResolved sends the all-clear (default true: the winter service
	// needs the explicit Entwarnung).
	SendResolved *bool `mapstructure:"send_resolved" yaml:"send_resolved"`

	// webhook
	URL          string            `mapstructure:"url" yaml:"url"`
	Alertmanager bool              `mapstructure:"alertmanager" yaml:"alertmanager"` // Alertmanager v4 payload
	Headers      map[string]string `mapstructure:"headers" yaml:"headers"`
	Timeout      time.Duration     `mapstructure:"timeout" yaml:"timeout"` // default 10s

	// mqtt
	TopicPrefix string `mapstructure:"topic_prefix" yaml:"topic_prefix"` // default "loraedge/alerts"

	// email
	SMTPHost string   `mapstructure:"smtp_host" yaml:"smtp_host"`
	SMTPPort int      `mapstructure:"smtp_port" yaml:"smtp_port"` // default 587
	Username string   `mapstructure:"username" yaml:"username"`
	Password string   `mapstructure:"password" yaml:"password"`
	From     string   `mapstructure:"from" yaml:"from"`
	To       []string `mapstructure:"to" yaml:"to"`
	// TLS: "starttls" (default: required unless the host is loopback),
	// "tls" (implicit, port 465) or "none".
	TLS string `mapstructure:"tls" yaml:"tls"`
}

// WantsResolved reports whether the receiver gets the all-clear.
func (r Receiver) WantsResolved() bool { return r.SendResolved == nil || *r.SendResolved }

// Problems lists what is wrong with the receiver's language and type
// settings, each prefixed with path (e.g. "alert.receivers[0]"). The name
// is checked by the caller, which knows the other receivers.
func (r Receiver) Problems(path string) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if r.Language != "" && r.Language != "de" && r.Language != "en" {
		add("%s.language: %q is not de or en", path, r.Language)
	}
	switch r.Type {
	case "webhook":
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("%s.url: %q is not an http(s) URL", path, r.URL)
		}
	case "mqtt":
	case "email":
		if r.SMTPHost == "" {
			add("%s.smtp_host: required", path)
		}
		if r.From == "" || !strings.Contains(r.From, "@") {
			add("%s.from: %q is not an address", path, r.From)
		}
		if len(r.To) == 0 {
			add("%s.to: at least one address required", path)
		}
		switch r.TLS {
		case "", "starttls", "tls", "none":
		default:
			add("%s.tls: %q is not starttls, tls or none", path, r.TLS)
		}
	default:
		add("%s.type: %q is not webhook, mqtt or email", path, r.Type)
	}
	return errs
}
