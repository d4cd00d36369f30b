package semtechudp

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGPSClockCheck(t *testing.T) {
	cfg := DefaultConfig().GPSTime
	host := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	type rx struct {
		time time.Time
		tmst uint32
		want string
	}
	tests := []struct {
		name string
		cfg  GPSTimeConfig
		rxs  []rx
	}{
		{"consistent", cfg, []rx{
			{host, 1_000_000, ""},
			{host.Add(2 * time.Second), 3_000_000, ""},
			{host.Add(2*time.Second + 40*time.Millisecond), 3_000_000, ""}, // within 100 ms
		}},
		{"stuck clock", cfg, []rx{
			{host, 1_000_000, ""},
			{host, 1_400_000, TimeTmstDrift},
			{host, 1_800_000, TimeTmstDrift},
			{host, 2_200_000, TimeTmstDrift},
		}},
		{"jump and recovery", cfg, []rx{
			{host, 1_000_000, ""},
			{host.Add(5 * time.Minute), 2_000_000, TimeTmstDrift},
			{host.Add(2 * time.Second), 3_000_000, TimeTmstDrift}, // against the jumped reference
			{host.Add(3 * time.Second), 4_000_000, ""},
		}},
		{"tmst wraps", cfg, []rx{
			{host, 4_294_000_000, ""},
			{host.Add(2 * time.Second), 1_032_704, ""}, // 2^32 - 4_294_000_000 + 1_032_704 = 2 s
		}},
		{"an hour apart, a wrap in between", cfg, []rx{
			{host.Add(-5 * time.Minute), 100, ""},
			{host.Add(-5*time.Minute + 80*time.Minute), uint32((80 * time.Minute).Microseconds()) + 100, TimeHostSkew},
		}},
		{"far from the host", cfg, []rx{
			{host.Add(-11 * time.Minute), 1, TimeHostSkew},
			{host.Add(11 * time.Minute), 2, TimeHostSkew},
		}},
		{"replaying history", GPSTimeConfig{MaxHostSkew: time.Minute, MaxTmstDrift: 100 * time.Millisecond, IgnoreHostClock: true}, []rx{
			{host.Add(-400 * 24 * time.Hour), 1_000_000, ""},
			{host.Add(-400*24*time.Hour + 5*time.Second), 6_000_000, ""},
			{host.Add(-400*24*time.Hour + 5*time.Second), 7_000_000, TimeTmstDrift},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c gpsClock
			for i, r := range tc.rxs {
				assert.Equal(t, r.want, c.check(tc.cfg, r.time, r.tmst, host), "rxpk %d", i)
			}
		})
	}
	// 80 minutes apart but near the host: the wrap is accounted for.
	var c gpsClock
	t1 := host.Add(-40 * time.Minute)
	require.Empty(t, c.check(cfg, t1, 100, t1))
	assert.Empty(t, c.check(cfg, t1.Add(80*time.Minute), uint32((80*time.Minute).Microseconds())+100, t1.Add(80*time.Minute)))
}

// A gateway with a stuck GPS clock: the first frame keeps its GPS time, the
// others carry none (the reception time dates them), counted per gateway.
func TestServerStuckGPSClock(t *testing.T) {
	now := time.Now().UTC()
	s := startServer(t, Options{Now: func() time.Time { return now }})
	g := newGW(t, s, testMAC)
	stuck := CompactTime(now.Add(-3 * time.Second))
	for i := range 4 {
		rx := rxpk([]byte{byte(i)}, 1)
		rx.Tmst = uint32(1_000_000 + i*500_000)
		rx.Time = &stuck
		g.send(&PushDataPacket{ProtocolVersion: 2, RandomToken: uint16(i), GatewayMAC: testMAC, Payload: PushDataPayload{RXPK: []RXPK{rx}}})
		g.recv()
	}
	for i := range 4 {
		f := recvFrame(t, s)
		require.NotNil(t, f.RXPK.Time, "the rxpk stays as reported")
		if i == 0 {
			require.NotNil(t, f.Time)
			assert.Equal(t, time.Time(stuck), *f.Time)
			continue
		}
		assert.Nil(t, f.Time, "frame %d", i)
	}
	assert.InDelta(t, 3, testutil.ToFloat64(s.m.timeRejected.WithLabelValues(TimeTmstDrift)), 0)
	st, _ := s.Gateway(testMAC)
	assert.Equal(t, uint64(3), st.GPSTimeRejected)

	// TrustGPSTime passes the times on unchecked (the daemon's simulator).
	s2 := startServer(t, Options{Now: func() time.Time { return now }, TrustGPSTime: true})
	g2 := newGW(t, s2, testMAC)
	rx := rxpk([]byte{1}, 1)
	old := CompactTime(now.Add(-48 * time.Hour))
	rx.Time = &old
	g2.send(&PushDataPacket{ProtocolVersion: 2, RandomToken: 9, GatewayMAC: testMAC, Payload: PushDataPayload{RXPK: []RXPK{rx}}})
	g2.recv()
	f := recvFrame(t, s2)
	require.NotNil(t, f.Time)
	assert.Equal(t, time.Time(old), *f.Time)
}

func TestConfigValidateGPSTime(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	c := DefaultConfig()
	c.GPSTime.MaxHostSkew = 0
	c.GPSTime.MaxTmstDrift = time.Minute
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "udp.gps_time.max_host_skew")
	assert.Contains(t, err.Error(), "udp.gps_time.max_tmst_drift")
}
