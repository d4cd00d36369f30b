package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is the limiter's time, moved by the test.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func limitedServer(t *testing.T) (*Server, *fakeClock) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: Config{AdminToken: adminTok, ReadToken: readTok}, Gatherer: reg, Registerer: reg})
	require.NoError(t, err)
	clk := &fakeClock{t: t0}
	s.limiter.now = clk.now
	return s, clk
}

func call(s *Server, from, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.RemoteAddr = from
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// Five bad tokens are answered 401; from then on the client gets 429 with
// Retry-After, even with the right token, so it cannot learn whether a
// guess was right. Another client and the same client after the wait are
// served; every refusal is counted by reason.
func TestBadTokensAreRateLimited(t *testing.T) {
	s, clk := limitedServer(t)
	const attacker, operator = "192.0.2.7:40000", "192.0.2.8:40000"
	for i := range authFailBurst {
		assert.Equal(t, http.StatusUnauthorized, call(s, attacker, fmt.Sprintf("guess-%016d", i)).Code, i)
	}
	rec := call(s, attacker, "guess-0000000000000099")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	retry, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	require.NoError(t, err)
	assert.Equal(t, int(authFailEvery/time.Second), retry)
	assert.Contains(t, rec.Body.String(), "too_many_requests")
	assert.Equal(t, http.StatusTooManyRequests, call(s, attacker, adminTok).Code, "a right guess is not revealed while blocked")

	assert.Equal(t, http.StatusOK, call(s, operator, adminTok).Code, "other clients are not affected")
	assert.Equal(t, http.StatusUnauthorized, call(s, operator, "").Code)

	clk.t = clk.t.Add(authFailEvery / 2)
	rec = call(s, attacker, adminTok)
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "15", rec.Header().Get("Retry-After"))
	clk.t = clk.t.Add(authFailEvery / 2)
	assert.Equal(t, http.StatusOK, call(s, attacker, adminTok).Code, "one failure regained after the wait")
	assert.Equal(t, http.StatusUnauthorized, call(s, attacker, "guess-0000000000000100").Code)
	assert.Equal(t, http.StatusTooManyRequests, call(s, attacker, adminTok).Code, "and spent again")

	assert.Equal(t, float64(authFailBurst+1), testutil.ToFloat64(s.authFailures.WithLabelValues(reasonInvalid)))
	assert.Equal(t, 4.0, testutil.ToFloat64(s.authFailures.WithLabelValues(reasonLimited)))
	assert.Equal(t, 1.0, testutil.ToFloat64(s.authFailures.WithLabelValues(reasonMissing)))
}

// Successful requests never touch a bucket: a client sending only valid
// tokens is never limited, and a read token on an admin route is a 403,
// not a failed login.
func TestValidTokensAreNeverLimited(t *testing.T) {
	s, _ := limitedServer(t)
	for i := range 100 {
		require.Equal(t, http.StatusOK, call(s, "192.0.2.9:1", readTok).Code, i)
	}
	for range 10 {
		req := httptest.NewRequest(http.MethodDelete, "/api/v1/devices/70b3d57ed0000001", nil)
		req.RemoteAddr = "192.0.2.9:1"
		req.Header.Set("Authorization", "Bearer "+readTok)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		require.Equal(t, http.StatusForbidden, rec.Code)
	}
	assert.Empty(t, s.limiter.clients)
	assert.Equal(t, 0.0, testutil.ToFloat64(s.authFailures.WithLabelValues(reasonInvalid)))
}

// The table of clients is bounded: when full, refilled clients go first
// without loss, else the one idle longest, counted.
func TestLimiterTableBounded(t *testing.T) {
	var evicted int
	l := newAuthLimiter(func() { evicted++ })
	clk := &fakeClock{t: t0}
	l.now, l.max = clk.now, 3
	for i := range 3 {
		clk.t = clk.t.Add(time.Second)
		l.fail(fmt.Sprintf("c%d", i))
	}
	l.fail("c3")
	assert.Len(t, l.clients, 3)
	assert.Equal(t, 1, evicted)
	assert.NotContains(t, l.clients, "c0", "the oldest goes")

	clk.t = clk.t.Add(authFailEvery) // everyone has refilled
	l.fail("c4")
	assert.Len(t, l.clients, 1, "refilled clients are forgotten first")
	assert.Equal(t, 1, evicted, "forgetting a refilled client loses nothing")
}

// IPv6 clients are charged per /64; behind a proxy the address the proxy
// appended to X-Forwarded-For counts, not the proxy's and not the
// client's own claims.
func TestClientKey(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "[2001:db8:1:2:aaaa::1]:5000"
	assert.Equal(t, "2001:db8:1:2::/64", clientKey(req, false))
	req.RemoteAddr = "10.0.0.2:5000"
	req.Header.Add("X-Forwarded-For", "198.51.100.1, 203.0.113.5")
	assert.Equal(t, "10.0.0.2", clientKey(req, false), "headers are ignored without a proxy")
	assert.Equal(t, "203.0.113.5", clientKey(req, true))
	req.Header.Add("X-Forwarded-For", "203.0.113.6")
	assert.Equal(t, "203.0.113.6", clientKey(req, true))
}

// BenchmarkAuthorizeValidToken is the cost of a valid token's check with
// the limiter's table full of blocked clients: one map lookup more than
// the digest comparison.
func BenchmarkAuthorizeValidToken(b *testing.B) {
	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: Config{AdminToken: adminTok}, Gatherer: reg, Registerer: reg})
	require.NoError(b, err)
	for i := range authMaxClients {
		for range authFailBurst {
			s.limiter.fail(fmt.Sprintf("10.%d.%d.1", i/256, i%256))
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.RemoteAddr = "192.0.2.1:1"
	req.Header.Set("Authorization", "Bearer "+adminTok)
	w := httptest.NewRecorder()
	for b.Loop() {
		if err := s.authorize(w, req, adminAccess); err != nil {
			b.Fatal(err)
		}
	}
}
