package httpapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// pair is the http.tls section serving pki's server certificate.
func pair(pki testserver.PKI) TLSConfig {
	return TLSConfig{CertFile: pki.ServerCertFile, KeyFile: pki.ServerKeyFile}
}

// serve runs s on a loopback port until the test ends and returns the
// address.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, l) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return l.Addr().String()
}

// get sends GET url with token and returns the status and the served
// certificate, if any.
func get(t *testing.T, c *http.Client, url, token string) (int, *x509.Certificate) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	var leaf *x509.Certificate
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf = resp.TLS.PeerCertificates[0]
	}
	return resp.StatusCode, leaf
}

// The API answers over TLS with the configured certificate, refuses plain
// HTTP on that port, refuses TLS 1.1, and serves a renewed pair after
// ReloadTLS while a broken pair keeps the served one.
func TestServesHTTPSAndReloadsCertificate(t *testing.T) {
	first, second := testserver.NewPKI(t), testserver.NewPKI(t)
	cfg := pair(first)
	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: Config{AdminToken: adminTok, TLS: cfg}, Gatherer: reg, Registerer: reg})
	require.NoError(t, err)
	require.True(t, s.TLSEnabled())
	addr := serve(t, s)

	roots := first.CA.Clone()
	roots.AppendCertsFromPEM(mustRead(t, second.CAFile))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	code, leaf := get(t, client, "https://"+addr+"/metrics", adminTok)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, first.Server.Certificate[0], leaf.Raw, "the configured certificate is served")

	h2 := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := h2.Get("https://" + addr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 2, resp.ProtoMajor, "browsers get HTTP/2")
	h2.CloseIdleConnections()

	plain, err := http.Get("http://" + addr + "/healthz")
	if err == nil {
		plain.Body.Close()
		assert.Equal(t, http.StatusBadRequest, plain.StatusCode, "plain HTTP on the HTTPS port is not served")
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}}}
	_, err = old.Get("https://" + addr + "/healthz")
	require.Error(t, err, "TLS 1.1 is refused")

	// A renewed pair under the same file names, as certbot leaves it.
	require.NoError(t, os.Rename(second.ServerCertFile, cfg.CertFile))
	require.NoError(t, os.Rename(second.ServerKeyFile, cfg.KeyFile))
	require.NoError(t, s.ReloadTLS(cfg))
	client.CloseIdleConnections()
	code, leaf = get(t, client, "https://"+addr+"/metrics", adminTok)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, second.Server.Certificate[0], leaf.Raw, "the renewed certificate is served")

	// A certificate with the wrong key is refused; the served one stays.
	mixed := TLSConfig{CertFile: cfg.CertFile, KeyFile: testserver.NewPKI(t).ServerKeyFile}
	require.Error(t, s.ReloadTLS(mixed))
	require.Error(t, s.ReloadTLS(TLSConfig{}), "switching TLS off needs a restart")
	client.CloseIdleConnections()
	_, leaf = get(t, client, "https://"+addr+"/metrics", adminTok)
	assert.Equal(t, second.Server.Certificate[0], leaf.Raw)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// A token over plain HTTP is refused when the connection did not come over
// loopback, unless a TLS-terminating proxy is configured; over loopback it
// is accepted. No traffic leaves the machine: the non-loopback case gives
// the handler a connection's local address, as http.Server does.
func TestPlainHTTPTokenRefusedOffLoopback(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: Config{AdminToken: adminTok}, Gatherer: reg, Registerer: reg})
	require.NoError(t, err)
	remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 8080}
	assert.True(t, s.plainTokenRefused(remote))
	assert.True(t, s.plainTokenRefused(&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 8080}))
	assert.False(t, s.plainTokenRefused(&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}))

	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, net.Addr(remote))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminTok)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Contains(t, rec.Body.String(), "plain HTTP")
	assert.Contains(t, rec.Body.String(), "behind_tls_proxy")
	assert.Equal(t, 1.0, testutil.ToFloat64(s.authFailures.WithLabelValues(reasonPlain)))

	// Over a real loopback connection the same token works.
	code, _ := get(t, http.DefaultClient, "http://"+serve(t, s)+"/metrics", adminTok)
	assert.Equal(t, http.StatusOK, code)

	proxied, err := New(Options{Config: Config{AdminToken: adminTok, BehindTLSProxy: true}})
	require.NoError(t, err)
	assert.False(t, proxied.plainTokenRefused(remote), "a TLS-terminating proxy is trusted")
	rec = httptest.NewRecorder()
	proxied.Handler().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code)
}

func TestConfigTLS(t *testing.T) {
	files := pair(testserver.NewPKI(t))
	base := Config{Listen: ":8443", AdminToken: adminTok}
	ok := base
	ok.TLS = files
	require.NoError(t, ok.Validate())
	assert.Empty(t, ok.Warnings())

	half := base
	half.TLS.CertFile = files.CertFile
	require.ErrorContains(t, half.Validate(), "http.tls.key_file: is empty but cert_file is set")
	half.TLS = TLSConfig{KeyFile: files.KeyFile}
	require.ErrorContains(t, half.Validate(), "http.tls.cert_file: is empty but key_file is set")
	missing := base
	missing.TLS = TLSConfig{CertFile: files.CertFile, KeyFile: files.KeyFile + ".gone"}
	err := missing.Validate()
	require.ErrorContains(t, err, "http.tls: cannot load the certificate and key")
	require.ErrorContains(t, err, "no such file")

	require.Len(t, base.Warnings(), 1)
	assert.Contains(t, base.Warnings()[0], "behind_tls_proxy")
	proxied := base
	proxied.BehindTLSProxy = true
	assert.Empty(t, proxied.Warnings())
	for _, l := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"} {
		assert.Empty(t, Config{Listen: l, AdminToken: adminTok}.Warnings(), l)
	}
	for _, l := range []string{"0.0.0.0:8080", "[::]:8080", "gateway.local:8080", "192.0.2.1:8080"} {
		assert.NotEmpty(t, Config{Listen: l, AdminToken: adminTok}.Warnings(), l)
	}
}
