package loadtest

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// mqttCounter counts the measurement messages the daemon publishes.
// Measurements arrive at least once: a message id seen before (a resend
// after a reconnect) is not counted again.
type mqttCounter struct {
	client paho.Client
	n      atomic.Int64
	dups   atomic.Int64

	mu sync.Mutex
	// lat holds, per counted message, arrival minus the measurement's
	// time in seconds: the measurement is dated by the daemon's first UDP
	// reception (the generator sends no GPS time), on the same clock.
	lat []float64
}

func newMQTTCounter(ctx context.Context, url, topic string) (*mqttCounter, error) {
	m := &mqttCounter{}
	seen := map[string]struct{}{}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("loraedge-loadtest-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetOrderMatters(false).SetConnectTimeout(10 * time.Second)
	opts.SetDefaultPublishHandler(func(_ paho.Client, msg paho.Message) {
		// The id is the whole payload's "id" field; a cheap prefix scan
		// instead of decoding JSON keeps the counter off the CPU.
		now := time.Now()
		id := jsonString(msg.Payload(), "id")
		// paho may call the handler from several goroutines.
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, dup := seen[id]; dup {
			m.dups.Add(1)
			return
		}
		if id != "" {
			seen[id] = struct{}{}
		}
		if t, err := time.Parse(time.RFC3339Nano, jsonString(msg.Payload(), "time")); err == nil {
			m.lat = append(m.lat, now.Sub(t).Seconds())
		} else {
			m.lat = append(m.lat, math.NaN())
		}
		m.n.Add(1)
	})
	m.client = paho.NewClient(opts)
	if err := waitToken(ctx, m.client.Connect()); err != nil {
		return nil, fmt.Errorf("mqtt connect %s: %w", url, err)
	}
	if err := waitToken(ctx, m.client.Subscribe(topic, 1, nil)); err != nil {
		m.client.Disconnect(0)
		return nil, fmt.Errorf("mqtt subscribe %s: %w", topic, err)
	}
	return m, nil
}

func (m *mqttCounter) count() int64 { return m.n.Load() }

// latencies returns the quantiles qs (seconds) of the latencies of the
// messages counted from the from-th on; NaN where there are none.
func (m *mqttCounter) latencies(from int64, qs ...float64) []float64 {
	m.mu.Lock()
	var ls []float64
	if int(from) < len(m.lat) {
		for _, l := range m.lat[from:] {
			if !math.IsNaN(l) {
				ls = append(ls, l)
			}
		}
	}
	m.mu.Unlock()
	sort.Float64s(ls)
	out := make([]float64, len(qs))
	for i, q := range qs {
		if len(ls) == 0 {
			out[i] = math.NaN()
			continue
		}
		// Nearest rank: an observed value, not an interpolation.
		k := int(math.Ceil(q*float64(len(ls)))) - 1
		out[i] = ls[max(0, min(k, len(ls)-1))]
	}
	return out
}

func (m *mqttCounter) close() { m.client.Disconnect(250) }

func waitToken(ctx context.Context, t paho.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(15 * time.Second):
		return fmt.Errorf("timeout")
	}
}

// jsonString finds the string value of the first key of that name in a
// JSON object without decoding it (the counter must stay cheap next to
// the daemon); "" if there is none. Escapes are not interpreted.
func jsonString(b []byte, key string) string {
	pat := `"` + key + `":"`
	for i := 0; i+len(pat) <= len(b); i++ {
		if string(b[i:i+len(pat)]) != pat {
			continue
		}
		rest := b[i+len(pat):]
		for j, c := range rest {
			if c == '"' {
				return string(rest[:j])
			}
		}
		return ""
	}
	return ""
}
