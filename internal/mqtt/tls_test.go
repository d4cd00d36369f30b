package mqtt

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/mqttclient"
	"github.com/loraedge/loraedge/internal/testserver"
)

// tlsFront terminates TLS (requiring a client certificate from the CA)
// in front of the plain broker.
func tlsFront(t testing.TB, pki testserver.PKI, target string) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki.Server},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.CA, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	proxy(t, ln, target, nil)
	return "ssl://" + ln.Addr().String()
}

func TestSinkOverTLS(t *testing.T) {
	broker := startBroker(t)
	pki := testserver.NewPKI(t)
	url := tlsFront(t, pki, broker.Addr)
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	sub := newSubscriber(t, broker.URL(), "sub-tls", "loraedge/gw1/status")

	cfg := testConfig(url)
	cfg.TLS = mqttclient.TLSConfig{CAFile: pki.CAFile, CertFile: pki.CertFile, KeyFile: pki.KeyFile}
	require.NoError(t, cfg.Validate())
	s, err := New(Options{Config: cfg, Log: st, Logger: testLogger()})
	require.NoError(t, err)
	runSink(t, s)
	require.Eventually(t, func() bool { return len(sub.payloads("loraedge/gw1/status")) > 0 }, 10*time.Second, 10*time.Millisecond,
		"online over TLS with a client certificate")

	// Without the client certificate the front refuses the handshake.
	cfg.TLS = mqttclient.TLSConfig{CAFile: pki.CAFile}
	bad, err := New(Options{Config: cfg, Log: st})
	require.NoError(t, err)
	_, err = bad.connect(t.Context())
	require.Error(t, err)
	// Without the CA the server is not trusted, unless verification is off.
	cfg.TLS = mqttclient.TLSConfig{CertFile: pki.CertFile, KeyFile: pki.KeyFile}
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
