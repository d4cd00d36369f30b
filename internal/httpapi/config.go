package httpapi

import (
	"errors"
	"fmt"
)

// minTokenLen keeps tokens long enough that guessing one over the network
// is hopeless.
const minTokenLen = 16

// Config is the http section of the daemon's configuration: the REST API,
// the web page, /metrics, /healthz and /readyz.
type Config struct {
	// Listen is the TCP address; empty turns the HTTP server off.
	Listen string `mapstructure:"listen"`
	// AdminToken may do everything, ReadToken only read. Secrets: prefer
	// LORAEDGE_HTTP_ADMIN_TOKEN over the file.
	AdminToken string `mapstructure:"admin_token"`
	ReadToken  string `mapstructure:"read_token"`
}

// DefaultConfig returns the defaults: the server is off, since it needs a
// token that only the operator can choose.
func DefaultConfig() Config { return Config{} }

// Validate reports every problem at once, each prefixed with its key path.
// A server that is off is not checked.
func (c Config) Validate() error {
	if c.Listen == "" {
		return nil
	}
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.AdminToken == "" && c.ReadToken == "" {
		add("http", "listen is set but no admin_token or read_token: set one (LORAEDGE_HTTP_ADMIN_TOKEN) or turn the server off with listen: \"\"")
	}
	for key, tok := range map[string]string{"http.admin_token": c.AdminToken, "http.read_token": c.ReadToken} {
		if tok != "" && len(tok) < minTokenLen {
			add(key, "must have at least %d characters", minTokenLen)
		}
	}
	if c.AdminToken != "" && c.AdminToken == c.ReadToken {
		add("http.read_token", "must differ from admin_token")
	}
	return errors.Join(errs...)
}
