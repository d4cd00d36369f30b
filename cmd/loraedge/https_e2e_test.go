package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// The daemon serves the API over HTTPS with the configured pair; after a
// renewal SIGHUP makes it serve the new certificate, while a certificate
// with the wrong key is refused and the served one stays.
func TestHTTPSCertificateReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	first, second, other := testserver.NewPKI(t), testserver.NewPKI(t), testserver.NewPKI(t)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	install := func(cert, key string) {
		t.Helper()
		for src, dst := range map[string]string{cert: certFile, key: keyFile} {
			b, err := os.ReadFile(src)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(dst+".new", b, 0o600))
			require.NoError(t, os.Rename(dst+".new", dst))
		}
	}
	install(first.ServerCertFile, first.ServerKeyFile)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
	file := filepath.Join(dir, "loraedge.yaml")
	require.NoError(t, os.WriteFile(file, []byte("http:\n  listen: "+addr+"\n  tls: {cert_file: "+certFile+", key_file: "+keyFile+"}\n"), 0o600))
	const token = "test-admin-token-0123456789"

	ctx, cancel := context.WithCancel(context.Background())
	var errw syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "-c", file, "--listen", "127.0.0.1:0", "--data-dir", dir, "--log-format", "text"},
			[]string{"LORAEDGE_HTTP_ADMIN_TOKEN=" + token}, io.Discard, &errw)
	}()
	defer func() { cancel(); require.NoError(t, <-done) }()

	roots := x509.NewCertPool()
	for _, p := range []testserver.PKI{first, second, other} {
		b, err := os.ReadFile(p.CAFile)
		require.NoError(t, err)
		roots.AppendCertsFromPEM(b)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	// served returns the certificate of a fresh connection after a
	// successful API call, or nil.
	served := func() []byte {
		tr.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/api/v1/devices", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.TLS == nil {
			return nil
		}
		return resp.TLS.PeerCertificates[0].Raw
	}
	require.Eventually(t, func() bool { return served() != nil }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, first.Server.Certificate[0], served())
	assert.Contains(t, errw.String(), "https://127.0.0.1:")

	install(first.ServerCertFile, other.ServerKeyFile)
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(errw.String(), "reload refused") }, 5*time.Second, 20*time.Millisecond)
	assert.Contains(t, errw.String(), "http.tls: cannot load the certificate and key")
	assert.Equal(t, first.Server.Certificate[0], served(), "a broken pair keeps the served certificate")

	install(second.ServerCertFile, second.ServerKeyFile)
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return string(served()) == string(second.Server.Certificate[0]) }, 5*time.Second, 20*time.Millisecond)
	assert.Contains(t, errw.String(), "certificate reloaded")
}

// validate warns about an API reachable from the network without TLS, and
// not when TLS or a TLS-terminating proxy is configured.
func TestValidateWarnsPlainHTTPOffLoopback(t *testing.T) {
	dir := t.TempDir()
	pki := testserver.NewPKI(t)
	for body, warns := range map[string]bool{
		"http: {listen: \":8080\"}\n":                         true,
		"http: {listen: \"127.0.0.1:8080\"}\n":                false,
		"http: {listen: \":8080\", behind_tls_proxy: true}\n": false,
		"http: {listen: \":8443\", tls: {cert_file: " + pki.ServerCertFile + ", key_file: " + pki.ServerKeyFile + "}}\n": false,
	} {
		file := filepath.Join(dir, "c.yaml")
		require.NoError(t, os.WriteFile(file, []byte(body), 0o600))
		var out, errw strings.Builder
		err := run(context.Background(), []string{"validate", file}, []string{"LORAEDGE_HTTP_ADMIN_TOKEN=test-admin-token-0123456789"}, &out, &errw)
		require.NoError(t, err, body)
		assert.Contains(t, out.String(), "valid", body)
		if warns {
			assert.Contains(t, errw.String(), "warning: http.listen \":8080\" is reachable from the network without TLS", body)
		} else {
			assert.NotContains(t, errw.String(), "warning", body)
		}
	}
}
