package roaming

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/backend"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/tlsprofile"
)

// Handler processes the requests peers send: PRStartReq at the device's
// home, XmitDataReq at the forwarder whose gateway is to transmit. The
// answer's header (versions, ids, transaction) is filled by the Link; the
// handler sets the Result and the payload.
type Handler interface {
	HandlePRStart(ctx context.Context, from *Peer, req *PRStartReq) *PRStartAns
	HandleXmitData(ctx context.Context, from *Peer, req *XmitDataReq) *XmitDataAns
}

// LinkOptions configures a Link.
type LinkOptions struct {
	Config Config
	Table  *Table
	// Handler answers requests; nil refuses them as unsupported.
	Handler Handler
	// Action queues a peer's alert action on a device homed here; nil
	// refuses action requests as unsupported.
	Action ActionHandler
	// Certificate is this instance's server and client certificate; nil
	// loads Config.CertFile and Config.KeyFile.
	Certificate *tls.Certificate
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
	Now         func() time.Time
}

// Link is this instance's end of the peer links: the HTTPS server peers
// send to, and the client that sends to them.
type Link struct {
	opts    LinkOptions
	self    *Peer
	log     *slog.Logger
	m       *metrics
	now     func() time.Time
	cert    tls.Certificate
	clients map[lorawan.EUI64]*http.Client
	buckets map[lorawan.EUI64]*bucket
	// peerStats is fixed after NewLink; each entry is safe for concurrent use.
	peerStats map[lorawan.EUI64]*peerStats
	tid       atomic.Uint32

	mu   sync.Mutex
	addr net.Addr
}

// NewLink builds the link; Run serves it.
func NewLink(opts LinkOptions) (*Link, error) {
	if opts.Table == nil {
		return nil, errors.New("roaming: no peer table")
	}
	self, ok := opts.Table.Peer(opts.Config.NSID)
	if !ok {
		return nil, fmt.Errorf("roaming: this instance %s is not in the peer table", opts.Config.NSID)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	l := &Link{opts: opts, self: self, log: opts.Logger.With("component", "roaming"), m: m, now: opts.Now,
		clients: map[lorawan.EUI64]*http.Client{}, buckets: map[lorawan.EUI64]*bucket{}, peerStats: map[lorawan.EUI64]*peerStats{}}
	if opts.Certificate != nil {
		l.cert = *opts.Certificate
	} else {
		l.cert, err = tls.LoadX509KeyPair(opts.Config.CertFile, opts.Config.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("roaming: certificate: %w", err)
		}
	}
	for i := range opts.Table.Peers {
		p := &opts.Table.Peers[i]
		l.buckets[p.NSID] = newBucket(opts.Config.RateLimit)
		l.peerStats[p.NSID] = &peerStats{}
		if p.NSID == self.NSID {
			continue
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{l.cert}, RootCAs: p.Auth.ca}
		l.clients[p.NSID] = &http.Client{
			Timeout:   opts.Config.RequestTimeout,
			Transport: &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute, ForceAttemptHTTP2: true},
		}
		for _, r := range []string{"Success", "error"} {
			l.m.sent.WithLabelValues(p.Name, string(backend.PRStartReq), r)
		}
		l.m.errors.WithLabelValues(p.Name)
		l.m.queue.WithLabelValues(p.Name)
		l.m.dropped.WithLabelValues(p.Name)
	}
	return l, nil
}

// Self is this instance's entry in the peer table.
func (l *Link) Self() *Peer { return l.self }

// Table is the peer table the link was built with.
func (l *Link) Table() *Table { return l.opts.Table }

// Addr is the address the server listens on, once Run has bound it.
func (l *Link) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr
}

// Run serves peers' requests over HTTPS until ctx is done.
func (l *Link) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", l.opts.Config.Listen)
	if err != nil {
		return fmt.Errorf("roaming: listen: %w", err)
	}
	return l.Serve(ctx, ln)
}

// Serve is Run on a listener the caller bound.
func (l *Link) Serve(ctx context.Context, ln net.Listener) error {
	pool := x509.NewCertPool()
	anyCA := false
	for i := range l.opts.Table.Peers {
		if ca := l.opts.Table.Peers[i].Auth.ca; ca != nil {
			for _, c := range l.opts.Table.Peers[i].Auth.certs {
				pool.AddCert(c)
			}
			anyCA = true
		}
	}
	tc := tlsprofile.Server()
	tc.Certificates = []tls.Certificate{l.cert}
	if anyCA {
		// The chain is checked against the sending peer's own CA in
		// authenticate; here any county CA lets the handshake through.
		tc.ClientAuth, tc.ClientCAs = tls.VerifyClientCertIfGiven, pool
	}
	l.mu.Lock()
	l.addr = ln.Addr()
	l.mu.Unlock()
	srv := &http.Server{Handler: l, TLSConfig: tc, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(l.log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("roaming: serve: %w", err)
		}
		return nil
	case err := <-errc:
		return fmt.Errorf("roaming: serve: %w", err)
	}
}

// ServeHTTP takes one Backend Interfaces request: parse, find and
// authenticate the sender, check the receiver and the sender's rate, hand
// it to the Handler and write its answer.
func (l *Link) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == ActionPath {
		l.serveAction(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a Backend Interfaces message", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxMessageBytes+1))
	if err != nil {
		l.m.refused.WithLabelValues("malformed").Inc()
		http.Error(w, "cannot read the request", http.StatusBadRequest)
		return
	}
	msg, err := Parse(body)
	if err != nil {
		l.m.refused.WithLabelValues("malformed").Inc()
		l.log.Debug("peer request refused", "reason", "malformed", "remote", r.RemoteAddr, "err", err)
		var pe *ParseError
		code := ResultMalformedMessage
		if errors.As(err, &pe) {
			code = pe.Code
		}
		l.writeRefusal(w, http.StatusBadRequest, msg, body, code, err.Error())
		return
	}
	peer, reason := l.authenticate(r, msg)
	if peer == nil {
		l.m.refused.WithLabelValues(reason).Inc()
		l.log.Warn("peer request refused", "reason", reason, "remote", r.RemoteAddr, "sender_nsid", msg.nsids().SenderNSID)
		l.writeRefusal(w, http.StatusForbidden, msg, body, ResultUnknownSender, reason)
		return
	}
	if rn := msg.nsids().ReceiverNSID; rn != "" && !strings.EqualFold(rn, l.self.NSID.String()) {
		l.m.refused.WithLabelValues("unknown_receiver").Inc()
		l.writeRefusal(w, http.StatusBadRequest, msg, body, ResultUnknownReceiver, "this is "+l.self.NSID.String())
		return
	}
	if !l.buckets[peer.NSID].allow(l.now()) {
		l.m.refused.WithLabelValues("rate_limited").Inc()
		l.writeRefusal(w, http.StatusTooManyRequests, msg, body, ResultDeferred, "rate limit")
		return
	}
	ans := l.dispatch(r.Context(), peer, msg)
	if ans == nil {
		l.m.refused.WithLabelValues("unsupported").Inc()
		l.writeRefusal(w, http.StatusBadRequest, msg, body, ResultMalformedMessage, "not a request this instance takes")
		return
	}
	l.answerHeader(msg, ans, peer)
	res := &ansResult(ans).ResultCode
	l.m.received.WithLabelValues(peer.Name, string(msg.base().MessageType), string(NormalResult(*res))).Inc()
	l.peerStats[peer.NSID].received.Add(1)
	*res = ResultCode(msg.base().ProtocolVersion, *res)
	writeJSON(w, http.StatusOK, ans)
}

func (l *Link) dispatch(ctx context.Context, peer *Peer, msg Message) Message {
	if l.opts.Handler == nil {
		return nil
	}
	switch m := msg.(type) {
	case *PRStartReq:
		return l.opts.Handler.HandlePRStart(ctx, peer, m)
	case *XmitDataReq:
		return l.opts.Handler.HandleXmitData(ctx, peer, m)
	}
	return nil
}

// authenticate finds the sender (by SenderNSID; for a 1.0 peer by its
// client certificate or token) and checks every credential its table entry
// asks for. It returns nil and a reason when the sender is refused.
func (l *Link) authenticate(r *http.Request, msg Message) (*Peer, string) {
	return l.authenticateSender(r, msg.nsids().SenderNSID)
}

// authenticateSender is authenticate for a sender that names itself by
// NSID s (empty: a 1.0 sender).
func (l *Link) authenticateSender(r *http.Request, s string) (*Peer, string) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var peer *Peer
	if s != "" {
		var nsid lorawan.EUI64
		if nsid.UnmarshalText([]byte(s)) == nil {
			peer, _ = l.opts.Table.Peer(nsid)
		}
	} else {
		peer = l.identify10(r, token)
	}
	if peer == nil || peer.NSID == l.self.NSID {
		return nil, "unknown_sender"
	}
	if peer.Auth.hash != nil && !peer.Auth.TokenMatches(token) {
		return nil, "unauthenticated"
	}
	if peer.Auth.ca != nil && !certNames(r.TLS, peer) {
		return nil, "unauthenticated"
	}
	return peer, ""
}

// identify10 finds a 1.0 sender, which names no NSID: by the NSID its
// client certificate carries, else by its token.
func (l *Link) identify10(r *http.Request, token string) *Peer {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		c := r.TLS.PeerCertificates[0]
		for _, n := range append([]string{c.Subject.CommonName}, c.DNSNames...) {
			var nsid lorawan.EUI64
			if nsid.UnmarshalText([]byte(n)) == nil {
				if p, ok := l.opts.Table.Peer(nsid); ok {
					return p
				}
			}
		}
	}
	if token == "" {
		return nil
	}
	for i := range l.opts.Table.Peers {
		if l.opts.Table.Peers[i].Auth.TokenMatches(token) {
			return &l.opts.Table.Peers[i]
		}
	}
	return nil
}

// certNames reports whether the client certificate chains to the peer's
// own CA and names its NSID (common name or DNS name, in hex).
func certNames(cs *tls.ConnectionState, p *Peer) bool {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return false
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.Auth.ca, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return false
	}
	want := p.NSID.String()
	for _, n := range append([]string{leaf.Subject.CommonName}, leaf.DNSNames...) {
		if strings.EqualFold(n, want) {
			return true
		}
	}
	return false
}

func ansResult(m Message) *backend.Result {
	switch m := m.(type) {
	case *PRStartAns:
		return &m.Result
	case *XmitDataAns:
		return &m.Result
	}
	return &backend.Result{}
}

var answerType = map[backend.MessageType]backend.MessageType{
	backend.PRStartReq: backend.PRStartAns, backend.XmitDataReq: backend.XmitDataAns,
}

// answerHeader fills the answer's header from the request's: the same
// version and transaction, sender and receiver swapped.
func (l *Link) answerHeader(req, ans Message, peer *Peer) {
	rb, ab := req.base(), ans.base()
	ab.ProtocolVersion = rb.ProtocolVersion
	ab.SenderID, ab.ReceiverID = rb.ReceiverID, rb.SenderID
	ab.TransactionID = rb.TransactionID
	ab.MessageType = answerType[rb.MessageType]
	ab.ReceiverToken = rb.SenderToken
	if rb.ProtocolVersion == ProtocolVersion11 {
		ans.nsids().SenderNSID = l.self.NSID.String()
		if peer != nil {
			ans.nsids().ReceiverNSID = peer.NSID.String()
		}
	}
}

// writeRefusal answers a request that is not processed, with the result
// code in the answer type of the request when it could be read.
func (l *Link) writeRefusal(w http.ResponseWriter, status int, req Message, body []byte, code backend.ResultCode, desc string) {
	var ans Message
	switch req.(type) {
	case *XmitDataReq:
		ans = &XmitDataAns{}
	default:
		ans = &PRStartAns{}
	}
	version := ProtocolVersion11
	if req != nil {
		l.answerHeader(req, ans, nil)
		version = req.base().ProtocolVersion
	} else {
		var h header
		if json.Unmarshal(body, &h) == nil && h.ProtocolVersion == ProtocolVersion10 {
			version = ProtocolVersion10
		}
		ans.base().ProtocolVersion = version
		ans.base().MessageType = backend.PRStartAns
	}
	*ansResult(ans) = backend.Result{ResultCode: ResultCode(version, code), Description: desc}
	writeJSON(w, status, ans)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ErrNoAnswer is wrapped by Send's error when the peer could not be asked
// (unreachable, TLS, timeout, an HTTP error without a readable answer).
var ErrNoAnswer = errors.New("roaming: no answer from peer")

// Send sends req to the peer and returns its answer. The header is filled
// here: ProtocolVersion 1.1, the county NetID as SenderID and ReceiverID,
// this instance's and the peer's NSID, a fresh TransactionID. An answer
// whose result is not Success is returned with an error wrapping
// ErrAnswer; no answer at all wraps ErrNoAnswer.
func (l *Link) Send(ctx context.Context, to *Peer, req Message) (Message, error) {
	c, ok := l.clients[to.NSID]
	if !ok {
		return nil, fmt.Errorf("roaming: %s is not a peer", to.NSID)
	}
	b := req.base()
	b.ProtocolVersion = ProtocolVersion11
	b.SenderID, b.ReceiverID = l.opts.Table.NetID.String(), l.opts.Table.NetID.String()
	b.TransactionID = l.tid.Add(1)
	n := req.nsids()
	n.SenderNSID, n.ReceiverNSID = l.self.NSID.String(), to.NSID.String()
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("roaming: encode %s: %w", b.MessageType, err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, to.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("roaming: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if l.opts.Config.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+l.opts.Config.Token)
	}
	start := l.now()
	ans, err := l.exchange(c, hr)
	ps := l.peerStats[to.NSID]
	ps.sent.Add(1)
	if err != nil {
		ps.failed(l.now())
		l.m.errors.WithLabelValues(to.Name).Inc()
		l.m.sent.WithLabelValues(to.Name, string(b.MessageType), "error").Inc()
		return nil, fmt.Errorf("%w %s (%s): %w", ErrNoAnswer, to.Name, to.URL, err)
	}
	rtt := l.now().Sub(start)
	l.m.rtt.WithLabelValues(to.Name).Observe(rtt.Seconds())
	ps.observe(rtt, l.now())
	res := NormalResult(ansResult(ans).ResultCode)
	l.m.sent.WithLabelValues(to.Name, string(b.MessageType), string(res)).Inc()
	if ans.base().TransactionID != b.TransactionID {
		return nil, fmt.Errorf("%w %s: answer for transaction %d, sent %d", ErrNoAnswer, to.Name, ans.base().TransactionID, b.TransactionID)
	}
	if res != ResultSuccess {
		return ans, fmt.Errorf("%w %s: %s %s", ErrAnswer, to.Name, res, ansResult(ans).Description)
	}
	return ans, nil
}

func (l *Link) exchange(c *http.Client, hr *http.Request) (Message, error) {
	resp, err := c.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxMessageBytes+1))
	if err != nil {
		return nil, err
	}
	ans, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	switch ans.(type) {
	case *PRStartAns, *XmitDataAns:
		return ans, nil
	}
	return nil, fmt.Errorf("HTTP %d: answer is a %s", resp.StatusCode, ans.base().MessageType)
}
