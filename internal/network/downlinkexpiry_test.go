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
		want       time.Time
		err        string
	}{
		{"", "", time.Time{}, ""},
		{"30m", "", now.Add(30 * time.Minute), ""},
		{"", "2026-01-15T07:00:00Z", now.Add(30 * time.Minute), ""},
		{"", "2026-01-15T08:00:00+01:00", now.Add(30 * time.Minute), ""},
		{"30m", "2026-01-15T07:00:00Z", time.Time{}, "either expiry or expires_at"},
		{"soon", "", time.Time{}, `expiry: expected a duration such as 30m or 2h, got "soon"`},
		{"-5m", "", time.Time{}, "expiry: -5m is outside"},
		{"169h", "", time.Time{}, "expiry: 169h is outside"},
		{"", "tomorrow", time.Time{}, "expires_at: expected an RFC 3339 time"},
		{"", "2026-01-15T06:00:00Z", time.Time{}, "already passed"},
		{"", "2026-02-15T06:00:00Z", time.Time{}, "more than 168h0m0s ahead"},
	}
	for _, tt := range tests {
		got, err := ParseExpiry(tt.expiry, tt.at, now)
		if tt.err != "" {
			require.Error(t, err, "%q %q", tt.expiry, tt.at)
			assert.Contains(t, err.Error(), tt.err)
			continue
		}
		require.NoError(t, err)
		assert.True(t, tt.want.Equal(got), "%q %q: %s", tt.expiry, tt.at, got)
	}
}
