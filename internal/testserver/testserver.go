// Package testserver starts real external servers (Mosquitto, InfluxDB
// 1.8 with Flux) on free loopback ports for integration tests, each in a
// temporary directory, stopped by t.Cleanup. Tests can stop and restart a
// server to play an outage.
//
// A missing binary skips the test on a developer machine and fails it in CI
// (CI=true): there, `scripts/install-deps.sh` must have installed it. With
// -short (make unit) every test that needs one is skipped.
package testserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Need finds an external binary or ends the test: a skip locally, a
// failure in CI. Under -short (make unit, the inner loop) tests that need
// an external program are skipped: make test runs them.
func Need(t testing.TB, name string, candidates ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: %s is for make test", name)
	}
	for _, c := range append([]string{name}, candidates...) {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found; run scripts/install-deps.sh (make test does)", name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago. It is
// picked at random below the kernel's ephemeral range (32768 and up on
// Linux): a server that a test stops and starts again on its port (an
// outage) must not find it handed to another test's client or server in
// the meantime, which ephemeral ports would allow when packages run in
// parallel.
//
// The port is also reserved for the test's lifetime: another test binary
// of the same `go test ./...` run could otherwise pick a port that is free
// only because its server is down for an outage, and then talk to the
// wrong server once it is back.
func FreePort(t testing.TB) int {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "loraedge-test-ports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("free port: %v", err)
	}
	for range 200 {
		port := 20000 + rand.IntN(12000)
		res, ok := reservePort(dir, port)
		if !ok {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			_ = os.Remove(res)
			continue
		}
		l.Close()
		// Cleanups run last-in first-out: the server started on the port
		// has stopped before its reservation goes.
		t.Cleanup(func() { _ = os.Remove(res) })
		return port
	}
	t.Fatal("free port: none found in 20000..31999")
	return 0
}

// reservePort creates the port's reservation file in dir exclusively. A
// reservation older than any test run is what a killed test binary left
// behind: it is taken over.
func reservePort(dir string, port int) (string, bool) {
	p := filepath.Join(dir, strconv.Itoa(port))
	for range 2 {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return p, true
		}
		fi, serr := os.Stat(p)
		if serr != nil || time.Since(fi.ModTime()) < 3*time.Hour {
			return "", false
		}
		_ = os.Remove(p)
	}
	return "", false
}

// Process is an external server process that can be stopped and started
// again on the same port and data.
type Process struct {
	t     testing.TB
	name  string
	args  []string
	dir   string
	ready func() error

	mu  sync.Mutex
	cmd *exec.Cmd
	log *lockedBuffer
}

// lockedBuffer is the process's output, written by exec's copier and read
// by Log at the same time.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start starts the process and waits until it is ready.
func (p *Process) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return
	}
	p.log = &lockedBuffer{}
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	p.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := p.ready()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not ready after 60s: %v\n%s", p.name, err, p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the process (SIGKILL: an outage, not a clean shutdown) and
// waits for it.
func (p *Process) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.cmd = nil
}

// Restart stops and starts the process.
func (p *Process) Restart() { p.Stop(); p.Start() }

// Log returns what the process printed so far.
func (p *Process) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.log == nil {
		return ""
	}
	return p.log.String()
}

func newProcess(t testing.TB, name string, dir string, ready func() error, args ...string) *Process {
	p := &Process{t: t, name: name, args: args, dir: dir, ready: ready}
	t.Cleanup(p.Stop)
	return p
}

// Mosquitto is a running Mosquitto broker.
type Mosquitto struct {
	*Process
	// Addr is host:port of the plain MQTT listener.
	Addr string
}

// URL is the broker address as paho wants it.
func (m *Mosquitto) URL() string { return "tcp://" + m.Addr }

// StartMosquitto starts a broker on a free loopback port with persistence
// in a temporary directory and anonymous access.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	bin := Need(t, "mosquitto", "/usr/sbin/mosquitto")
	dir := t.TempDir()
	port := FreePort(t)
	// "user root": started as root, Mosquitto would switch to the mosquitto
	// user, which cannot write its persistence file into the test's 0700
	// directory, and a killed broker would come back without its sessions.
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nautosave_interval 1\nmax_queued_messages 100000\n", port, dir)
	if os.Geteuid() == 0 {
		conf += "user root\n"
	}
	cf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	m := &Mosquitto{Addr: addr}
	m.Process = newProcess(t, "mosquitto", dir, func() error { return dialTCP(addr) }, bin, "-c", cf)
	m.Start()
	return m
}

// InfluxDB is a running InfluxDB 1.8 with Flux and the v2 compatibility API.
type InfluxDB struct {
	*Process
	// URL is the HTTP API base, e.g. http://127.0.0.1:41234.
	URL string
	// Token, Org and Bucket as the v2 client wants them: InfluxDB 1.8 takes
	// "user:password" (empty with auth off), ignores org, and names buckets
	// "database/retention-policy".
	Token, Org, Bucket string
	// Database is the 1.x database behind Bucket.
	Database string
}

// StartInfluxDB starts influxd 1.8 on free loopback ports with Flux enabled
// and creates the database "loraedge".
func StartInfluxDB(t testing.TB) *InfluxDB {
	t.Helper()
	bin := Need(t, "influxd", filepath.Join(goBin(), "influxd"))
	dir := t.TempDir()
	port, rpc := FreePort(t), FreePort(t)
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = "%[3]s/meta"
[data]
  dir = "%[3]s/data"
  wal-dir = "%[3]s/wal"
  query-log-enabled = false
  trace-logging-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:%[2]d"
  auth-enabled = false
  log-enabled = false
  flux-enabled = true
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
`, rpc, port, dir)
	cf := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	db := &InfluxDB{URL: url, Org: "-", Bucket: "loraedge/autogen", Database: "loraedge"}
	db.Process = newProcess(t, "influxd", dir, func() error { return ping(url) }, bin, "-config", cf)
	db.Start()
	// influxd answers pings before its meta store takes statements: a
	// CREATE DATABASE that early fails inside a 200 answer, so it is
	// repeated until it is confirmed.
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = db.Query1x("CREATE DATABASE loraedge"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("create database: %v\ninfluxd log:\n%s", err, db.Log())
	}
	return db
}

// Query1x runs an InfluxQL statement through the 1.x API.
func (db *InfluxDB) Query1x(q string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, db.URL+"/query", bytes.NewBufferString("q="+urlEncode(q)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("influx query: %s", resp.Status)
	}
	// A statement that fails still gets 200, with the error in the body.
	var body struct {
		Error   string `json:"error"`
		Results []struct {
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("influx query: %w", err)
	}
	if body.Error != "" {
		return fmt.Errorf("influx query: %s", body.Error)
	}
	for _, r := range body.Results {
		if r.Error != "" {
			return fmt.Errorf("influx query: %s", r.Error)
		}
	}
	return nil
}

func urlEncode(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func goBin() string {
	if gb := os.Getenv("GOBIN"); gb != "" {
		return gb
	}
	gp := os.Getenv("GOPATH")
	if gp == "" {
		home, _ := os.UserHomeDir()
		gp = filepath.Join(home, "go")
	}
	return filepath.Join(gp, "bin")
}

func dialTCP(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func ping(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/ping", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}
