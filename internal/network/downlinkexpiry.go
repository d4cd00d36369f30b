package network

import (
	"errors"
	"fmt"
	"time"
)

// MaxDownlinkExpiry bounds how far ahead a queued downlink may expire; a
// command for a device silent longer than a week is stale anyway.
const MaxDownlinkExpiry = 7 * 24 * time.Hour

// ParseExpiry reads the optional expiry of a downlink given through the
// HTTP API or MQTT: expiry is a duration from now ("30m", "2h"),
// expiresAt an RFC 3339 instant, taken as its distance from now; at most
// one of them. It returns what EnqueueDownlinkExpiring takes: 0 means the
// downlink never expires. Errors name the field and are worded for the
// operator.
func ParseExpiry(expiry, expiresAt string, now time.Time) (time.Duration, error) {
	switch {
	case expiry != "" && expiresAt != "":
		return 0, errors.New("give either expiry or expires_at, not both")
	case expiry != "":
		d, err := time.ParseDuration(expiry)
		if err != nil {
			return 0, fmt.Errorf("expiry: expected a duration such as 30m or 2h, got %q", expiry)
		}
		if d <= 0 || d > MaxDownlinkExpiry {
			return 0, fmt.Errorf("expiry: %s is outside 1s..%s", expiry, MaxDownlinkExpiry)
		}
		return d, nil
	case expiresAt != "":
		t, err := time.Parse(time.RFC3339, expiresAt)
		if err != nil {
			return 0, fmt.Errorf("expires_at: expected an RFC 3339 time such as 2026-01-15T07:00:00Z, got %q", expiresAt)
		}
		if !t.After(now) {
			return 0, fmt.Errorf("expires_at: %s has already passed", expiresAt)
		}
		if t.Sub(now) > MaxDownlinkExpiry {
			return 0, fmt.Errorf("expires_at: %s is more than %s ahead", expiresAt, MaxDownlinkExpiry)
		}
		return t.Sub(now), nil
	}
	return 0, nil
}
