package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
)

// certStore holds the served certificate and swaps it atomically, so a
// renewed pair takes effect for new handshakes while old connections keep
// theirs.
type certStore struct {
	cert atomic.Pointer[tls.Certificate]
}

// load reads the pair named by c; on error the served pair stays.
func (cs *certStore) load(c TLSConfig) error {
	if !c.Enabled() {
		return errors.New("httpapi: no http.tls certificate configured")
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return fmt.Errorf("httpapi: load certificate %s and key %s: %w", c.CertFile, c.KeyFile, err)
	}
	cs.cert.Store(&cert)
	return nil
}

func (cs *certStore) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return cs.cert.Load(), nil
}

// serverTLSConfig is TLS 1.2 and 1.3 with forward secrecy and AEAD ciphers
// only (Mozilla's "intermediate" profile): TLS 1.3 alone would lock out
// the older browsers and monitoring tools still found in county offices,
// while the TLS 1.2 suites left (ECDHE with AES-GCM or ChaCha20-Poly1305)
// have no known weakness. Go's TLS 1.3 suites are all AEAD and fixed.
func (cs *certStore) serverTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: cs.getCertificate,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// TLSEnabled reports whether the server speaks HTTPS (http.tls is set).
func (s *Server) TLSEnabled() bool { return s.certs != nil }

// ReloadTLS reads the certificate and key again from c, e.g. after a
// renewal. A pair that does not load leaves the served one in place. It
// fails if the server was started without TLS: switching TLS on
// or off needs a restart.
func (s *Server) ReloadTLS(c TLSConfig) error {
	if s.certs == nil {
		if c.Enabled() {
			return errors.New("httpapi: http.tls was added: takes effect after a restart")
		}
		return nil
	}
	if !c.Enabled() {
		return errors.New("httpapi: http.tls was removed: takes effect after a restart")
	}
	if err := s.certs.load(c); err != nil {
		return err
	}
	s.log.Info("certificate reloaded", "cert_file", c.CertFile)
	return nil
}

// plainTokenRefused reports whether a token that arrived on a connection
// to local must be refused: the connection is plain HTTP (no TLS on this
// server, no TLS-terminating proxy in front) and did not come over
// loopback, so the token crossed a network in clear text. A request
// without a local address (Handler used outside an http.Server, as in
// tests) is not refused.
func (s *Server) plainTokenRefused(local net.Addr) bool {
	if s.certs != nil || s.opts.Config.BehindTLSProxy || local == nil {
		return false
	}
	return !loopbackAddr(local)
}

// loopbackAddr reports whether a is a loopback IP address.
func loopbackAddr(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return false
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.IsLoopback()
	}
}

// localAddr is the server-side address of the request's connection.
func localAddr(ctx context.Context) net.Addr {
	a, _ := ctx.Value(http.LocalAddrContextKey).(net.Addr)
	return a
}
