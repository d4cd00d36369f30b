package mosmix

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/roadcast"
)

// dwd is an HTTP peer serving KMZ per station path as DWD's open-data
// server does; status overrides the answer.
type dwd struct {
	products map[string][]byte
	status   atomic.Int32
	hits     atomic.Int32
}

func (d *dwd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.hits.Add(1)
	if s := d.status.Load(); s != 0 {
		http.Error(w, "unavailable", int(s))
		return
	}
	for station, data := range d.products {
		if strings.HasSuffix(r.URL.Path, "/MOSMIX_L_LATEST_"+station+".kmz") {
			w.Header().Set("Content-Type", "application/vnd.google-earth.kmz")
			_, _ = w.Write(data)
			return
		}
	}
	http.NotFound(w, r)
}

func newPeer(t *testing.T, kml []byte) (*dwd, Config) {
	t.Helper()
	d := &dwd{products: map[string][]byte{"10430": kmz(t, kml)}}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	cfg := DefaultConfig()
	cfg.URL = srv.URL + "/weather/local_forecasts/mos/MOSMIX_L/single_stations/{station}/kml/MOSMIX_L_LATEST_{station}.kmz"
	return d, cfg
}

var issued = time.Date(2026, 12, 14, 15, 0, 0, 0, time.UTC)

func TestFetcherStates(t *testing.T) {
	d, cfg := newPeer(t, sampleKML(t))
	dir := t.TempDir()
	f, err := NewFetcher(cfg, []string{"10430", "P0213"}, dir, nil, nil)
	require.NoError(t, err)
	ctx := context.Background()

	w, err := f.Weather(ctx, "10430", issued)
	require.ErrorIs(t, err, roadcast.ErrNoWeather, "nothing fetched yet")
	assert.Equal(t, roadcast.Missing, w.State)

	err = f.FetchAll(ctx)
	require.Error(t, err, "P0213 is not served")
	assert.Contains(t, err.Error(), "HTTP 404")
	w, err = f.Weather(ctx, "10430", issued.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, roadcast.Fresh, w.State)
	assert.Equal(t, "mosmix", w.Source)
	assert.True(t, w.Issued.Equal(issued))
	assert.Len(t, w.Hours, 3)
	_, err = f.Weather(ctx, "P0213", issued)
	require.ErrorIs(t, err, roadcast.ErrNoWeather)

	w, err = f.Weather(ctx, "10430", issued.Add(13*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, roadcast.Stale, w.State, "older than stale_after (12 h)")

	// the server fails: the kept product stays, the failure is reported
	d.status.Store(http.StatusServiceUnavailable)
	require.Error(t, f.Fetch(ctx, "10430"))
	w, err = f.Weather(ctx, "10430", issued.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, roadcast.Fresh, w.State)

	// a restart without the server reads the cache
	restarted, err := NewFetcher(cfg, []string{"10430"}, dir, nil, nil)
	require.NoError(t, err)
	w, err = restarted.Weather(ctx, "10430", issued.Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, w.Issued.Equal(issued))
	assert.Len(t, w.Hours, 3)
}

func TestFetcherKeepsNewerIssue(t *testing.T) {
	newer := strings.Replace(string(sampleKML(t)), "2026-12-14T15:00:00.000Z", "2026-12-14T21:00:00.000Z", 1)
	d, cfg := newPeer(t, []byte(newer))
	f, err := NewFetcher(cfg, []string{"10430"}, t.TempDir(), nil, nil)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, f.Fetch(ctx, "10430"))
	d.products["10430"] = kmz(t, sampleKML(t)) // a mirror behind by one issue
	require.NoError(t, f.Fetch(ctx, "10430"))
	w, err := f.Weather(ctx, "10430", issued)
	require.NoError(t, err)
	assert.Equal(t, 21, w.Issued.Hour())
}

func TestFetcherRejectsGarbage(t *testing.T) {
	d, cfg := newPeer(t, sampleKML(t))
	d.products["10430"] = []byte("<html>maintenance</html>")
	f, err := NewFetcher(cfg, []string{"10430"}, t.TempDir(), nil, nil)
	require.NoError(t, err)
	require.ErrorIs(t, f.Fetch(context.Background(), "10430"), ErrFormat)
	_, err = f.Weather(context.Background(), "10430", issued)
	require.ErrorIs(t, err, roadcast.ErrNoWeather)
}

func TestFetcherRunStopsWithContext(t *testing.T) {
	d, cfg := newPeer(t, sampleKML(t))
	f, err := NewFetcher(cfg, []string{"10430"}, t.TempDir(), nil, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	require.Eventually(t, func() bool { _, err := f.Weather(ctx, "10430", issued); return err == nil }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, int32(1), d.hits.Load(), "one fetch at start, the next only after the interval")
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	bad := Config{URL: "http://x/latest.kmz", Interval: time.Second, StaleAfter: -1}
	err := bad.Validate()
	require.Error(t, err)
	for _, key := range []string{"url", "interval", "stale_after", "timeout"} {
		assert.Contains(t, err.Error(), key+":")
	}
	_, err = NewFetcher(DefaultConfig(), []string{"../etc"}, t.TempDir(), nil, nil)
	require.Error(t, err)
}
