package roaming

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/backend"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/testserver"
)

// pki is a county CA.
type pki = testserver.NodeCA

func newPKI(t testing.TB, dir, name string) *pki { return testserver.NewNodeCA(t, dir, name) }

func issue(t testing.TB, p *pki, nsid lorawan.EUI64) tls.Certificate {
	c, _, _ := p.Issue(t, nsid.String())
	return c
}

// recorder is a Handler that keeps what it got.
type recorder struct {
	mu     sync.Mutex
	starts []*PRStartReq
	from   []string
	xmits  []*XmitDataReq
}

func (r *recorder) HandlePRStart(_ context.Context, from *Peer, req *PRStartReq) *PRStartAns {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, req)
	r.from = append(r.from, from.Name)
	ans := &PRStartAns{}
	ans.Result.ResultCode = ResultSuccess
	return ans
}

func (r *recorder) HandleXmitData(_ context.Context, _ *Peer, req *XmitDataReq) *XmitDataAns {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.xmits = append(r.xmits, req)
	ans := &XmitDataAns{}
	ans.Result = backend.Result{ResultCode: ResultXmitFailed, Description: "TOO_LATE"}
	return ans
}

// county is two linked instances on loopback, A and B, and what they share.
type county struct {
	pki        *pki
	table      string
	a, b       *Link
	recA, recB *recorder
	regA, regB *prometheus.Registry
	urlB       string
}

func startCounty(t *testing.T, rate float64) *county {
	t.Helper()
	dir := t.TempDir()
	c := &county{pki: newPKI(t, dir, "county-ca"), recA: &recorder{}, recB: &recorder{},
		regA: prometheus.NewRegistry(), regB: prometheus.NewRegistry()}
	lnA, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lnB, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c.urlB = "https://" + lnB.Addr().String()
	c.table = filepath.Join(dir, "peers.yaml")
	require.NoError(t, os.WriteFile(c.table, []byte(fmt.Sprintf(`net_id: "000000"
peers:
  - {nsid: %q, name: a, url: "https://%s", dev_addr_blocks: ["00000000/10"], auth: {token_sha256: %q, ca_file: county-ca.pem}}
  - {nsid: %q, name: b, url: "https://%s", dev_addr_blocks: ["00400000/10"], auth: {token_sha256: %q, ca_file: county-ca.pem}}
`, nsidA, lnA.Addr(), tokenHash("token-a"), nsidB, lnB.Addr(), tokenHash("token-b"))), 0o600))
	start := func(nsid lorawan.EUI64, token string, ln net.Listener, h Handler, reg prometheus.Registerer) *Link {
		tab, err := LoadTable(c.table, nsid)
		require.NoError(t, err)
		cfg := DefaultConfig()
		cfg.Enabled, cfg.NSID, cfg.Token, cfg.RateLimit = true, nsid, token, rate
		cert := issue(t, c.pki, nsid)
		return serveLink(t, LinkOptions{Config: cfg, Table: tab, Handler: h, Certificate: &cert, Registerer: reg}, ln)
	}
	c.a = start(nsidA, "token-a", lnA, c.recA, c.regA)
	c.b = start(nsidB, "token-b", lnB, c.recB, c.regB)
	return c
}

// serveLink starts a link on ln until the test ends.
func serveLink(t *testing.T, opts LinkOptions, ln net.Listener) *Link {
	t.Helper()
	l, err := NewLink(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return l
}

// raw posts body to B as a client with the given certificate (nil: none)
// and token, and returns the status and the answer's result code.
func (c *county) raw(t *testing.T, cert *tls.Certificate, token, body string) (int, backend.ResultCode) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(c.pki.Cert)
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 5 * time.Second}
	req, err := http.NewRequest(http.MethodPost, c.urlB, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := cl.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var ans struct{ Result backend.Result }
	require.NoError(t, json.Unmarshal(data, &ans), "%s", data)
	return resp.StatusCode, ans.Result.ResultCode
}

func TestLinkSendsAndAnswers(t *testing.T) {
	c := startCounty(t, 200)
	b, _ := c.a.Table().Peer(nsidB)
	req := samplePRStartReq()
	ans, err := c.a.Send(context.Background(), b, req)
	require.NoError(t, err)
	pa, ok := ans.(*PRStartAns)
	require.True(t, ok)
	assert.Equal(t, ProtocolVersion11, pa.ProtocolVersion)
	assert.Equal(t, nsidB.String(), pa.SenderNSID)
	assert.Equal(t, nsidA.String(), pa.ReceiverNSID)
	assert.Equal(t, backend.PRStartAns, pa.MessageType)
	require.Len(t, c.recB.starts, 1)
	assert.Equal(t, []string{"a"}, c.recB.from)
	assert.Equal(t, req.PHYPayload, c.recB.starts[0].PHYPayload)
	assert.Equal(t, 1.0, testutil.ToFloat64(c.a.m.sent.WithLabelValues("b", "PRStartReq", "Success")))
	assert.Equal(t, 1.0, testutil.ToFloat64(c.b.m.received.WithLabelValues("a", "PRStartReq", "Success")))
	assert.Equal(t, 1, testutil.CollectAndCount(c.a.m.rtt))

	// An answer other than Success is an error wrapping ErrAnswer, with the answer.
	x := &XmitDataReq{}
	x.MessageType = backend.XmitDataReq
	x.PHYPayload = backend.HEXBytes{0x60}
	x.DLMetaData = &backend.DLMetaData{GWInfo: []backend.GWInfoElement{{ULToken: backend.HEXBytes{1}}}}
	a, _ := c.b.Table().Peer(nsidA)
	ans, err = c.b.Send(context.Background(), a, x)
	require.ErrorIs(t, err, ErrAnswer)
	assert.Equal(t, "TOO_LATE", ans.(*XmitDataAns).Result.Description)

	// A peer that does not answer.
	dead := *b
	dead.URL = "https://127.0.0.1:1"
	_, err = c.a.Send(context.Background(), &dead, samplePRStartReq())
	require.ErrorIs(t, err, ErrNoAnswer)
	assert.Equal(t, 1.0, testutil.ToFloat64(c.a.m.errors.WithLabelValues("b")))
}

// Every request that does not come from an authenticated peer of the table
// is refused before any processing, and counted by reason.
func TestLinkRefuses(t *testing.T) {
	c := startCounty(t, 200)
	certA := issue(t, c.pki, nsidA)
	other := newPKI(t, t.TempDir(), "other-ca")
	foreignCert := issue(t, other, nsidA)
	wrongName := issue(t, c.pki, lorawan.EUI64{9})
	msg := func(sender, receiver string) string {
		m := samplePRStartReq()
		m.SenderNSID, m.ReceiverNSID = sender, receiver
		b, _ := json.Marshal(m)
		return string(b)
	}
	good := msg(nsidA.String(), nsidB.String())
	tests := []struct {
		name   string
		cert   *tls.Certificate
		token  string
		body   string
		status int
		code   backend.ResultCode
		reason string
	}{
		{"no token", &certA, "", good, 403, ResultUnknownSender, "unauthenticated"},
		{"wrong token", &certA, "token-b", good, 403, ResultUnknownSender, "unauthenticated"},
		{"no client certificate", nil, "token-a", good, 403, ResultUnknownSender, "unauthenticated"},
		{"certificate of another CA", &foreignCert, "token-a", good, 403, ResultUnknownSender, "unauthenticated"},
		{"certificate naming another NSID", &wrongName, "token-a", good, 403, ResultUnknownSender, "unauthenticated"},
		{"unknown NSID", &certA, "token-a", msg("0016c001ff1000ff", nsidB.String()), 403, ResultUnknownSender, "unknown_sender"},
		{"itself", &certA, "token-b", msg(nsidB.String(), nsidB.String()), 403, ResultUnknownSender, "unknown_sender"},
		{"other receiver", &certA, "token-a", msg(nsidA.String(), "0016c001ff1000ff"), 400, ResultUnknownReceiver, "unknown_receiver"},
		{"malformed", &certA, "token-a", `{"ProtocolVersion":"1.1"`, 400, ResultMalformedMessage, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.ToFloat64(c.b.m.refused.WithLabelValues(tt.reason))
			status, code := c.raw(t, tt.cert, tt.token, tt.body)
			assert.Equal(t, tt.status, status)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, before+1, testutil.ToFloat64(c.b.m.refused.WithLabelValues(tt.reason)))
		})
	}
	assert.Empty(t, c.recB.starts, "nothing refused reached the handler")

	// A 1.0 peer (no NSIDs) is known by its certificate and token; the
	// answer uses 1.0's spelling.
	v10 := `{"ProtocolVersion":"1.0","SenderID":"000000","ReceiverID":"000000","TransactionID":5,"MessageType":"XmitDataReq","PHYPayload":"60","DLMetaData":{"GWInfo":[{"ULToken":"01"}]}}`
	status, code := c.raw(t, &certA, "token-a", v10)
	assert.Equal(t, 200, status)
	assert.Equal(t, ResultXmitFailed, code)
	require.Len(t, c.recB.xmits, 1)
	status, code = c.raw(t, &certA, "token-a", strings.Replace(v10, `"60"`, `""`, 1))
	assert.Equal(t, 400, status)
	assert.Equal(t, ResultFrameSizeError, code)
}

func TestLinkRateLimitPerPeer(t *testing.T) {
	c := startCounty(t, 2) // burst 4
	certA := issue(t, c.pki, nsidA)
	m := samplePRStartReq()
	m.SenderNSID, m.ReceiverNSID = nsidA.String(), nsidB.String()
	body, _ := json.Marshal(m)
	var ok, limited int
	for range 10 {
		status, code := c.raw(t, &certA, "token-a", string(body))
		switch status {
		case 200:
			ok++
		case 429:
			limited++
			assert.Equal(t, ResultDeferred, code)
		}
	}
	assert.GreaterOrEqual(t, ok, 4)
	assert.LessOrEqual(t, ok, 6, "the burst and what refilled during the test")
	assert.Equal(t, 10-ok, limited)
	assert.Equal(t, float64(limited), testutil.ToFloat64(c.b.m.refused.WithLabelValues("rate_limited")))
}
