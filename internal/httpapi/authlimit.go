package httpapi

import (
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Failed logins are limited by a token bucket per client: authFailBurst
// bad tokens at once, then one more per authFailEvery. At that rate a
// guesser needs longer than the universe's age for a 16-character token,
// while an operator who mistyped gets going again after half a minute.
const (
	authFailBurst   = 5
	authFailEvery   = 30 * time.Second
	authMaxClients  = 4096
	ipv6PrefixBits  = 64 // one subscriber's network, which one attacker holds entirely
	retryAfterFloor = time.Second
)

// authLimiter counts failed logins per client. Only failures take from a
// bucket and only a client with an empty bucket is refused, so requests
// with a valid token from a client that has not failed are never slowed.
// The map is bounded: a full one first forgets clients whose bucket has
// refilled, then the one idle longest.
type authLimiter struct {
	mu        sync.Mutex
	now       func() time.Time
	clients   map[string]*failBucket
	max       int
	evictions func() // counts a forgotten client that had failures
}

// failBucket holds the failures a client may still make, refilled over
// time, as of at; last is the client's last failure.
type failBucket struct {
	allowance float64
	at, last  time.Time
}

func newAuthLimiter(evicted func()) *authLimiter {
	return &authLimiter{now: time.Now, clients: make(map[string]*failBucket), max: authMaxClients, evictions: evicted}
}

// refill brings b up to now.
func (b *failBucket) refill(now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.allowance = math.Min(authFailBurst, b.allowance+d.Seconds()/authFailEvery.Seconds())
		b.at = now
	}
}

// blocked reports whether client has no failures left, and when it has
// one again.
func (l *authLimiter) blocked(client string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.clients[client]
	if b == nil {
		return 0, false
	}
	b.refill(l.now())
	if b.allowance >= 1 {
		return 0, false
	}
	wait := time.Duration((1 - b.allowance) * float64(authFailEvery))
	return max(wait, retryAfterFloor), true
}

// fail takes one failure from client's bucket and reports whether that
// emptied it.
func (l *authLimiter) fail(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.clients[client]
	if b == nil {
		if len(l.clients) >= l.max {
			l.evict(now)
		}
		b = &failBucket{allowance: authFailBurst, at: now}
		l.clients[client] = b
	}
	b.refill(now)
	b.allowance = math.Max(0, b.allowance-1)
	b.last = now
	return b.allowance < 1
}

// evict makes room: clients whose bucket is full again are forgotten
// without loss; if none is, the one whose last failure is oldest goes and
// is counted.
func (l *authLimiter) evict(now time.Time) {
	var oldest string
	var oldestAt time.Time
	freed := false
	for k, b := range l.clients {
		b.refill(now)
		if b.allowance >= authFailBurst {
			delete(l.clients, k)
			freed = true
			continue
		}
		if oldest == "" || b.last.Before(oldestAt) {
			oldest, oldestAt = k, b.last
		}
	}
	if !freed && oldest != "" {
		delete(l.clients, oldest)
		if l.evictions != nil {
			l.evictions()
		}
	}
}

// clientKey names the client a failed login is charged to: its IP, IPv6
// cut to its /64. Behind a TLS-terminating proxy every connection comes
// from the proxy, so the last X-Forwarded-For entry, the one the proxy
// appended, names the client; entries before it are the client's own word.
func clientKey(r *http.Request, behindProxy bool) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	if behindProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				host = last
			}
		}
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(ipv6PrefixBits, 128)).String() + "/64"
	}
	return ip.String()
}
