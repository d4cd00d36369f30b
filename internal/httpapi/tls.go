package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/loraedge/loraedge/internal/tlsprofile"
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

// serverTLSConfig is the daemon's one server TLS profile (tlsprofile)
// with the certificate that ReloadTLS can swap.
func (cs *certStore) serverTLSConfig() *tls.Config {
	c := tlsprofile.Server()
	c.GetCertificate = cs.getCertificate
	return c
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
