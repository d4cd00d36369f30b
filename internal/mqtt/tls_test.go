package mqtt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/mqttclient"
)

type testPKI struct {
	caFile, certFile, keyFile string
	ca                        *x509.CertPool
	server                    tls.Certificate
}

// newPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate into a temporary directory.
func newPKI(t testing.TB) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	issue := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips, KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		require.NoError(t, err)
		return der, k
	}
	writePEM := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	pki := testPKI{ca: x509.NewCertPool()}
	pki.ca.AddCert(caCert)
	pki.caFile = writePEM("ca.pem", "CERTIFICATE", caDER)
	srvDER, srvKey := issue(2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	pki.server = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	cliDER, cliKey := issue(3, x509.ExtKeyUsageClientAuth, nil)
	pki.certFile = writePEM("client.pem", "CERTIFICATE", cliDER)
	keyDER, err := x509.MarshalECPrivateKey(cliKey)
	require.NoError(t, err)
	pki.keyFile = writePEM("client.key", "EC PRIVATE KEY", keyDER)
	return pki
}

// tlsFront terminates TLS (requiring a client certificate from the CA)
// in front of the plain broker.
func tlsFront(t testing.TB, pki testPKI, target string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki.server},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.ca, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	proxy(t, ln, target, nil)
	return "ssl://" + ln.Addr().String()
}

func TestSinkOverTLS(t *testing.T) {
	broker := startBroker(t)
	pki := newPKI(t)
	url := tlsFront(t, pki, broker.Addr)
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	sub := newSubscriber(t, broker.URL(), "sub-tls", "loraedge/gw1/status")

	cfg := testConfig(url)
	cfg.TLS = mqttclient.TLSConfig{CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile}
	require.NoError(t, cfg.Validate())
	s, err := New(Options{Config: cfg, Log: st, Logger: testLogger()})
	require.NoError(t, err)
	runSink(t, s)
	require.Eventually(t, func() bool { return len(sub.payloads("loraedge/gw1/status")) > 0 }, 10*time.Second, 10*time.Millisecond,
		"online over TLS with a client certificate")

	// Without the client certificate the front refuses the handshake.
	cfg.TLS = mqttclient.TLSConfig{CAFile: pki.caFile}
	bad, err := New(Options{Config: cfg, Log: st})
	require.NoError(t, err)
	_, err = bad.connect(t.Context())
	require.Error(t, err)
	// Without the CA the server is not trusted, unless verification is off.
	cfg.TLS = mqttclient.TLSConfig{CertFile: pki.certFile, KeyFile: pki.keyFile}
	bad, err = New(Options{Config: cfg, Log: st})
	require.NoError(t, err)
	_, err = bad.connect(t.Context())
	require.Error(t, err)
	cfg.TLS.InsecureSkipVerify = true
	ok, err := New(Options{Config: cfg, Log: st})
	require.NoError(t, err)
	cn, err := ok.connect(t.Context())
	require.NoError(t, err)
	cn.Client.Disconnect(0)
}

func TestTLSConfigBuild(t *testing.T) {
	pki := newPKI(t)
	c, err := mqttclient.TLSConfig{}.Build()
	require.NoError(t, err)
	assert.Nil(t, c)
	c, err = mqttclient.TLSConfig{CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile, ServerName: "broker"}.Build()
	require.NoError(t, err)
	assert.Len(t, c.Certificates, 1)
	assert.Equal(t, "broker", c.ServerName)
	assert.NotNil(t, c.RootCAs)
	_, err = mqttclient.TLSConfig{CAFile: pki.keyFile}.Build()
	assert.ErrorContains(t, err, "no PEM certificates")
	_, err = mqttclient.TLSConfig{CertFile: pki.certFile, KeyFile: pki.caFile}.Build()
	assert.Error(t, err)
}
