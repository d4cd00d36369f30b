package network

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 1, 15, 6, 30, 0, 0, time.UTC)
	tests := []struct {
		expiry, at string
		want       time.Duration
		err        string
	}{
		{"", "", 0, ""},
		{"30m", "", 30 * time.Minute, ""},
		{"", "2026-01-15T07:00:00Z", 30 * time.Minute, ""},
		{"", "2026-01-15T08:00:00+01:00", 30 * time.Minute, ""},
		{"30m", "2026-01-15T07:00:00Z", 0, "either expiry or expires_at"},
		{"soon", "", 0, `expiry: expected a duration such as 30m or 2h, got "soon"`},
		{"-5m", "", 0, "expiry: -5m is outside"},
		{"169h", "", 0, "expiry: 169h is outside"},
		{"", "tomorrow", 0, "expires_at: expected an RFC 3339 time"},
		{"", "2026-01-15T06:00:00Z", 0, "already passed"},
		{"", "2026-02-15T06:00:00Z", 0, "more than 168h0m0s ahead"},
	}
	for _, tt := range tests {
		got, err := ParseExpiry(tt.expiry, tt.at, now)
		if tt.err != "" {
			require.Error(t, err, "%q %q", tt.expiry, tt.at)
			assert.Contains(t, err.Error(), tt.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "%q %q", tt.expiry, tt.at)
	}
}
