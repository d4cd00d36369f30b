package mqtt

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/uplink"
	"github.com/loraedge/loraedge/internal/uplinkevent"
)

const (
	devA = "70b3d57ed0000001"
	devB = "70b3d57ed0000002"
)

func testRegistry(t testing.TB) *device.Registry {
	t.Helper()
	var a, b lorawan.EUI64
	require.NoError(t, a.UnmarshalText([]byte(devA)))
	require.NoError(t, b.UnmarshalText([]byte(devB)))
	reg, err := device.NewRegistry([]device.Device{
		{DevEUI: a, Activation: device.External, Site: "k23-bridge"},
		{DevEUI: b, Activation: device.External},
	})
	require.NoError(t, err)
	return reg
}

// record returns the measurements of appended record k: two for devA, one
// for devB, each tagged with k so a lost one can be named.
func record(k int, t0 time.Time) []measurement.Measurement {
	ts := t0.Add(time.Duration(k) * time.Second)
	n := map[string]string{"k": strconv.Itoa(k)}
	return []measurement.Measurement{
		{Device: devA, Quantity: measurement.AirTemperature, Value: float64(k) / 10, Unit: "degC", Time: ts, Meta: n},
		{Device: devA, Quantity: measurement.PulseCount, Channel: 2, Value: float64(k), Unit: "1", Time: ts, Meta: n},
		{Device: devB, Quantity: measurement.RelativeHumidity, Value: 50, Unit: "%", Time: ts, Meta: n},
	}
}

// expectedIDs reads the whole log through its own cursor: the ids a
// subscriber must have seen.
func expectedIDs(t testing.TB, st *store.Store, name string) map[string]bool {
	t.Helper()
	cur, err := st.OpenCursor(name)
	require.NoError(t, err)
	defer cur.Close()
	want := map[string]bool{}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		recs, err := cur.Next(ctx, 1000)
		cancel()
		if err != nil {
			return want
		}
		for _, r := range recs {
			for _, m := range r.Measurements {
				want[measurement.ID(m)] = true
			}
		}
	}
}

func TestSinkPublishesMeasurementsStateAndStatus(t *testing.T) {
	broker := startBroker(t)
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	sub := newSubscriber(t, broker.URL(), "sub-basic", "loraedge/gw1/#")

	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: testConfig(broker.URL()), Log: st, Devices: testRegistry(t), Registerer: reg, Logger: testLogger()})
	require.NoError(t, err)
	t0 := time.Date(2026, 1, 12, 18, 0, 0, 0, time.UTC)
	require.NoError(t, st.Append(context.Background(), record(1, t0)))
	require.NoError(t, st.Append(context.Background(), record(2, t0)))
	stop := runSink(t, s)

	topicA := "loraedge/gw1/device/" + devA + "/measurement"
	require.Eventually(t, func() bool { return len(sub.payloads(topicA)) == 4 }, 10*time.Second, 20*time.Millisecond)
	var got []MeasurementMessage
	for _, p := range sub.payloads(topicA) {
		var m MeasurementMessage
		require.NoError(t, json.Unmarshal(p, &m))
		got = append(got, m)
	}
	// Ids are measurement.ID of the reading, not the log position.
	r1, r2 := record(1, t0), record(2, t0)
	assert.Equal(t, MeasurementMessage{ID: measurement.ID(r1[0]), Device: devA, Quantity: "air_temperature", Value: 0.1, Unit: "degC",
		Time: t0.Add(time.Second), Site: "k23-bridge", Meta: map[string]string{"k": "1"}}, got[0])
	assert.Equal(t, measurement.ID(r1[1]), got[1].ID)
	assert.Equal(t, 2, got[1].Channel)
	assert.Equal(t, measurement.ID(r2[1]), got[3].ID)
	assert.NotEqual(t, got[1].ID, got[3].ID)

	// Retained state: the latest value per quantity and channel.
	require.Eventually(t, func() bool { return len(sub.payloads("loraedge/gw1/device/"+devA+"/state")) > 0 }, 5*time.Second, 20*time.Millisecond)
	states := sub.payloads("loraedge/gw1/device/" + devA + "/state")
	var state StateMessage
	require.NoError(t, json.Unmarshal(states[len(states)-1], &state))
	assert.Equal(t, "k23-bridge", state.Site)
	assert.Equal(t, StateValue{Value: 0.2, Unit: "degC", Time: t0.Add(2 * time.Second)}, state.Values["air_temperature"])
	assert.Equal(t, 2.0, state.Values["pulse_count/2"].Value)
	late := newSubscriber(t, broker.URL(), "sub-late", "loraedge/gw1/device/+/state", "loraedge/gw1/status")
	require.Eventually(t, func() bool {
		return len(late.payloads("loraedge/gw1/device/"+devB+"/state")) == 1 && len(late.payloads("loraedge/gw1/status")) == 1
	}, 5*time.Second, 20*time.Millisecond, "state and status are retained")
	var status StatusMessage
	require.NoError(t, json.Unmarshal(late.payloads("loraedge/gw1/status")[0], &status))
	assert.Equal(t, "online", status.Status)

	assert.Equal(t, 6.0, testutil.ToFloat64(s.m.published.WithLabelValues("measurement")))
	assert.Eventually(t, func() bool { return testutil.ToFloat64(s.m.lagPoints) == 0 }, time.Second, 10*time.Millisecond)

	// A clean stop says offline (the will is only for broken connections).
	require.NoError(t, stop())
	require.Eventually(t, func() bool {
		ps := late.payloads("loraedge/gw1/status")
		if len(ps) < 2 {
			return false
		}
		var st StatusMessage
		return json.Unmarshal(ps[len(ps)-1], &st) == nil && st.Status == "offline"
	}, 5*time.Second, 20*time.Millisecond)
	cur, err := st.OpenCursor(CursorName)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), cur.Position(), "cursor committed after the PUBACKs")
}

// TestSinkStateSurvivesRestart: after a restart the retained state still
// lists the quantities measured before it.
func TestSinkStateSurvivesRestart(t *testing.T) {
	broker := startBroker(t)
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 1, 12, 18, 0, 0, 0, time.UTC)
	require.NoError(t, st.Append(context.Background(), record(1, t0)))
	s1, err := New(Options{Config: testConfig(broker.URL()), Log: st})
	require.NoError(t, err)
	stop := runSink(t, s1)
	cur, err := st.OpenCursor(CursorName)
	require.NoError(t, err)
	defer cur.Close()
	require.Eventually(t, func() bool { return cur.Position() == 1 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, stop())

	sub := newSubscriber(t, broker.URL(), "sub-state", "loraedge/gw1/device/"+devA+"/state")
	require.Eventually(t, func() bool { return len(sub.payloads("loraedge/gw1/device/"+devA+"/state")) == 1 }, 5*time.Second, 10*time.Millisecond)
	s2, err := New(Options{Config: testConfig(broker.URL()), Log: st})
	require.NoError(t, err)
	runSink(t, s2)
	only := record(2, t0)[:1] // air temperature only
	require.NoError(t, st.Append(context.Background(), only))
	topic := "loraedge/gw1/device/" + devA + "/state"
	require.Eventually(t, func() bool { return len(sub.payloads(topic)) == 2 }, 10*time.Second, 10*time.Millisecond)
	var state StateMessage
	require.NoError(t, json.Unmarshal(sub.payloads(topic)[1], &state))
	assert.Equal(t, 0.2, state.Values["air_temperature"].Value)
	assert.Equal(t, StateValue{Value: 1, Unit: "1", Time: t0.Add(time.Second)}, state.Values["pulse_count/2"], "seeded from the store")
}

// appender appends one record every interval until stopped and counts them.
type appender struct {
	n    atomic.Int64
	stop func()
	wg   sync.WaitGroup
}

func startAppender(t testing.TB, st func() *store.Store, first int, every time.Duration) *appender {
	ctx, cancel := context.WithCancel(context.Background())
	a := &appender{stop: cancel}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t0 := time.Date(2026, 1, 12, 18, 0, 0, 0, time.UTC)
		k := first
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			s := st()
			if s == nil {
				continue
			}
			if err := s.Append(ctx, record(k, t0)); err == nil {
				k++
				a.n.Add(1)
			}
		}
	}()
	return a
}

func (a *appender) halt() { a.stop(); a.wg.Wait() }

// TestSinkOutage appends continuously while the broker is killed and
// restarted twice: the subscriber must see every measurement at least once.
func TestSinkOutage(t *testing.T) {
	broker := startBroker(t)
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	verify, err := st.OpenCursor("verify") // holds the log for expectedIDs
	require.NoError(t, err)
	verify.Close()
	sub := newSubscriber(t, broker.URL(), "sub-outage", "loraedge/gw1/device/+/measurement")
	// Let mosquitto's autosave persist the subscriber's session before the
	// first kill.
	time.Sleep(1200 * time.Millisecond)

	reg := prometheus.NewRegistry()
	g := newGate(t, broker.Addr)
	s, err := New(Options{Config: testConfig(g.URL()), Log: st, Registerer: reg, Logger: testLogger()})
	require.NoError(t, err)
	runSink(t, s)
	app := startAppender(t, func() *store.Store { return st }, 0, 2*time.Millisecond)

	for range 2 {
		time.Sleep(700 * time.Millisecond)
		restart(t, broker, g, sub, 700*time.Millisecond, func() { // appends go on
			// paho reports the loss after stopping its workers, which can
			// take a moment.
			assert.Eventually(t, func() bool {
				return testutil.ToFloat64(s.m.connected) == 0 && testutil.ToFloat64(s.m.lagSecs) > 0.3
			}, 3*time.Second, 10*time.Millisecond, "disconnected, lag grows while the broker is away")
		})
	}
	time.Sleep(500 * time.Millisecond)
	app.halt()
	want := expectedIDs(t, st, "verify")
	// An Append cancelled by halt may still have been committed.
	require.GreaterOrEqual(t, len(want), int(app.n.Load())*3)
	// Generous: under a full `go test ./...` on two cores the replay after
	// the second restart can take a while; a lost message still fails.
	var got map[string]MeasurementMessage
	if !assert.Eventually(t, func() bool {
		got, _ = sub.measurementIDs(t)
		return len(got) >= len(want)
	}, 60*time.Second, 50*time.Millisecond) {
		missing := 0
		for id := range want {
			if _, ok := got[id]; !ok {
				missing++
			}
		}
		t.Fatalf("%d of %d measurement ids never arrived", missing, len(want))
	}
	got, total := sub.measurementIDs(t)
	for id := range want {
		require.Contains(t, got, id)
	}
	assert.Len(t, got, len(want), "no id outside the log")
	t.Logf("appended %d measurements, received %d messages (%d duplicates), retried %v, connects %v",
		len(want), total, total-len(got), testutil.ToFloat64(s.m.retried), testutil.ToFloat64(s.m.connects.WithLabelValues("ok")))
	assert.GreaterOrEqual(t, testutil.ToFloat64(s.m.connects.WithLabelValues("ok")), 3.0)
}

// TestSinkRestartDuringOutage closes store and sink while the broker is
// down and reopens both on the same directory: nothing is lost.
func TestSinkRestartDuringOutage(t *testing.T) {
	broker := startBroker(t)
	g := newGate(t, broker.Addr)
	dir := t.TempDir()
	var mu sync.Mutex
	st := openStore(t, dir)
	current := func() *store.Store { mu.Lock(); defer mu.Unlock(); return st }
	verify, err := st.OpenCursor("verify")
	require.NoError(t, err)
	verify.Close()
	sub := newSubscriber(t, broker.URL(), "sub-restart", "loraedge/gw1/device/+/measurement")

	s1, err := New(Options{Config: testConfig(g.URL()), Log: st, Logger: testLogger()})
	require.NoError(t, err)
	stop1 := runSink(t, s1)
	app := startAppender(t, current, 0, 2*time.Millisecond)
	time.Sleep(500 * time.Millisecond)

	restart(t, broker, g, sub, 300*time.Millisecond, func() {
		// The daemon restarts while the broker is away; appends go on
		// before and after.
		require.NoError(t, stop1())
		mu.Lock()
		require.NoError(t, st.Close())
		st = openStore(t, dir)
		mu.Unlock()
		s2, err := New(Options{Config: testConfig(g.URL()), Log: current(), Logger: testLogger()})
		require.NoError(t, err)
		runSink(t, s2)
		time.Sleep(300 * time.Millisecond)
	})
	t.Cleanup(func() { current().Close() })
	time.Sleep(500 * time.Millisecond)
	app.halt()

	want := expectedIDs(t, current(), "verify")
	require.GreaterOrEqual(t, len(want), int(app.n.Load())*3)
	if !assert.Eventually(t, func() bool {
		got, _ := sub.measurementIDs(t)
		return len(got) >= len(want)
	}, 10*time.Second, 50*time.Millisecond) {
		got, _ := sub.measurementIDs(t)
		var missing []string
		for id := range want {
			if _, ok := got[id]; !ok {
				missing = append(missing, id)
			}
		}
		sort.Strings(missing)
		t.Fatalf("missing %d of %d: %v", len(missing), len(want), missing)
	}
	got, total := sub.measurementIDs(t)
	assert.Len(t, got, len(want), "no id outside the log")
	t.Logf("appended %d measurements, received %d messages", len(want), total)
}

func TestSinkUplinkEventsAndAlerts(t *testing.T) {
	broker := startBroker(t)
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	sub := newSubscriber(t, broker.URL(), "sub-events", "loraedge/gw1/device/+/uplink", "loraedge/gw1/alert/#") // "#" matches the parent level too

	s, err := New(Options{Config: testConfig(broker.URL()), Log: st, Logger: testLogger()})
	require.NoError(t, err)
	// Not connected yet: alerts fail so the engine can retry, uplinks drop.
	require.ErrorIs(t, s.Publish(context.Background(), "loraedge/gw1/alert", []byte("x"), false), ErrNotConnected)
	runSink(t, s)
	require.Eventually(t, func() bool { return s.current() != nil }, 10*time.Second, 10*time.Millisecond)

	var eui lorawan.EUI64
	require.NoError(t, eui.UnmarshalText([]byte(devA)))
	gps := time.Date(2026, 1, 12, 18, 0, 0, 123e6, time.UTC)
	up := uplink.Uplink{DevEUI: eui, DevAddr: lorawan.DevAddr{1, 2, 3, 4}, FPort: 10, FCnt: 77, ADR: true,
		Payload: []byte{0xde, 0xad}, Frequency: 868100000, DataRate: "SF7BW125", Time: gps,
		RxInfo: []uplink.RxInfo{
			{GatewayID: lorawan.EUI64{1}, RSSI: -80, SNR: 7.5, Frequency: 868100000, DataRate: "SF7BW125", Time: &gps, ReceivedAt: gps},
			{GatewayID: lorawan.EUI64{2}, RSSI: -110, SNR: -3, ReceivedAt: gps},
		}}
	s.PublishUplink(up)
	topic := "loraedge/gw1/device/" + devA + "/uplink"
	require.Eventually(t, func() bool { return len(sub.payloads(topic)) == 1 }, 5*time.Second, 10*time.Millisecond)
	var ev uplinkevent.Event
	require.NoError(t, json.Unmarshal(sub.payloads(topic)[0], &ev))
	assert.Equal(t, "gw1", ev.Gateway)
	assert.Equal(t, uint32(77), ev.FCnt)
	assert.Equal(t, []byte{0xde, 0xad}, ev.Data)
	require.Len(t, ev.RxInfo, 2)
	assert.Equal(t, -110, ev.RxInfo[1].RSSI)
	back, err := ev.Uplink()
	require.NoError(t, err)
	assert.Equal(t, up, back, "the event carries the whole uplink")

	require.NoError(t, s.PublishAlert(context.Background(), "frost", []byte(`{"rule":"frost"}`)))
	require.NoError(t, s.Publish(context.Background(), s.AlertTopic(""), []byte(`{}`), false))
	require.Eventually(t, func() bool {
		return len(sub.payloads("loraedge/gw1/alert/frost")) == 1 && len(sub.payloads("loraedge/gw1/alert")) == 1
	}, 5*time.Second, 10*time.Millisecond)

	// A full queue drops and counts instead of blocking the network layer.
	small, err := New(Options{Config: func() Config { c := testConfig(broker.URL()); c.UplinkQueue = 2; return c }(), Log: st})
	require.NoError(t, err)
	for range 5 {
		small.PublishUplink(up)
	}
	assert.Equal(t, 3.0, testutil.ToFloat64(small.m.dropped.WithLabelValues("queue_full")))
}

func TestConfigValidate(t *testing.T) {
	good := testConfig("tcp://127.0.0.1:1883")
	tests := []struct {
		name string
		mod  func(*Config)
		errs []string
	}{
		{"good", func(*Config) {}, nil},
		{"disabled is not checked", func(c *Config) { c.Enabled = false; c.URL = "" }, nil},
		{"bad url and gateway", func(c *Config) { c.URL = "http://x"; c.Gateway = "a/b" }, []string{"url:", "gateway:"}},
		{"no host", func(c *Config) { c.URL = "tcp://" }, []string{"url: no host"}},
		{"backoff", func(c *Config) { c.BackoffMin = time.Minute }, []string{"backoff_min"}},
		{"tls pair", func(c *Config) { c.TLS.CertFile = "/nonexistent.pem" }, []string{"cert_file and key_file", "cert_file:"}},
		{"prefix wildcard", func(c *Config) { c.TopicPrefix = "a+" }, []string{"topic_prefix"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			err := c.Validate()
			if tc.errs == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, e := range tc.errs {
				assert.Contains(t, err.Error(), e)
			}
		})
	}
}
