package httpapi

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
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
	// TLS serves HTTPS with a certificate and key from files; both empty
	// serves plain HTTP.
	TLS TLSConfig `mapstructure:"tls"`
	// BehindTLSProxy says that a TLS-terminating reverse proxy sits in
	// front, so tokens arriving over plain HTTP on a non-loopback address
	// travelled encrypted up to the proxy and are accepted.
	BehindTLSProxy bool `mapstructure:"behind_tls_proxy"`
}

// TLSConfig names the PEM files of the server certificate (with its chain)
// and its private key. They are read again on SIGHUP.
type TLSConfig struct {
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
}

// Enabled reports whether HTTPS is configured.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

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
	switch {
	case c.TLS.CertFile == "" && c.TLS.KeyFile != "":
		add("http.tls.cert_file", "is empty but key_file is set: set both or neither")
	case c.TLS.CertFile != "" && c.TLS.KeyFile == "":
		add("http.tls.key_file", "is empty but cert_file is set: set both or neither")
	case c.TLS.Enabled():
		if _, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile); err != nil {
			add("http.tls", "cannot load the certificate and key: %v", err)
		}
	}
	return errors.Join(errs...)
}

// Warnings lists what is allowed but probably not meant: a non-loopback
// listen address without TLS and without a TLS-terminating proxy, where
// the server refuses every token that does not arrive over loopback.
func (c Config) Warnings() []string {
	if c.Listen == "" || c.TLS.Enabled() || c.BehindTLSProxy || loopbackListen(c.Listen) {
		return nil
	}
	return []string{fmt.Sprintf("http.listen %q is reachable from the network without TLS: tokens sent from "+
		"other hosts are refused; set http.tls.cert_file and key_file, or http.behind_tls_proxy: true "+
		"if a TLS-terminating proxy sits in front", c.Listen)}
}

// loopbackListen reports whether a listen address binds loopback only. An
// empty host binds every interface; a name other than localhost may
// resolve to anything and counts as reachable.
func loopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
