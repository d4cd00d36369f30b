package testserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// VictoriaMetrics is a running single-node VictoriaMetrics, for the
// store's side-by-side benchmark (make bench; scripts/install-deps.sh
// victoria-metrics builds it).
type VictoriaMetrics struct {
	*Process
	// URL is the HTTP API base, e.g. http://127.0.0.1:41234.
	URL string
	dir string
}

// StartVictoriaMetrics starts victoria-metrics on a free loopback port with
// its data in a temporary directory, a retention long enough for any test
// data and the rollup cache off, so that repeated queries are computed
// each time.
func StartVictoriaMetrics(t testing.TB) *VictoriaMetrics {
	t.Helper()
	bin := Need(t, "victoria-metrics", filepath.Join(goBin(), "victoria-metrics"))
	dir := t.TempDir()
	port := FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	vm := &VictoriaMetrics{URL: url, dir: filepath.Join(dir, "data")}
	vm.Process = newProcess(t, "victoria-metrics", dir, func() error { return vm.health() }, bin,
		"-storageDataPath="+vm.dir,
		fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", port),
		"-retentionPeriod=100y",
		"-futureRetention=10y", // test data may lie after today
		"-search.disableCache",
		"-loggerLevel=ERROR",
		"-memory.allowedPercent=20")
	vm.Start()
	return vm
}

// DataDir is the storage directory (-storageDataPath).
func (vm *VictoriaMetrics) DataDir() string { return vm.dir }

func (vm *VictoriaMetrics) health() error {
	_, err := vm.Get("/health")
	return err
}

// Get fetches path and returns the body; a status other than 2xx is an
// error.
func (vm *VictoriaMetrics) Get(path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, vm.URL+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("victoria-metrics %s: %s: %s", path, resp.Status, b)
	}
	return b, nil
}

// Import posts samples in the Prometheus text format
// (/api/v1/import/prometheus).
func (vm *VictoriaMetrics) Import(body io.Reader) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, vm.URL+"/api/v1/import/prometheus", body)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("victoria-metrics import: %s: %s", resp.Status, b)
	}
	return nil
}

// Metric sums the samples of the server's own metric name on /metrics
// whose labels contain every one of labels (e.g. `type="storage/big"`).
func (vm *VictoriaMetrics) Metric(name string, labels ...string) (float64, error) {
	b, err := vm.Get("/metrics")
	if err != nil {
		return 0, err
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("victoria-metrics metric %s: %w", name, err)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("victoria-metrics metric %s%v not found", name, labels)
	}
	return sum, sc.Err()
}
