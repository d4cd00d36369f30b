package basicstation

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/tlsprofile"
)

// access is who may connect: the routers, by EUI their names and tokens.
type access struct {
	routers []RouterConfig
	names   map[lorawan.EUI64]string
	tokens  map[lorawan.EUI64]string
}

// newAccess reads the routers' token files.
func newAccess(routers []RouterConfig) (*access, error) {
	a := &access{routers: routers, names: map[lorawan.EUI64]string{}, tokens: map[lorawan.EUI64]string{}}
	for _, r := range routers {
		a.names[r.ID] = r.Name
		if r.TokenFile != "" {
			tok, err := readToken(r.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("basicstation router %s: %w", r.ID, err)
			}
			a.tokens[r.ID] = tok
		}
	}
	return a, nil
}

// Reload takes the certificate, the client CA and the routers from c (on
// SIGHUP): new handshakes and connections see them, and a router no longer
// listed is disconnected. The listener's own settings (listen, limits)
// take effect at a restart. On error nothing changes.
func (s *Server) Reload(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if !c.Enabled() {
		return errors.New("basicstation: basicstation.listen is empty; turning the LNS off takes a restart")
	}
	tc, pool, err := serverTLS(c.TLS)
	if err != nil {
		return err
	}
	a, err := newAccess(c.Routers)
	if err != nil {
		return err
	}
	s.tlsConf.Store(tc)
	s.clientCAs.Store(pool)
	s.addStats(a)
	s.warnReadable(c)
	s.access.Store(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, conn := range s.conns {
		if _, ok := a.names[id]; !ok {
			s.log.Warn("router no longer listed, disconnected", "router", id.String())
			conn.close()
		}
	}
	return nil
}

// serverTLS is TLS 1.2 and 1.3 with AEAD suites only (as http.tls). A
// router's client certificate is requested but checked against the
// client CA pool only in authenticate: a certificate from another CA is
// then a counted, logged refusal naming the router rather than a failed
// handshake nobody sees. A router without one must send its token.
func serverTLS(c TLSConfig) (*tls.Config, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("basicstation: load certificate %s and key %s: %w", c.CertFile, c.KeyFile, err)
	}
	conf := tlsprofile.Server()
	conf.Certificates = []tls.Certificate{cert}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("basicstation: read client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("basicstation: %s holds no PEM certificate", c.ClientCAFile)
		}
		conf.ClientAuth = tls.RequestClientCert
		return conf, pool, nil
	}
	return conf, nil, nil
}

// authenticate checks that the request comes from router id: its verified
// client certificate names it, or it sends the router's token. It returns
// the refusal reason, "" when authenticated.
func (s *Server) authenticate(r *http.Request, id lorawan.EUI64) string {
	a := s.access.Load()
	if _, known := a.names[id]; !known {
		return refusedUnknownRouter
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return s.verifyCert(r.TLS.PeerCertificates, id)
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	tok, ok := a.tokens[id]
	switch {
	case h == "":
		return refusedNoCredentials
	case ok && subtle.ConstantTimeCompare([]byte(h), []byte(tok)) == 1:
		return ""
	default:
		return refusedBadCredentials
	}
}

// verifyCert checks a router's client certificate: issued by the client
// CA for client authentication, and naming router id as its common name.
func (s *Server) verifyCert(chain []*x509.Certificate, id lorawan.EUI64) string {
	pool := s.clientCAs.Load()
	if pool == nil {
		return refusedBadCredentials
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: s.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return refusedBadCredentials
	}
	if eui, err := parseEUI(chain[0].Subject.CommonName); err != nil || eui != id {
		return refusedBadCredentials
	}
	return ""
}

// warnReadable warns about token and key files everyone may read: a token
// is a router's identity.
func (s *Server) warnReadable(c Config) {
	files := []string{c.TLS.KeyFile}
	for _, r := range c.Routers {
		files = append(files, r.TokenFile)
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o004 != 0 {
			s.log.Warn("secret file is readable by everyone; chmod 600", "file", f, "mode", fi.Mode().String())
		}
	}
}
