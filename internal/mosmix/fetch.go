package mosmix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/loraedge/loraedge/internal/roadcast"
)

// DefaultURL is DWD's MOSMIX_L single-station product; {station} is
// replaced by the station id.
const DefaultURL = "https://opendata.dwd.de/weather/local_forecasts/mos/MOSMIX_L/single_stations/{station}/kml/MOSMIX_L_LATEST_{station}.kmz"

// Config is the fetcher's configuration (the `roadcast` section: the
// physics forecast's weather source).
type Config struct {
	// Enabled fetches forecasts for the road sites with a mosmix_station.
	Enabled bool `mapstructure:"enabled" yaml:"enabled" json:"enabled"`
	// URL is the product's address with {station} for the station id.
	URL string `mapstructure:"url" yaml:"url" json:"url"`
	// Interval is how often each station's product is fetched (MOSMIX_L is
	// issued every 6 h; hourly catches a new issue soon).
	Interval time.Duration `mapstructure:"interval" yaml:"interval" json:"interval"`
	// StaleAfter is how old an issue may be before it is reported stale.
	StaleAfter time.Duration `mapstructure:"stale_after" yaml:"stale_after" json:"stale_after"`
	// Timeout bounds one HTTP request.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout" json:"timeout"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{URL: DefaultURL, Interval: time.Hour, StaleAfter: 12 * time.Hour, Timeout: 30 * time.Second}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if !strings.Contains(c.URL, "{station}") {
		errs = append(errs, fmt.Errorf("url: %q has no {station}", c.URL))
	}
	if c.Interval < time.Minute {
		errs = append(errs, fmt.Errorf("interval: %v is under 1m", c.Interval))
	}
	if c.StaleAfter <= 0 {
		errs = append(errs, fmt.Errorf("stale_after: %v must be positive", c.StaleAfter))
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: %v must be positive", c.Timeout))
	}
	return errors.Join(errs...)
}

var stationID = regexp.MustCompile(`^[A-Z0-9]{3,5}$`)

// ValidStation reports whether id has the shape of a MOSMIX station id
// (WMO number like 10430 or a DWD id like P0213).
func ValidStation(id string) bool { return stationID.MatchString(id) }

// Fetcher fetches the configured stations' products and keeps the latest of
// each in memory and in the data directory, so a restart without network
// still has them (and reports their age).
type Fetcher struct {
	cfg      Config
	client   *http.Client
	dir      string
	stations []string
	log      *slog.Logger

	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	issued, fetched time.Time
	hours           []roadcast.Hour
}

var _ roadcast.Source = (*Fetcher)(nil)

// NewFetcher returns a fetcher for stations that caches under dir and loads
// what an earlier run cached there. A nil client uses http.DefaultClient's
// transport with cfg.Timeout.
func NewFetcher(cfg Config, stations []string, dir string, client *http.Client, log *slog.Logger) (*Fetcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mosmix: %w", err)
	}
	for _, s := range stations {
		if !ValidStation(s) {
			return nil, fmt.Errorf("mosmix: station %q is not a MOSMIX station id", s)
		}
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("mosmix: cache dir: %w", err)
	}
	f := &Fetcher{cfg: cfg, client: client, dir: dir, stations: stations, log: log.With("component", "mosmix"), cache: map[string]entry{}}
	for _, s := range stations {
		if err := f.loadCached(s); err != nil && !errors.Is(err, os.ErrNotExist) {
			f.log.Warn("cached forecast unusable", "station", s, "err", err)
		}
	}
	return f, nil
}

func (f *Fetcher) path(station string) string {
	return filepath.Join(f.dir, "MOSMIX_L_"+station+".kmz")
}

func (f *Fetcher) loadCached(station string) error {
	p := f.path(station)
	data, err := os.ReadFile(p) // #nosec G304 -- the path is the cache dir and a validated station id
	if err != nil {
		return err
	}
	info, err := os.Stat(p)
	if err != nil {
		return err
	}
	return f.store(station, data, info.ModTime())
}

// store parses a product and keeps the station's hours.
func (f *Fetcher) store(station string, data []byte, fetched time.Time) error {
	prod, err := ParseKMZ(data)
	if err != nil {
		return err
	}
	st, ok := prod.Station(station)
	if !ok {
		return fmt.Errorf("%w: station %s not in the product", ErrFormat, station)
	}
	hours, err := prod.Hours(st)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.cache[station]; ok && old.issued.After(prod.Issued) {
		return nil // never replace a newer issue by an older one
	}
	f.cache[station] = entry{issued: prod.Issued, fetched: fetched, hours: hours}
	return nil
}

// Run fetches every station at once and then every Interval until ctx ends.
func (f *Fetcher) Run(ctx context.Context) error {
	tick := time.NewTicker(f.cfg.Interval)
	defer tick.Stop()
	for {
		_ = f.FetchAll(ctx) // each failure is logged; the state tells users
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// FetchAll fetches every station once and returns the failures joined.
func (f *Fetcher) FetchAll(ctx context.Context) error {
	var errs []error
	for _, s := range f.stations {
		if err := f.Fetch(ctx, s); err != nil {
			f.log.Warn("mosmix fetch failed", "station", s, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Fetch gets one station's product, keeps it and writes it to the cache.
func (f *Fetcher) Fetch(ctx context.Context, station string) error {
	url := strings.ReplaceAll(f.cfg.URL, "{station}", station)
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("mosmix %s: %w", station, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("mosmix %s: %w", station, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mosmix %s: %s: HTTP %d", station, url, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKML))
	if err != nil {
		return fmt.Errorf("mosmix %s: read: %w", station, err)
	}
	now := time.Now()
	if err := f.store(station, data, now); err != nil {
		return fmt.Errorf("mosmix %s: %w", station, err)
	}
	if err := writeAtomic(f.path(station), data); err != nil {
		return fmt.Errorf("mosmix %s: cache: %w", station, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Weather returns the station's latest forecast with its freshness: stale
// when the issue is older than StaleAfter at now, an error wrapping
// roadcast.ErrNoWeather when none was ever received.
func (f *Fetcher) Weather(_ context.Context, station string, now time.Time) (roadcast.Weather, error) {
	f.mu.Lock()
	e, ok := f.cache[station]
	f.mu.Unlock()
	w := roadcast.Weather{Source: "mosmix", Station: station, State: roadcast.Missing}
	if !ok {
		return w, fmt.Errorf("mosmix station %s: %w", station, roadcast.ErrNoWeather)
	}
	w.Issued, w.Fetched, w.Hours = e.issued, e.fetched, e.hours
	w.State = roadcast.Fresh
	if now.Sub(e.issued) > f.cfg.StaleAfter {
		w.State = roadcast.Stale
	}
	return w, nil
}
