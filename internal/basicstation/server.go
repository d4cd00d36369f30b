package basicstation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	// ID of each downlink the router confirms and the window it was sent
	// in; it must not block.
	OnDntxed   func(router lorawan.EUI64, id uint64, w Window)
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
	onDntxed func(lorawan.EUI64, uint64, Window)
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

type pendingDn struct {
	router   lorawan.EUI64
	deadline time.Time
	// The windows of a Class A downlink offered in both, to tell from
	// dntxed which one the router used; rx2Freq is 0 otherwise.
	tmst             uint32
	rx1Freq, rx2Freq uint32
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
	s.warnReadable(o.Config)
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

// upgrade takes a WebSocket unless the server is shutting down. On success
// the connection counts as active: the caller must call s.active.Done.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) (*websocket.Conn, bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return nil, false
	}
	s.active.Add(1)
	s.mu.Unlock()
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.active.Done()
		s.m.refused.WithLabelValues(refusedBadRequest).Inc()
		return nil, false
	}
	return ws, true
}

// serveRouterInfo answers the discovery: the router sends its EUI and
// learns the URI of its WebSocket. The router must authenticate here as on
// its WebSocket, so the LNS tells unknown parties nothing.
func (s *Server) serveRouterInfo(w http.ResponseWriter, r *http.Request) {
	ws, ok := s.upgrade(w, r)
	if !ok {
		return
	}
	defer s.active.Done()
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
	ws, ok := s.upgrade(w, r)
	if !ok {
		return
	}
	defer s.active.Done()
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
	p := pendingDn{router: d.RouterID, deadline: s.now().Add(s.cfg.DntxedTimeout)}
	if !d.Immediately {
		p.tmst, p.rx1Freq, p.rx2Freq = d.Tmst, d.Frequency, d.RX2Frequency
	}
	s.pending[d.ID] = p
	s.stats[d.RouterID].Downlinks++
	s.mu.Unlock()
	return nil
}

// confirm settles a dntxed; false when no downlink awaited it.
func (s *Server) confirm(router lorawan.EUI64, id uint64) (pendingDn, bool) {
	s.mu.Lock()
	p, ok := s.pending[id]
	if ok && p.router == router {
		delete(s.pending, id)
		s.stats[router].Dntxed++
		s.stats[router].DntxedMissingRun = 0
	}
	s.mu.Unlock()
	return p, ok && p.router == router
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
