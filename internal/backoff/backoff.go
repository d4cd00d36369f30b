// Package backoff is the retry policy of the sinks that deliver the store's
// log to a remote server: exponential delays with jitter, a wait that ends
// with its context, and the reason label of a failed HTTP request.
package backoff

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"
)

// Policy doubles the delay per attempt from Min up to Max.
type Policy struct {
	Min, Max time.Duration
}

// Delay returns the delay before retry attempt+1 (attempt counts from 0):
// Min doubled per attempt, capped at Max, with "equal jitter" (half fixed,
// half random) so that many gateways recovering from the same outage
// spread out.
func (p Policy) Delay(attempt int) time.Duration {
	d := max(p.Min, time.Nanosecond)
	for i := 0; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// Sleep waits d, or until ctx is done (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Reason is the label of a failed request by its HTTP status (0: no answer):
// network, throttled, server, or client (401, 403, 404: credentials or URL,
// which an operator can fix).
func Reason(status int) string {
	switch {
	case status == 0:
		return "network"
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return "throttled"
	case status >= 500:
		return "server"
	default:
		return "client"
	}
}

// Reasons lists every value Reason returns, to initialise metric labels.
var Reasons = []string{"network", "throttled", "server", "client"}
