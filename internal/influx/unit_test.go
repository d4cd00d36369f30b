package influx

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	lp "github.com/influxdata/line-protocol"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Enabled = true
	tests := []struct {
		name   string
		mutate func(*Config)
		errs   []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"disabled is not checked", func(c *Config) { c.Enabled, c.URL, c.BatchSize = false, "", 0 }, nil},
		{"https", func(c *Config) { c.URL = "https://influx.example:8086/" }, nil},
		{"url", func(c *Config) { c.URL = "influx:8086" }, []string{"url:"}},
		{"everything at once", func(c *Config) {
			c.URL, c.Bucket, c.BatchSize, c.FlushInterval, c.Timeout, c.MaxBackoff = "", "", 0, 0, time.Hour, 0
		}, []string{"url:", "bucket:", "batch_size:", "flush_interval:", "timeout:", "max_backoff:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if tt.errs == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.errs), err.Error())
			for i, want := range tt.errs {
				assert.True(t, strings.HasPrefix(lines[i], want), "%q has no prefix %q", lines[i], want)
			}
		})
	}
}

func TestFamilyCoversEveryQuantity(t *testing.T) {
	for q := range measurement.Units {
		assert.NotEqual(t, FamilyOther, Family(q), "quantity %s has no family", q)
	}
	assert.Equal(t, FamilyOther, Family("made_up"))
}

func TestAppendLine(t *testing.T) {
	tm := time.Date(2026, 1, 5, 6, 7, 8, 9, time.UTC)
	tests := []struct {
		name string
		m    measurement.Measurement
		gw   string
		want string // "" = not representable
	}{
		{"plain", measurement.Measurement{Device: "a84041000181c061", Quantity: measurement.CO2, Value: 412, Unit: "ppm", Time: tm}, "gw1",
			"air,device=a84041000181c061,gateway=gw1,unit=ppm co2=412 1767593228000000009"},
		{"channel site no gateway", measurement.Measurement{Device: "d", Quantity: measurement.PulseCount, Channel: 3, Value: 1.5e9, Unit: "1", Time: tm,
			Meta: map[string]string{"site": "Rathaus, Nord=1"}}, "",
			`meter,channel=3,device=d,site=Rathaus\,\ Nord\=1,unit=1 pulse_count=1.5e+09 1767593228000000009`},
		{"line breaks and backslashes", measurement.Measurement{Device: "d\n1\\", Quantity: measurement.RoadSurfaceState, Value: -0.25, Unit: "tls", Time: tm}, "g w",
			`road_weather,device=d_1_,gateway=g\ w,unit=tls road_surface_state=-0.25 1767593228000000009`},
		{"NaN", measurement.Measurement{Device: "d", Quantity: measurement.CO2, Value: math.NaN(), Time: tm}, "", ""},
		{"Inf", measurement.Measurement{Device: "d", Quantity: measurement.CO2, Value: math.Inf(-1), Time: tm}, "", ""},
		{"no device", measurement.Measurement{Quantity: measurement.CO2, Value: 1, Time: tm}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := appendLine([]byte("prefix "), tt.m, tt.gw)
			if tt.want == "" {
				assert.False(t, ok)
				assert.Equal(t, "prefix ", string(b))
				return
			}
			require.True(t, ok)
			assert.Equal(t, "prefix "+tt.want, string(b))
		})
	}
}

// FuzzAppendLine checks that any measurement becomes one line that a line
// protocol parser reads back with the same identity, value and time.
func FuzzAppendLine(f *testing.F) {
	f.Add("a84041000181c061", "co2", "site 1", "gw", 1, 412.5, int64(1767593228000000009))
	f.Add("d,=\\ \n", "x=y z", "a\\", "g\tw", 0, -1e-300, int64(-5))
	f.Fuzz(func(t *testing.T, device, quantity, site, gw string, channel int, v float64, ns int64) {
		m := measurement.Measurement{Device: device, Quantity: measurement.Quantity(quantity), Channel: channel, Value: v,
			Unit: "1", Time: time.Unix(0, ns), Meta: map[string]string{"site": site}}
		b, ok := appendLine(nil, m, gw)
		if !ok {
			return
		}
		got, err := lp.NewParser(lp.NewMetricHandler()).Parse(append(b, '\n'))
		require.NoError(t, err, "%q", b)
		require.Len(t, got, 1, "%q", b)
		tags := map[string]string{}
		for _, tag := range got[0].TagList() {
			tags[tag.Key] = tag.Value
		}
		assert.Equal(t, clean(device), tags["device"], "%q", b)
		assert.Equal(t, clean(site), tags["site"], "%q", b)
		assert.Equal(t, clean(gw), tags["gateway"], "%q", b)
		require.Len(t, got[0].FieldList(), 1)
		assert.Equal(t, clean(quantity), got[0].FieldList()[0].Key)
		assert.Equal(t, v, got[0].FieldList()[0].Value)
		assert.Equal(t, ns, got[0].Time().UnixNano())
	})
}

// clean is what appendEscaped does to characters line protocol cannot carry.
func clean(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f || c == '\\' {
			b[i] = '_'
		}
	}
	return string(b)
}

func TestBackoff(t *testing.T) {
	s := &Sink{cfg: Config{MaxBackoff: time.Second}, opts: Options{MinBackoff: 100 * time.Millisecond}}
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			d := s.backoff(attempt)
			require.GreaterOrEqual(t, d, want/2, "attempt %d", attempt)
			require.LessOrEqual(t, d, want, "attempt %d", attempt)
		}
	}
	assert.LessOrEqual(t, s.backoff(1000), time.Second, "no overflow")
}

func TestFluxString(t *testing.T) {
	assert.Equal(t, `"a\"b\\c\${x}\n"`, fluxString("a\"b\\c${x}\n"))
}

func TestParseKey(t *testing.T) {
	k, err := parseKey("d1/pulse_count/2")
	require.NoError(t, err)
	assert.Equal(t, seriesKey{"d1", measurement.PulseCount, 2}, k)
	assert.Equal(t, "d1/pulse_count/2", k.String())
	for _, bad := range []string{"", "d1", "/co2", "d1/co2/x", "d1/co2/0", "a/b/1/2"} {
		_, err := parseKey(bad)
		assert.Error(t, err, bad)
	}
}

// fakeInflux answers writes with scripted statuses; it plays what a real
// InfluxDB cannot be made to do on demand (413, 429 with Retry-After).
type fakeInflux struct {
	mu     sync.Mutex
	status func(n int, body string) int // status for request n (from 1)
	n      int
	got    []string
}

func (f *fakeInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	body := string(b) + "\n"
	lines := strings.Split(strings.TrimSpace(body), "\n")
	f.mu.Lock()
	f.n++
	code := f.status(f.n, body)
	if code/100 == 2 {
		f.got = append(f.got, lines...)
	}
	f.mu.Unlock()
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "0")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if code/100 != 2 {
		fmt.Fprintf(w, `{"code":"x","message":"status %d"}`, code)
	}
}

func (f *fakeInflux) lines() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

func TestSinkStatusHandling(t *testing.T) {
	tests := []struct {
		name     string
		status   func(n int, body string) int
		retries  map[string]float64
		sent     float64
		rejected float64
	}{
		{"failures are retried", func(n int, _ string) int {
			switch n {
			case 1:
				return http.StatusInternalServerError
			case 2:
				return http.StatusServiceUnavailable
			case 3:
				return http.StatusTooManyRequests
			case 4:
				return http.StatusUnauthorized
			}
			return http.StatusNoContent
		}, map[string]float64{"server": 1, "throttled": 2, "client": 1}, 40, 0},
		{"too large is split, nothing dropped", func(_ int, body string) int {
			if strings.Count(body, "\n") >= 7 {
				return http.StatusRequestEntityTooLarge
			}
			return http.StatusNoContent
		}, nil, 40, 0},
		{"a batch rejected as a whole loses only the bad point", func(_ int, body string) int {
			if strings.Contains(body, " co2=17 ") {
				return http.StatusBadRequest
			}
			return http.StatusNoContent
		}, nil, 39, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeInflux{status: tt.status}
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			st, err := store.Open(store.Options{Dir: t.TempDir(), Config: store.Config{CommitInterval: time.Millisecond}})
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			cfg := DefaultConfig()
			cfg.Enabled, cfg.URL, cfg.FlushInterval, cfg.MaxBackoff = true, srv.URL, 20*time.Millisecond, 20*time.Millisecond
			reg := prometheus.NewRegistry()
			var ms []measurement.Measurement
			for i := range 40 {
				ms = append(ms, measurement.Measurement{Device: "d", Quantity: measurement.CO2, Value: float64(i), Unit: "ppm", Time: t0.Add(time.Duration(i) * time.Second)})
			}
			s, stop := runSink(t, st, cfg, reg)
			require.NoError(t, st.Append(context.Background(), ms))
			require.Eventually(t, func() bool { return s.cur.Position() == 1 }, 10*time.Second, 5*time.Millisecond)
			for reason, want := range tt.retries {
				assert.Equal(t, want, metricValue(t, reg, "loraedge_influx_write_retries_total", reason), reason)
			}
			assert.Equal(t, tt.sent, metricValue(t, reg, "loraedge_influx_points_sent_total", ""))
			assert.Equal(t, tt.rejected, metricValue(t, reg, "loraedge_influx_points_dropped_total", reasonRejected))
			assert.Equal(t, 0.0, metricValue(t, reg, "loraedge_influx_points_dropped_total", reasonTooLarge))
			assert.Equal(t, int(tt.sent), fake.lines())
			stop()
		})
	}
}
