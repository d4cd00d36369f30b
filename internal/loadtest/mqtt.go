package loadtest

import (
	"context"
	"fmt"
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
}

func newMQTTCounter(ctx context.Context, url, topic string) (*mqttCounter, error) {
	m := &mqttCounter{}
	var mu sync.Mutex // paho may call the handler from several goroutines
	seen := map[string]struct{}{}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("loraedge-loadtest-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetOrderMatters(false).SetConnectTimeout(10 * time.Second)
	opts.SetDefaultPublishHandler(func(_ paho.Client, msg paho.Message) {
		// The id is the whole payload's "id" field; a cheap prefix scan
		// instead of decoding JSON keeps the counter off the CPU.
		id := messageID(msg.Payload())
		mu.Lock()
		_, dup := seen[id]
		if !dup && id != "" {
			seen[id] = struct{}{}
		}
		mu.Unlock()
		if dup {
			m.dups.Add(1)
			return
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

// messageID finds the value of the first "id" key of a JSON object
// without decoding it; "" if there is none.
func messageID(b []byte) string {
	const key = `"id":"`
	for i := 0; i+len(key) <= len(b); i++ {
		if string(b[i:i+len(key)]) != key {
			continue
		}
		rest := b[i+len(key):]
		for j, c := range rest {
			if c == '"' {
				return string(rest[:j])
			}
		}
		return ""
	}
	return ""
}
