package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

// clock is the virtual clock tests advance by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// webhook is an httptest receiver that records loraedge webhook messages
// and can be taken "down" (503).
type webhook struct {
	srv  *httptest.Server
	down atomic.Bool
	mu   sync.Mutex
	msgs []notify.WebhookMessage
	raw  [][]byte
	hits atomic.Int64
	got  chan struct{}
}

func newWebhook(t testing.TB) *webhook {
	w := &webhook{got: make(chan struct{}, 1024)}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.hits.Add(1)
		if w.down.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var m notify.WebhookMessage
		if err := json.Unmarshal(b, &m); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.msgs = append(w.msgs, m)
		w.raw = append(w.raw, b)
		w.mu.Unlock()
		select {
		case w.got <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) messages() []notify.WebhookMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]notify.WebhookMessage(nil), w.msgs...)
}

// notes flattens the received alerts as "notification level id".
func (w *webhook) notes() []string {
	var out []string
	for _, m := range w.messages() {
		for _, a := range m.Alerts {
			out = append(out, fmt.Sprintf("%s %s %s", a.Notification, a.Level, a.ID))
		}
	}
	return out
}

// downlinks records queued downlinks (the network server's queue).
type downlinks struct {
	mu     sync.Mutex
	got    []string
	expiry []time.Duration
}

func (d *downlinks) EnqueueDownlinkExpiring(eui lorawan.EUI64, fport uint8, payload []byte, confirmed bool, expiry time.Duration) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, fmt.Sprintf("%s fport=%d payload=%x confirmed=%v", eui, fport, payload, confirmed))
	d.expiry = append(d.expiry, expiry)
	return fmt.Sprintf("dl-%d", len(d.got)), nil
}

func (d *downlinks) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.got...)
}

var (
	profilesOnce sync.Once
	profilesSet  *profile.Set
	profilesErr  error
)

func loadProfiles(t testing.TB) *profile.Set {
	profilesOnce.Do(func() {
		reg, err := all.NewRegistry()
		if err != nil {
			profilesErr = err
			return
		}
		profilesSet, profilesErr = profile.LoadDefault(reg, "")
	})
	require.NoError(t, profilesErr)
	return profilesSet
}

// simSites turns the simulator's sites into registry sites; road sites get
// a gritting route and team so grouping and selection can be tested.
func simSites(scenario string) []site.Site {
	var out []site.Site
	for _, s := range sim.Sites(scenario) {
		st := site.Site{ID: s.ID, Name: s.Name, Kind: site.Kind(s.Kind), Road: s.Road, Km: s.Km, Lat: s.Lat, Lon: s.Lon,
			GaugeSite: s.Gauge, Capacity: s.Capacity}
		if st.Kind == site.Road {
			st.Route, st.Team = "Nord", "winterdienst"
		} else {
			st.Team = "gebaeude"
		}
		out = append(out, st)
	}
	return out
}

type harness struct {
	t      testing.TB
	dir    string
	st     *store.Store
	clock  *clock
	hook   *webhook
	e      *Engine
	opts   Options
	dl     *downlinks
	cancel context.CancelFunc
	done   chan error
}

// newHarness opens a store in a temp dir and starts an engine. The
// receiver "hook" points at a recording webhook; cfg may use it by name.
func newHarness(t testing.TB, cfg Config, scenario string, start time.Time, mod ...func(*Options)) *harness {
	h := &harness{t: t, dir: t.TempDir(), clock: &clock{t: start}, dl: &downlinks{}}
	h.hook = newWebhook(t)
	var devs []device.Device
	for _, sc := range strings.Split(scenario, ",") {
		devs = append(devs, sim.Devices(sc)...)
	}
	reg, err := device.NewRegistry(devs)
	require.NoError(t, err)
	var sites []site.Site
	for _, sc := range strings.Split(scenario, ",") {
		sites = append(sites, simSites(sc)...)
	}
	cfg = h.testConfig(cfg)
	h.opts = Options{Config: cfg, Devices: reg, Sites: sites, Profiles: loadProfiles(t), Downlinks: h.dl, Now: h.clock.Now}
	for _, f := range mod {
		f(&h.opts)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

// testConfig fills what tests leave out: fast retries, no ticker (tests
// tick by hand), webhook receivers pointing at the recording webhook.
func (h *harness) testConfig(cfg Config) Config {
	if cfg.RetryMin == 0 {
		cfg.RetryMin = 20 * time.Millisecond
		cfg.RetryMax = 100 * time.Millisecond
	}
	if cfg.EvalInterval == 0 {
		cfg.EvalInterval = time.Hour
	}
	cfg.Receivers = slices.Clone(cfg.Receivers)
	for i := range cfg.Receivers {
		if cfg.Receivers[i].Type == "webhook" && cfg.Receivers[i].URL == "" {
			cfg.Receivers[i].URL = h.hook.srv.URL + "/" + cfg.Receivers[i].Name
		}
	}
	return cfg
}

// reload reloads the running engine with cfg (completed as in newHarness)
// and the harness's sites.
func (h *harness) reload(cfg Config) error {
	return h.e.Reload(h.testConfig(cfg), h.opts.Sites)
}

func (h *harness) start() {
	st, err := store.Open(store.Options{Dir: h.dir})
	require.NoError(h.t, err)
	h.st = st
	h.opts.Store = st
	h.e, err = New(h.opts)
	require.NoError(h.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.e.Run(ctx) }()
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	require.NoError(h.t, <-h.done)
	require.NoError(h.t, h.st.Close())
	h.cancel = nil
}

// restart stops the engine and the store and opens both again.
func (h *harness) restart() {
	h.stop()
	h.start()
}

// feed evaluates one batch at its time (the clock follows the data).
func (h *harness) feed(ms ...measurement.Measurement) {
	for _, m := range ms {
		h.clock.Set(m.Time)
	}
	h.e.process(ms)
}

func (h *harness) tick(at time.Time) {
	h.clock.Set(at)
	h.e.Tick()
}

// drain waits until the durable queue is empty.
func (h *harness) drain() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.e.Pending() > 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("notifications still queued: %d", h.e.Pending())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func eui(d device.Device) string {
	b, _ := d.DevEUI.MarshalText()
	return string(b)
}

func m(dev string, q measurement.Quantity, v float64, t time.Time) measurement.Measurement {
	return measurement.Measurement{Device: dev, Quantity: q, Value: v, Unit: measurement.Units[q], Time: t}
}

var cet = time.FixedZone("CET", 3600)
