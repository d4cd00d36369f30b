package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

func testLogger() *slog.Logger {
	if os.Getenv("MQTT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir, Config: store.Config{CommitInterval: 5 * time.Millisecond}})
	require.NoError(t, err)
	return st
}

func testConfig(url string) Config {
	c := DefaultConfig()
	c.Enabled = true
	c.URL = url
	c.Gateway = "gw1"
	c.KeepAlive = 2 * time.Second
	c.ConnectTimeout = 2 * time.Second
	c.PublishTimeout = 5 * time.Second
	c.BackoffMin = 50 * time.Millisecond
	c.BackoffMax = 300 * time.Millisecond
	return c
}

// runSink runs s until the returned stop is called (also at cleanup).
func runSink(t testing.TB, s *Sink) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("sink did not stop")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// subscriber is an independent MQTT client that records what it gets.
type subscriber struct {
	// ready counts completed subscriptions, one per (re)connection.
	ready atomic.Int64
	mu    sync.Mutex
	msgs  map[string][][]byte // topic -> payloads
	all   int
	c     paho.Client
}

func newSubscriber(t testing.TB, url, clientID string, topics ...string) *subscriber {
	t.Helper()
	s := &subscriber{msgs: map[string][][]byte{}}
	filters := map[string]byte{}
	for _, tp := range topics {
		filters[tp] = 1
	}
	handler := func(_ paho.Client, m paho.Message) {
		s.mu.Lock()
		s.msgs[m.Topic()] = append(s.msgs[m.Topic()], append([]byte(nil), m.Payload()...))
		s.all++
		s.mu.Unlock()
	}
	subscribed := make(chan error, 1)
	o := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetKeepAlive(2 * time.Second).
		SetDefaultPublishHandler(handler).
		SetOnConnectHandler(func(c paho.Client) {
			// Subscribe once per connection: every SUBSCRIBE makes the
			// broker resend retained messages.
			tok := c.SubscribeMultiple(filters, handler)
			go func() {
				tok.Wait()
				if tok.Error() == nil {
					s.ready.Add(1)
				}
				select {
				case subscribed <- tok.Error():
				default:
				}
			}()
		})
	s.c = paho.NewClient(o)
	tok := s.c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	select {
	case err := <-subscribed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("subscribe timed out")
	}
	t.Cleanup(func() { s.c.Disconnect(100) })
	return s
}

func (s *subscriber) payloads(topic string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs[topic]...)
}

// measurementIDs returns every MeasurementMessage id seen and how many
// messages arrived in all (duplicates included).
func (s *subscriber) measurementIDs(t testing.TB) (map[string]MeasurementMessage, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := map[string]MeasurementMessage{}
	n := 0
	for topic, ps := range s.msgs {
		if len(topic) < len("/measurement") || topic[len(topic)-len("/measurement"):] != "/measurement" {
			continue
		}
		for _, p := range ps {
			var m MeasurementMessage
			require.NoError(t, json.Unmarshal(p, &m))
			if prev, ok := ids[m.ID]; ok {
				// A duplicate must be the same measurement.
				require.Equal(t, prev, m, "id %s reused for another measurement", m.ID)
			}
			ids[m.ID] = m
			n++
		}
	}
	return ids, n
}

func publish(t testing.TB, url, topic string, payload []byte) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("test-pub-" + time.Now().Format("150405.000000000")))
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	defer c.Disconnect(100)
	tok = c.Publish(topic, 1, false, payload)
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
}

// startBroker starts Mosquitto and lets it write its persistence file.
//
// Started as root, mosquitto 2 drops privileges to the "mosquitto" user,
// which cannot write into the 0700 temporary directory testserver gives
// it: autosave fails ("Permission denied") and a killed broker comes back
// without any session, so a subscriber's queued messages vanish with it.
// Until testserver configures that, open the directory up here.
func startBroker(t testing.TB) *testserver.Mosquitto {
	t.Helper()
	b := testserver.StartMosquitto(t)
	// The broker's directory is a sibling of ours (t.TempDir numbers them);
	// its config names its port.
	_, port, err := net.SplitHostPort(b.Addr)
	require.NoError(t, err)
	confs, err := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "mosquitto.conf"))
	require.NoError(t, err)
	dir := ""
	for _, c := range confs {
		if data, err := os.ReadFile(c); err == nil && strings.Contains(string(data), "listener "+port+" ") {
			dir = filepath.Dir(c)
		}
	}
	require.NotEmpty(t, dir, "mosquitto directory not found")
	require.NoError(t, os.Chmod(dir, 0o777))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	return b
}

// gate is a TCP proxy in front of the broker for the sink. Closed, it
// hangs up on new connections, so a test can let a subscriber reconnect
// after a broker restart before the sink does: a restarted broker has lost
// what it had not saved (sessions, queued messages), which is the broker's
// durability, not the sink's.
type gate struct {
	ln     net.Listener
	target string
	open   atomic.Bool
}

func newGate(t testing.TB, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &gate{ln: ln, target: target}
	g.open.Store(true)
	proxy(t, ln, target, g.open.Load)
	return g
}

// proxy forwards every connection accepted on ln to target until the test
// ends; admit, when set, refuses connections while it returns false.
func proxy(t testing.TB, ln net.Listener, target string, admit func() bool) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if admit != nil && !admit() {
				c.Close()
				continue
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, b)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(b, c); b.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(c, b); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

func (g *gate) URL() string { return "tcp://" + g.ln.Addr().String() }

// restart kills and restarts the broker; the sink may reconnect only after
// sub has subscribed again.
func restart(t testing.TB, b *testserver.Mosquitto, g *gate, sub *subscriber, outage time.Duration, during func()) {
	t.Helper()
	n := sub.ready.Load()
	g.open.Store(false)
	b.Stop()
	time.Sleep(outage)
	if during != nil {
		during()
	}
	b.Start()
	require.Eventually(t, func() bool { return sub.ready.Load() > n }, 10*time.Second, 5*time.Millisecond)
	g.open.Store(true)
}
