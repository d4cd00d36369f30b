package basicstation

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/brocaar/lorawan/band"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/uplink"
)

// Frame is an uplink a router heard, in the form GWMP frames take.
type Frame struct {
	RouterID   lorawan.EUI64
	PHYPayload []byte
	RxInfo     uplink.RxInfo
}

// Options configures a Server.
type Options struct {
	Config Config
	// Band is the band the network layer plans with, its extra channels
	// added; router_config is built from it and it is only read.
	Band band.Band
	// OnDntxed is called, on the router's connection goroutine, with the
	// ID of each downlink the router confirms; it must not block.
	OnDntxed   func(router lorawan.EUI64, id uint64)
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Server is the LNS side of the Basics Station protocol.
type Server struct {
	cfg      Config
	log      *slog.Logger
	m        *metrics
	now      func() time.Time
	plan     *plan
	onDntxed func(lorawan.EUI64, uint64)
	// access and tlsConf are swapped whole by Reload; a handshake or a
	// check in progress keeps the one it loaded.
	access    atomic.Pointer[access]
	tlsConf   atomic.Pointer[tls.Config]
	clientCAs atomic.Pointer[x509.CertPool] // nil: no client certificates
	upgrader  websocket.Upgrader
	frames    chan Frame
	ln        net.Listener

	mu      sync.Mutex
	closed  bool
	conns   map[lorawan.EUI64]*routerConn
	infos   map[*websocket.Conn]struct{} // router-info exchanges in progress
	active  sync.WaitGroup
	pending map[uint64]pendingDn
	stats   map[lorawan.EUI64]*RouterStats
}

// access is who may connect: the routers, by EUI their names and tokens.
type access struct {
	routers []RouterConfig
	names   map[lorawan.EUI64]string
	tokens  map[lorawan.EUI64]string
}

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

type pendingDn struct {
	router   lorawan.EUI64
	deadline time.Time
}

// NewServer checks the options, reads the certificates and tokens and
// binds the listener, so that a bad file or a used port fails at start.
func NewServer(o Options) (*Server, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if !o.Config.Enabled() {
		return nil, errors.New("basicstation: basicstation.listen is empty")
	}
	p, err := newPlan(o.Band)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: o.Config, log: o.Logger.With("component", "basicstation"), m: m, now: o.Now, plan: p,
		onDntxed: o.OnDntxed, frames: make(chan Frame, o.Config.QueueSize), conns: map[lorawan.EUI64]*routerConn{}, infos: map[*websocket.Conn]struct{}{},
		pending: map[uint64]pendingDn{}, stats: map[lorawan.EUI64]*RouterStats{}}
	a, err := newAccess(o.Config.Routers)
	if err != nil {
		return nil, err
	}
	s.access.Store(a)
	s.addStats(a)
	tc, pool, err := serverTLS(o.Config.TLS)
	if err != nil {
		return nil, err
	}
	s.tlsConf.Store(tc)
	s.clientCAs.Store(pool)
	s.upgrader = websocket.Upgrader{HandshakeTimeout: 10 * time.Second,
		// Routers are not browsers; an Origin header proves nothing here.
		CheckOrigin: func(*http.Request) bool { return true }}
	ln, err := net.Listen("tcp", o.Config.Listen)
	if err != nil {
		return nil, fmt.Errorf("basicstation: listen %s: %w", o.Config.Listen, err)
	}
	s.ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return s.tlsConf.Load(), nil }})
	return s, nil
}

// addStats gives every router of a a place for its figures; a router
// removed and listed again keeps its old ones.
func (s *Server) addStats(a *access) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range a.routers {
		if st := s.stats[r.ID]; st != nil {
			st.Name = r.Name
			continue
		}
		s.stats[r.ID] = &RouterStats{ID: r.ID, Name: r.Name}
	}
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
	conf := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
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

// Addr is the address the LNS listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Frames delivers the routers' uplinks; it is closed when Run returns.
func (s *Server) Frames() <-chan Frame { return s.frames }

// Run serves routers until ctx is done, then closes every connection and
// the frame channel.
func (s *Server) Run(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /router-info", s.serveRouterInfo)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { s.serveRouter(ctx, w, r) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-errc:
			break loop
		case <-t.C:
			s.expireDntxed()
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx) //nolint:errcheck // hijacked router connections are closed below
	s.mu.Lock()
	s.closed = true
	for _, c := range s.conns {
		c.close()
	}
	for ws := range s.infos {
		_ = ws.Close() //nolint:errcheck // ends the exchange's read
	}
	s.mu.Unlock()
	s.active.Wait()
	close(s.frames)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("basicstation: serve: %w", err)
	}
	return nil
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

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, id lorawan.EUI64, reason string) {
	s.m.refused.WithLabelValues(reason).Inc()
	s.log.Warn("router refused", "router", id.String(), "remote", r.RemoteAddr, "reason", reason)
	code := http.StatusUnauthorized
	switch reason {
	case refusedUnknownRouter:
		code = http.StatusForbidden
	case refusedBadRequest:
		code = http.StatusBadRequest
	}
	http.Error(w, "router refused: "+reason, code)
}

// serveRouterInfo answers the discovery: the router sends its EUI and
// learns the URI of its WebSocket. The router must authenticate here as on
// its WebSocket, so the LNS tells unknown parties nothing.
func (s *Server) serveRouterInfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.active.Add(1)
	s.mu.Unlock()
	defer s.active.Done()
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.m.refused.WithLabelValues(refusedBadRequest).Inc()
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.infos[ws] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.infos, ws)
		s.mu.Unlock()
		_ = ws.Close() //nolint:errcheck // nothing to do about a failed close
	}()
	if closed {
		return
	}
	ws.SetReadLimit(1024)
	_ = ws.SetReadDeadline(s.now().Add(10 * time.Second)) //nolint:errcheck // a dead conn fails the read
	_, b, err := ws.ReadMessage()
	if err != nil {
		s.m.refused.WithLabelValues(refusedBadRequest).Inc()
		return
	}
	var req struct {
		Router any `json:"router"`
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var id lorawan.EUI64
	if err = d.Decode(&req); err == nil {
		id, err = parseRouterID(req.Router)
	}
	answer := map[string]any{"router": req.Router}
	if err != nil {
		s.m.refused.WithLabelValues(refusedBadRequest).Inc()
		answer["error"] = "router: not an EUI-64"
	} else if reason := s.authenticate(r, id); reason != "" {
		s.m.refused.WithLabelValues(reason).Inc()
		s.log.Warn("router refused at router-info", "router", id.String(), "remote", r.RemoteAddr, "reason", reason)
		answer["error"] = "router refused: " + reason
	} else {
		answer["muxs"] = "loraedge"
		answer["uri"] = s.routerURI(r, id)
	}
	_ = ws.SetWriteDeadline(s.now().Add(10 * time.Second)) //nolint:errcheck // a dead conn fails the write
	_ = ws.WriteJSON(answer)                               //nolint:errcheck // the router retries discovery
}

// routerURI is where router id finds its WebSocket: under basicstation.uri,
// or the host the router reached.
func (s *Server) routerURI(r *http.Request, id lorawan.EUI64) string {
	base := s.cfg.URI
	if base == "" {
		base = "wss://" + r.Host
	}
	return strings.TrimSuffix(base, "/") + "/router-" + hex.EncodeToString(id[:])
}

// serveRouter runs one router's WebSocket until it closes or ctx is done.
// A second connection of the same router replaces the first.
func (s *Server) serveRouter(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/router-")
	id, err := parseEUI(rest)
	if !ok || err != nil {
		s.refuse(w, r, id, refusedBadRequest)
		return
	}
	if reason := s.authenticate(r, id); reason != "" {
		s.refuse(w, r, id, reason)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.active.Add(1)
	s.mu.Unlock()
	defer s.active.Done()
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.m.refused.WithLabelValues(refusedBadRequest).Inc()
		return
	}
	c := newRouterConn(s, id, ws)
	s.mu.Lock()
	if old := s.conns[id]; old != nil {
		old.close()
	}
	_, listed := s.access.Load().names[id] // a Reload may have removed it since
	closed := s.closed || !listed
	s.conns[id] = c
	s.mu.Unlock()
	if closed {
		c.close()
	}
	s.seen(id, false, "")
	s.mu.Lock()
	s.stats[id].Remote = r.RemoteAddr
	s.mu.Unlock()
	s.m.accepted.Inc()
	s.m.connected.Inc()
	s.log.Info("router connected", "router", id.String(), "remote", r.RemoteAddr)
	c.run(ctx)
	s.mu.Lock()
	if s.conns[id] == c {
		delete(s.conns, id)
	}
	s.mu.Unlock()
	s.m.connected.Dec()
	s.log.Info("router disconnected", "router", id.String())
}

// Connected reports whether router id has a WebSocket open now.
func (s *Server) Connected(id lorawan.EUI64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[id] != nil
}

// errNotConnected means the router has no WebSocket open.
var errNotConnected = errors.New("router not connected")

// Send schedules a downlink on its router. It never blocks: the message
// goes to the connection's bounded send queue.
func (s *Server) Send(d Downlink) error {
	s.mu.Lock()
	c := s.conns[d.RouterID]
	s.mu.Unlock()
	if c == nil {
		s.m.downlinks.WithLabelValues(dnNotConnected).Inc()
		return fmt.Errorf("basicstation: %s: %w", d.RouterID, errNotConnected)
	}
	msg, err := c.dnmsg(d, s.now())
	if err != nil {
		return err
	}
	if !c.enqueue(msg) {
		s.m.downlinks.WithLabelValues(dnQueueFull).Inc()
		return fmt.Errorf("basicstation: %s: send queue full", d.RouterID)
	}
	s.m.downlinks.WithLabelValues(dnSent).Inc()
	s.mu.Lock()
	s.pending[d.ID] = pendingDn{router: d.RouterID, deadline: s.now().Add(s.cfg.DntxedTimeout)}
	s.stats[d.RouterID].Downlinks++
	s.mu.Unlock()
	return nil
}

// confirm settles a dntxed; false when no downlink awaited it.
func (s *Server) confirm(router lorawan.EUI64, id uint64) bool {
	s.mu.Lock()
	p, ok := s.pending[id]
	if ok && p.router == router {
		delete(s.pending, id)
		s.stats[router].Dntxed++
		s.stats[router].DntxedMissingRun = 0
	}
	s.mu.Unlock()
	return ok && p.router == router
}

// expireDntxed counts the downlinks whose dntxed did not come in time.
func (s *Server) expireDntxed() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, p := range s.pending {
		if now.After(p.deadline) {
			delete(s.pending, id)
			s.m.dntxedMissing.Inc()
			s.stats[p.router].DntxedMissing++
			s.stats[p.router].DntxedMissingRun++
			s.log.Warn("downlink not confirmed by the router", "router", p.router.String(), "id", id)
		}
	}
}

// RouterStats is what the LNS knows of one configured router.
type RouterStats struct {
	ID            lorawan.EUI64
	Name          string
	Connected     bool
	LastSeen      time.Time
	Station       string // the router's version message
	Uplinks       uint64
	Downlinks     uint64
	Dntxed        uint64
	DntxedMissing uint64
	// DntxedMissingRun counts the unconfirmed downlinks since the last
	// dntxed: a router that keeps missing them raises the gateway alert.
	DntxedMissingRun uint64
	Remote           string // address of the current or last connection
}

// Routers returns the configured routers' state.
func (s *Server) Routers() []RouterStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	routers := s.access.Load().routers
	out := make([]RouterStats, 0, len(routers))
	for _, r := range routers {
		st := *s.stats[r.ID]
		st.Connected = s.conns[r.ID] != nil
		out = append(out, st)
	}
	return out
}

// seen records a sign of life of router id: a message or a pong, and
// whether it was an uplink or its version.
func (s *Server) seen(id lorawan.EUI64, uplink bool, station string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats[id]
	st.LastSeen = s.now()
	if uplink {
		st.Uplinks++
	}
	if station != "" {
		st.Station = station
	}
}
