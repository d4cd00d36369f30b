// Package httpapi serves loraedge's REST API under /api/v1, the embedded
// web page, /metrics, /healthz and /readyz.
//
// Every route except /healthz and /readyz needs a bearer token: a read
// token allows GET, an admin token everything. Tokens are compared in
// constant time over their SHA-256 digests, so neither content nor length
// leaks through timing. A token that crossed a network in clear text (plain
// HTTP on a non-loopback connection, no TLS-terminating proxy configured)
// is refused, and failed logins are rate-limited per client (authlimit.go).
// With http.tls the server speaks HTTPS only (tls.go). Request bodies are size-limited, and every error is
// JSON: {"error": {"code": "...", "message": "..."}} with the internal
// cause only in the log.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/loraedge/loraedge/internal/site"
)

// Options configures a Server. The service fields are optional: a route
// whose service is nil answers 501.
type Options struct {
	// Config's ReadToken may use GET routes, its AdminToken every route;
	// Listen is the caller's to bind (see Run).
	Config Config

	Gateways  GatewayLister
	Devices   DeviceStore
	Sessions  SessionLister
	MAC       MACSource
	Sites     SiteLister
	Series    SeriesReader
	Downlinks Downlinker
	Alerts    AlertService
	Reports   ReportService
	Measures  MeasureService
	// Scheduled serves the kept scheduled energy reports; nil: 501.
	Scheduled ScheduledReports
	OpenData  OpenDataCatalog
	Roads     RoadForecaster
	Civil     CivilService
	Datex2    Datex2Publisher
	Frames    FrameLog
	Peers     PeerLister

	// Gatherer is exposed on /metrics.
	Gatherer prometheus.Gatherer
	// Ready reports nil once the store is open and the UDP port bound.
	Ready func() error

	// MaxBodyBytes limits request bodies (default 64 KiB).
	MaxBodyBytes int64
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	Now          func() time.Time
}

// Server is the HTTP API.
type Server struct {
	opts     Options
	log      *slog.Logger
	read     [][32]byte
	admin    [][32]byte
	mux      *http.ServeMux
	requests *prometheus.CounterVec
	// certs is nil without http.tls.
	certs        *certStore
	limiter      *authLimiter
	authFailures *prometheus.CounterVec
	authEvicted  prometheus.Counter
}

// New builds the server and its routes.
func New(opts Options) (*Server, error) {
	if opts.Config.AdminToken == "" && opts.Config.ReadToken == "" {
		return nil, errors.New("httpapi: at least one token is required")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 10
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.NewRegistry()
	}
	s := &Server{
		opts: opts,
		log:  opts.Logger.With("component", "httpapi"),
		mux:  http.NewServeMux(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_http_requests_total",
			Help: "HTTP requests by route pattern and status class.",
		}, []string{"route", "code"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_http_auth_failures_total",
			Help: "Requests refused for their token: missing_token, invalid_token, rate_limited (too many bad tokens from the client), plain_http (token sent unencrypted over a network).",
		}, []string{"reason"}),
		authEvicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "loraedge_http_auth_limiter_evictions_total",
			Help: "Clients with recent failed logins forgotten because the rate limiter's table was full.",
		}),
	}
	for _, reason := range []string{reasonMissing, reasonInvalid, reasonLimited, reasonPlain} {
		s.authFailures.WithLabelValues(reason)
	}
	s.limiter = newAuthLimiter(s.authEvicted.Inc)
	if opts.Config.TLS.Enabled() {
		s.certs = &certStore{}
		if err := s.certs.load(opts.Config.TLS); err != nil {
			return nil, err
		}
	}
	var err error
	if s.read, err = tokenSums(opts.Config.ReadToken); err != nil {
		return nil, err
	}
	if s.admin, err = tokenSums(opts.Config.AdminToken); err != nil {
		return nil, err
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.requests, s.authFailures, s.authEvicted} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("httpapi metrics: %w", err)
			}
		}
	}
	s.routes()
	return s, nil
}

// tokenSums digests tok for constant-time comparison; an unset token
// matches nothing.
func tokenSums(tok string) ([][32]byte, error) {
	if tok == "" {
		return nil, nil
	}
	if len(tok) < minTokenLen {
		return nil, fmt.Errorf("httpapi: tokens must have at least %d characters", minTokenLen)
	}
	return [][32]byte{sha256.Sum256([]byte(tok))}, nil
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Run serves on l until ctx is done, then shuts down gracefully. With
// http.tls it serves HTTPS on l.
func (s *Server) Run(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // reports can take a while
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	if s.certs != nil {
		// ServeTLS, unlike Serve on a TLS listener, also offers HTTP/2;
		// the certificate comes from GetCertificate, not from files.
		srv.TLSConfig = s.certs.serverTLSConfig()
		go func() { errc <- srv.ServeTLS(l, "", "") }()
	} else {
		go func() { errc <- srv.Serve(l) }()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	// After Shutdown, Serve returns http.ErrServerClosed.
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: %w", err)
	}
	return nil
}

type access int

const (
	public access = iota
	readAccess
	adminAccess
)

// handle registers pattern with its access level; h returns an error that
// writeError turns into a JSON answer.
func (s *Server) handle(pattern string, acc access, h func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			s.requests.WithLabelValues(pattern, fmt.Sprintf("%dxx", sw.code()/100)).Inc()
		}()
		if acc != public {
			if err := s.authorize(sw, r, acc); err != nil {
				s.writeError(sw, r, err)
				return
			}
		}
		if r.Body != nil {
			limit := s.opts.MaxBodyBytes
			if n, ok := bodyLimits[pattern]; ok {
				limit = n
			}
			r.Body = http.MaxBytesReader(sw, r.Body, limit)
		}
		if err := h(sw, r); err != nil {
			s.writeError(sw, r, err)
		}
	})
}

// Reasons of loraedge_http_auth_failures_total.
const (
	reasonMissing = "missing_token"
	reasonInvalid = "invalid_token"
	reasonLimited = "rate_limited"
	reasonPlain   = "plain_http"
)

// authorize checks r's token. A client with too many bad tokens is refused
// before its token is looked at, so it cannot learn whether the next guess
// was right.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, acc access) error {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		// The web page's downloads cannot set headers; it passes the token
		// as a query parameter on GET only.
		if r.Method == http.MethodGet {
			tok = r.URL.Query().Get("access_token")
		}
		if tok == "" {
			s.authFailures.WithLabelValues(reasonMissing).Inc()
			return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "missing bearer token"}
		}
	}
	if s.plainTokenRefused(localAddr(r.Context())) {
		s.authFailures.WithLabelValues(reasonPlain).Inc()
		return errPlainToken
	}
	client := clientKey(r, s.opts.Config.BehindTLSProxy)
	if wait, blocked := s.limiter.blocked(client); blocked {
		s.authFailures.WithLabelValues(reasonLimited).Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_requests",
			Message: "too many invalid tokens from this address: wait and try again"}
	}
	sum := sha256.Sum256([]byte(tok))
	if match(s.admin, sum) {
		return nil
	}
	if match(s.read, sum) {
		if acc == readAccess {
			return nil
		}
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "this token may only read"}
	}
	s.authFailures.WithLabelValues(reasonInvalid).Inc()
	if s.limiter.fail(client) {
		s.log.Warn("too many invalid tokens, refusing the client for a while", "client", client)
	}
	return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "invalid token"}
}

// errPlainToken refuses a token that crossed a network unencrypted; it
// says how to fix the setup, since the operator is the one reading it.
var errPlainToken = &Error{Status: http.StatusUnauthorized, Code: "insecure_transport",
	Message: "token refused: it was sent over plain HTTP across a network, where anyone on the way can read it; " +
		"use HTTPS (http.tls), or set http.behind_tls_proxy: true if a TLS-terminating proxy sits in front, " +
		"or connect over loopback"}

// match compares against every token so the time does not depend on
// which one matched.
func match(tokens [][32]byte, sum [32]byte) bool {
	found := 0
	for i := range tokens {
		found |= subtle.ConstantTimeCompare(tokens[i][:], sum[:])
	}
	return found == 1
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Flush lets streamed answers through.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) routes() {
	s.handle("GET /healthz", public, func(w http.ResponseWriter, _ *http.Request) error {
		_, err := w.Write([]byte("ok\n"))
		return err
	})
	s.handle("GET /readyz", public, func(w http.ResponseWriter, _ *http.Request) error {
		if s.opts.Ready != nil {
			if err := s.opts.Ready(); err != nil {
				return &Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: err.Error()}
			}
		}
		_, err := w.Write([]byte("ready\n"))
		return err
	})
	metrics := promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{})
	s.handle("GET /metrics", readAccess, func(w http.ResponseWriter, r *http.Request) error {
		metrics.ServeHTTP(w, r)
		return nil
	})
	s.handle("GET /api/v1/openapi.json", public, s.openAPI)
	s.handle("GET /api/v1/gateways", readAccess, s.listGateways)
	s.handle("GET /api/v1/peers", readAccess, s.listPeers)
	s.handle("GET /api/v1/sites", readAccess, s.listSites)
	s.handle("GET /api/v1/devices", readAccess, s.listDevices)
	s.handle("POST /api/v1/devices", adminAccess, s.createDevice)
	s.handle("POST /api/v1/devices:import", adminAccess, s.importDevices)
	s.handle("GET /api/v1/devices/{dev_eui}", readAccess, s.getDevice)
	s.handle("PUT /api/v1/devices/{dev_eui}", adminAccess, s.putDevice)
	s.handle("DELETE /api/v1/devices/{dev_eui}", adminAccess, s.deleteDevice)
	s.handle("GET /api/v1/devices/{dev_eui}/latest", readAccess, s.deviceLatest)
	s.handle("GET /api/v1/devices/{dev_eui}/mac", readAccess, s.deviceMAC)
	s.handle("POST /api/v1/devices/{dev_eui}/downlinks", adminAccess, s.enqueueDownlink)
	s.handle("GET /api/v1/series", readAccess, s.listSeries)
	s.handle("GET /api/v1/series/query", readAccess, s.querySeries)
	s.handle("GET /api/v1/alerts", readAccess, s.listAlerts)
	s.handle("POST /api/v1/alerts/{id}/ack", adminAccess, s.ackAlert)
	s.handle("GET /api/v1/silences", readAccess, s.listSilences)
	s.handle("POST /api/v1/silences", adminAccess, s.createSilence)
	s.handle("DELETE /api/v1/silences/{id}", adminAccess, s.expireSilence)
	s.handle("GET /api/v1/reports/energy", readAccess, s.energyReport)
	s.handle("GET /api/v1/reports/scheduled", readAccess, s.listScheduled)
	s.handle("GET /api/v1/reports/scheduled/{name}", readAccess, s.scheduledReport)
	s.handle("GET /api/v1/energy/measures", readAccess, s.listMeasures)
	s.handle("POST /api/v1/energy/measures", adminAccess, s.addMeasure)
	s.handle("GET /api/v1/roads/{station}/forecast", readAccess, s.roadForecast)
	s.handle("GET /api/v1/gauges", readAccess, s.civilList(site.Gauge, "gauges"))
	s.handle("GET /api/v1/gauges/{site}", readAccess, s.gauge)
	s.handle("GET /api/v1/areas", readAccess, s.civilList(site.Area, "areas"))
	s.handle("GET /api/v1/areas/{site}", readAccess, s.area)
	s.handle("GET /api/v1/opendata", readAccess, s.openDataList)
	s.handle("GET /api/v1/opendata/{key...}", readAccess, s.openDataSeries)
	s.handle("GET /api/v1/datex2/measured", readAccess, s.datex2("measured"))
	s.handle("GET /api/v1/datex2/sites", readAccess, s.datex2("sites"))
	s.handle("GET /api/v1/frames", readAccess, s.listFrames)
	s.handle("GET /api/v1/frames/stream", readAccess, s.streamFrames)
	// The fallbacks below match every method: a known path asked with
	// a method it does not serve answers 405 with Allow, not 404.
	s.handle("/api/", public, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.methodNotAllowed(w, r); err != nil {
			return err
		}
		if err := s.authorize(w, r, readAccess); err != nil {
			return err
		}
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such API route"}
	})
	web := webHandler()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if err := s.methodNotAllowed(w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		web.ServeHTTP(w, r)
	})
}

// fallbacks are the patterns that match any method and path.
var fallbacks = map[string]bool{"/api/": true, "/": true}

// methodNotAllowed returns a 405 error, with the Allow header set, when
// r's path has routes but none for r's method.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); !fallbacks[pattern] {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return nil
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	return &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
		Message: r.Method + " is not served on this path; allowed: " + strings.Join(allow, ", ")}
}
