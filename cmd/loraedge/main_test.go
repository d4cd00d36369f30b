package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/config"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

// runCmd runs the command line as main would and returns its output.
func runCmd(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errw bytes.Buffer
	err = run(ctx, args, nil, &out, &errw)
	return out.String(), errw.String(), err
}

func TestVersion(t *testing.T) {
	out, _, err := runCmd(t, context.Background(), "version")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(out, "loraedge "), out)
}

func TestConfigfileValidates(t *testing.T) {
	out, _, err := runCmd(t, context.Background(), "configfile")
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "loraedge.yaml")
	require.NoError(t, os.WriteFile(file, []byte(out), 0o600))
	out, _, err = runCmd(t, context.Background(), "validate", file)
	require.NoError(t, err)
	assert.Contains(t, out, "valid")
}

func TestValidateReportsEveryProblem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`
network: {dedup_window: 5s}
devices:
  - {dev_eui: "0102030405060708", activation: otaa, app_key: "000102030405060708090a0b0c0d0e0f", profile: acme/rocket}
`), 0o600))
	_, _, err := runCmd(t, context.Background(), "validate", file)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "network.dedup_window")

	require.NoError(t, os.WriteFile(file, []byte(`
devices:
  - {dev_eui: "0102030405060708", activation: otaa, app_key: "000102030405060708090a0b0c0d0e0f", profile: acme/rocket}
`), 0o600))
	_, _, err = runCmd(t, context.Background(), "validate", file)
	require.ErrorContains(t, err, `devices[0].profile: unknown firmware profile "acme/rocket"`)

	_, _, err = runCmd(t, context.Background(), "validate", filepath.Join(t.TempDir(), "missing.yaml"))
	require.Error(t, err)
}

func TestDecode(t *testing.T) {
	// Elsys ERS CO2, published example: 22.6 degC, 41 %, 39 lx, motion 6, 776 ppm.
	out, _, err := runCmd(t, context.Background(), "decode", "--profile", "elsys/ers-co2", "--fport", "1", "--hex", "0100e202290400270506060308")
	require.NoError(t, err)
	var got decodeOutput
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "elsys/ers-co2", got.Profile)
	want := map[string]float64{"air_temperature": 22.6, "relative_humidity": 41, "co2": 776}
	for _, m := range got.Measurements {
		if v, ok := want[m.Quantity]; ok {
			assert.InDelta(t, v, m.Value, 1e-9, m.Quantity)
			delete(want, m.Quantity)
		}
		assert.Nil(t, m.Time, "live values carry no time of their own")
	}
	assert.Empty(t, want, "quantities missing from the output")
	assert.EqualValues(t, 776, got.Fields["co2"])

	_, _, err = runCmd(t, context.Background(), "decode", "--profile", "elsys/ers-co2", "--hex", "zz")
	require.ErrorContains(t, err, "--hex")
	_, _, err = runCmd(t, context.Background(), "decode", "--profile", "generic/road-station", "--fport", "10", "--hex", "0102")
	require.ErrorContains(t, err, "decode with profile generic/road-station")
	_, _, err = runCmd(t, context.Background(), "decode", "--profile", "acme/rocket", "--hex", "01")
	require.Error(t, err)
}

func TestSimulatePrintConfigLoads(t *testing.T) {
	out, _, err := runCmd(t, context.Background(), "simulate", "--scenario", "all", "--print-config")
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "sim.yaml")
	require.NoError(t, os.WriteFile(file, []byte(out), 0o600))
	c, err := config.Load(config.Source{File: file})
	require.NoError(t, err)
	assert.ElementsMatch(t, sim.Devices("all"), c.Devices, "the printed configuration is exactly the simulator's devices, keys included")
	require.Len(t, c.Sites, len(sim.Sites("all")))
	for i, s := range sim.Sites("all") {
		assert.Equal(t, s.Route, c.Sites[i].Route, s.ID)
		assert.Equal(t, s.Team, c.Sites[i].Team, s.ID)
	}
	_, _, err = runCmd(t, context.Background(), "simulate", "--scenario", "nope")
	require.Error(t, err)
}

func TestRunRejectsBadFlagValue(t *testing.T) {
	_, _, err := runCmd(t, context.Background(), "run", "--log-level", "loud", "--data-dir", t.TempDir())
	require.ErrorContains(t, err, "log.level")
}

// The daemon with the simulator: virtual road stations join over real GWMP,
// their uplinks are verified, decoded and stored, dated by the virtual
// clock. A second run on the same data directory finds the data again.
func TestRunWithSimulatorStoresMeasurements(t *testing.T) {
	dir := t.TempDir()
	runFor := func(d time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, stderr, err := runCmd(t, ctx, "run", "--simulate", "--scenario", "winter-night", "--speed", "3000",
			"--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "warn")
		require.NoError(t, err, stderr)
	}
	runFor(4 * time.Second)

	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "store")})
	require.NoError(t, err)
	var keys []string
	for _, d := range sim.Devices("winter-night") {
		keys = append(keys, measurement.Measurement{Device: d.DevEUI.String(), Quantity: measurement.RoadSurfaceTemperature}.SeriesKey())
	}
	from, to := time.Now().AddDate(0, 0, -8), time.Now().AddDate(0, 0, 30)
	got, err := st.Range(context.Background(), keys, from, to)
	require.NoError(t, err)
	require.Len(t, got, len(keys), "every road station stored")
	first := 0
	for _, s := range got {
		require.NotEmpty(t, s.Points, s.Key)
		first += len(s.Points)
		// 4 real seconds at speed 3000 are over 3 virtual hours.
		span := s.Points[len(s.Points)-1].Time.Sub(s.Points[0].Time)
		assert.Greater(t, span, time.Hour, "dated by the virtual clock, not the wall clock")
		for _, p := range s.Points {
			assert.Greater(t, p.Value, -30.0)
			assert.Less(t, p.Value, 30.0)
		}
	}
	require.NoError(t, st.Close())

	runFor(3 * time.Second)
	st, err = store.Open(store.Options{Dir: filepath.Join(dir, "store")})
	require.NoError(t, err)
	defer st.Close()
	got, err = st.Range(context.Background(), keys, from, to)
	require.NoError(t, err)
	second := 0
	for _, s := range got {
		second += len(s.Points)
	}
	assert.GreaterOrEqual(t, second, first, "nothing stored by the first run is lost")
}

// The daemon serves its API: ready after start, the simulated devices
// listed, the network layer's counters on /metrics.
func TestRunServesAPI(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
	const token = "test-admin-token-0123456789"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var out, errw bytes.Buffer
		done <- run(ctx, []string{"run", "--simulate", "--scenario", "building-meters", "--speed", "600",
			"--listen", "127.0.0.1:0", "--http", addr, "--data-dir", t.TempDir(), "--log-level", "warn"},
			[]string{"LORAEDGE_HTTP_ADMIN_TOKEN=" + token}, &out, &errw)
	}()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	get := apiGet(t, addr, token)
	require.Eventually(t, func() bool { code, _ := get("/readyz"); return code == http.StatusOK }, 10*time.Second, 20*time.Millisecond)
	code, body := get("/api/v1/devices")
	require.Equal(t, http.StatusOK, code, body)
	for _, d := range sim.Devices("building-meters") {
		assert.Contains(t, body, d.DevEUI.String())
	}
	require.Eventually(t, func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, `loraedge_network_uplinks_total{result="ok"}`)
	}, 20*time.Second, 100*time.Millisecond, "uplinks counted on /metrics")
	code, _ = get("/api/v1/gateways")
	assert.Equal(t, http.StatusOK, code)
	require.Eventually(t, func() bool {
		_, body := get("/api/v1/devices")
		return strings.Contains(body, `"rssi":`) && strings.Contains(body, `"gateways": 3`)
	}, 10*time.Second, 50*time.Millisecond, "signal of the last uplink, heard by the three simulated gateways")
	day := time.Now().Format("2006-01-02")
	code, body = get("/api/v1/reports/energy?from=" + day + "&to=" + day + "&format=json&lang=en")
	assert.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "school-am-park", "the simulated school's meters are in the report")
	code, _ = get("/api/v1/reports/energy?from=" + day + "&to=" + day + "&site=nowhere")
	assert.Equal(t, http.StatusBadRequest, code)
}

// The configuration the .deb installs validates with the token file its
// post-install script writes, and fails without it.
func TestPackagedConfigValidates(t *testing.T) {
	conf := filepath.Join("..", "..", "deploy", "deb", "loraedge.yaml")
	envFile := filepath.Join(t.TempDir(), "loraedge.env")
	require.NoError(t, os.WriteFile(envFile, []byte("# written at install\nLORAEDGE_HTTP_ADMIN_TOKEN=0123456789abcdef0123456789abcdef\n"), 0o600))
	out, _, err := runCmd(t, context.Background(), "validate", "--env-file", envFile, conf)
	require.NoError(t, err)
	assert.Contains(t, out, "valid")
	_, _, err = runCmd(t, context.Background(), "validate", conf)
	require.ErrorContains(t, err, "admin_token")
	require.NoError(t, os.WriteFile(envFile, []byte("garbage\n"), 0o600))
	_, _, err = runCmd(t, context.Background(), "validate", "--env-file", envFile, conf)
	require.ErrorContains(t, err, "not KEY=VALUE")
}

// SIGHUP reloads devices from the file while the daemon runs; a broken file
// changes nothing. A world-readable file with keys gets a warning.
func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "loraedge.yaml")
	dev := func(eui string) string {
		return `  - {dev_eui: "` + eui + `", activation: otaa, app_key: "000102030405060708090a0b0c0d0e0f", profile: elsys/ers-co2}` + "\n"
	}
	write := func(body string) { require.NoError(t, os.WriteFile(file, []byte(body), 0o644)) }
	write("devices:\n" + dev("70b3d57ed0000001"))
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
	const token = "test-admin-token-0123456789"
	ctx, cancel := context.WithCancel(context.Background())
	var errw syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "-c", file, "--listen", "127.0.0.1:0", "--http", addr, "--data-dir", dir, "--log-format", "text"},
			[]string{"LORAEDGE_HTTP_ADMIN_TOKEN=" + token}, io.Discard, &errw)
	}()
	defer func() { cancel(); require.NoError(t, <-done) }()
	devices := func() string {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/devices", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	require.Eventually(t, func() bool { return strings.Contains(devices(), "70b3d57ed0000001") }, 10*time.Second, 20*time.Millisecond)
	assert.Contains(t, errw.String(), "readable by everyone")

	write("devices:\n" + dev("70b3d57ed0000001") + dev("70b3d57ed0000002"))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(devices(), "70b3d57ed0000002") }, 5*time.Second, 20*time.Millisecond)

	write("devices:\n  - {dev_eui: nonsense}\n")
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(errw.String(), "reload refused") }, 5*time.Second, 20*time.Millisecond)
	assert.Contains(t, devices(), "70b3d57ed0000002", "a broken file changes nothing")
}

// runDaemon runs `loraedge run` with args and env until the returned
// stop is called (once or more), which checks that the daemon ended
// without an error; the daemon logs to logs (nil: discarded).
func runDaemon(t *testing.T, args, env []string, logs *syncBuffer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	errw := io.Discard
	if logs != nil {
		errw = logs
	}
	go func() { done <- run(ctx, append([]string{"run"}, args...), env, io.Discard, errw) }()
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		msg := ""
		if logs != nil {
			msg = logs.String()
		}
		require.NoError(t, <-done, msg)
	}
}

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// `simulate --scenario energy-year` fills a store; `report energy` turns it
// into a report from the written configuration; the API serves the same.
func TestEnergyYearAndReport(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runCmd(t, context.Background(), "simulate", "--scenario", "energy-year", "--data-dir", dir, "--year", "2025", "--buildings", "2")
	require.NoError(t, err)
	assert.Contains(t, out, "loraedge report energy")
	conf := filepath.Join(dir, "energy-year.yaml")

	csv, _, err := runCmd(t, context.Background(), "report", "energy", "-c", conf, "--from", "2025-01-01", "--to", "2025-12-31", "--format", "csv", "--lang", "en")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Greater(t, len(lines), 12, csv)
	assert.Contains(t, csv, "geb-001")
	assert.Contains(t, csv, "2025-12-01")

	pdf := filepath.Join(t.TempDir(), "bericht.pdf")
	_, _, err = runCmd(t, context.Background(), "report", "energy", "-c", conf, "--from", "2025-01-01", "--to", "2025-12-31", "--out", pdf)
	require.NoError(t, err)
	b, err := os.ReadFile(pdf)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte("%PDF-")), "a PDF")

	_, _, err = runCmd(t, context.Background(), "report", "energy", "-c", conf, "--from", "2025-13-01", "--to", "2025-12-31")
	require.ErrorContains(t, err, "invalid report request")
	_, _, err = runCmd(t, context.Background(), "report", "energy", "-c", conf, "--from", "2025-01-01", "--to", "2025-12-31", "--site", "nowhere")
	require.ErrorContains(t, err, "unknown site")
}
