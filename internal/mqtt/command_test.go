package mqtt

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/profile"
)

// recordingQueue passes downlinks to the real network queue and remembers
// what it passed.
type recordingQueue struct {
	next DownlinkQueue
	mu   sync.Mutex
	got  []queued
	exp  []time.Duration
}

type queued struct {
	dev       lorawan.EUI64
	fport     uint8
	payload   []byte
	confirmed bool
}

func (q *recordingQueue) EnqueueDownlinkExpiring(dev lorawan.EUI64, fport uint8, payload []byte, confirmed bool, expiry time.Duration) (string, error) {
	id, err := q.next.EnqueueDownlinkExpiring(dev, fport, payload, confirmed, expiry)
	if err == nil {
		q.mu.Lock()
		q.got = append(q.got, queued{dev, fport, payload, confirmed})
		q.exp = append(q.exp, expiry)
		q.mu.Unlock()
	}
	return id, err
}

func (q *recordingQueue) all() []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queued(nil), q.got...)
}

func loadProfiles(t testing.TB) *profile.Set {
	t.Helper()
	reg, err := all.NewRegistry()
	require.NoError(t, err)
	set, err := profile.LoadDefault(reg, "")
	require.NoError(t, err)
	return set
}

func eui(t testing.TB, s string) lorawan.EUI64 {
	t.Helper()
	var e lorawan.EUI64
	require.NoError(t, e.UnmarshalText([]byte(s)))
	return e
}

func TestCommands(t *testing.T) {
	broker := startBroker(t)
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	const (
		valve     = "70b3d57ed0030004"
		bare      = "70b3d57ed0030005" // no profile
		small     = "70b3d57ed0030006" // for the full queue
		external  = devA
		unknownID = "70b3d57ed00300ff"
	)
	key := lorawan.AES128Key{1, 2, 3}
	devs, err := device.NewRegistry([]device.Device{
		{DevEUI: eui(t, valve), Activation: device.OTAA, AppKey: key, Profile: "generic/valve-actuator"},
		{DevEUI: eui(t, bare), Activation: device.OTAA, AppKey: key},
		{DevEUI: eui(t, small), Activation: device.OTAA, AppKey: key},
		{DevEUI: eui(t, external), Activation: device.External, Profile: "generic/valve-actuator"},
	})
	require.NoError(t, err)
	ns, err := network.NewServer(network.Options{Devices: devs, StatePath: filepath.Join(t.TempDir(), "network.db"), DownlinkQueueSize: 2})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Close() })
	q := &recordingQueue{next: ns}

	sub := newSubscriber(t, broker.URL(), "sub-commands", "loraedge/gw1/device/+/command/+")
	s, err := New(Options{Config: testConfig(broker.URL()), Log: st, Devices: devs, Profiles: loadProfiles(t), Downlinks: q, Logger: testLogger()})
	require.NoError(t, err)
	runSink(t, s)
	require.Eventually(t, func() bool { return s.current() != nil }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // the SUBSCRIBE follows the connect

	// reply waits for the answer to the request with the given id on the
	// device's ack or nack topic.
	reply := func(t *testing.T, dev, kind, id string) CommandReply {
		t.Helper()
		var out CommandReply
		require.Eventually(t, func() bool {
			for _, p := range sub.payloads("loraedge/gw1/device/" + dev + "/command/" + kind) {
				var r CommandReply
				require.NoError(t, json.Unmarshal(p, &r))
				if r.ID == id {
					out = r
					return true
				}
			}
			return false
		}, 5*time.Second, 10*time.Millisecond, "no %s for %q", kind, id)
		return out
	}

	long := strings.Repeat("ab", 243)
	// nackTexts are the words an operator reads in a nack's error.
	nackTexts := map[string]string{
		"bad hex":          `hex: expected pairs of hex digits (0-9, a-f), got "zz"`,
		"fport 0":          "f_port: 1..223",
		"too long":         "payload: 242 bytes at most, got 243",
		"not json":         "body: not valid JSON",
		"bad eui in topic": `topic dev_eui: expected 16 hex digits, got 6`,
	}
	tests := []struct {
		name, dev, body string
		id              string // "" for bodies without one
		reason          string // "" for ack
		fport           uint8
		hex             string
		confirmed       bool
	}{
		{"named command", valve, `{"id":"c1","command":"close"}`, "c1", "", 20, "00", false},
		{"raw", valve, `{"id":"c2","f_port":21,"hex":"0102","confirmed":true}`, "c2", "", 21, "0102", true},
		{"unknown device", unknownID, `{"id":"c3","command":"close"}`, "c3", ReasonUnknownDevice, 0, "", false},
		{"external device", external, `{"id":"c4","command":"close"}`, "c4", ReasonExternalDevice, 0, "", false},
		{"unknown command", valve, `{"id":"c5","command":"explode"}`, "c5", ReasonUnknownCommand, 0, "", false},
		{"unexpected argument", valve, `{"id":"c6","command":"close","args":{"x":1}}`, "c6", ReasonBadArgument, 0, "", false},
		{"no profile", bare, `{"id":"c7","command":"close"}`, "c7", ReasonNoProfile, 0, "", false},
		{"bad hex", valve, `{"id":"c8","f_port":20,"hex":"zz"}`, "c8", ReasonBadHex, 0, "", false},
		{"fport 0", valve, `{"id":"c9","f_port":0,"hex":"00"}`, "c9", ReasonBadFPort, 0, "", false},
		{"fport 224", valve, `{"id":"c10","f_port":224,"hex":"00"}`, "c10", ReasonBadFPort, 0, "", false},
		{"no fport", valve, `{"id":"c11","hex":"00"}`, "c11", ReasonBadFPort, 0, "", false},
		{"too long", bare, `{"id":"c12","f_port":20,"hex":"` + long + `"}`, "c12", ReasonPayloadTooLong, 0, "", false},
		{"both kinds", valve, `{"id":"c13","command":"close","f_port":20,"hex":"00"}`, "c13", ReasonBadRequest, 0, "", false},
		{"not json", valve, `{"id":`, "", ReasonBadRequest, 0, "", false},
		{"bad eui in topic", "nothex", `{"id":"c15","command":"close"}`, "c15", ReasonBadTopic, 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			publish(t, broker.URL(), "loraedge/gw1/device/"+tc.dev+"/command/down", []byte(tc.body))
			if tc.reason == "" {
				r := reply(t, tc.dev, "ack", tc.id)
				assert.Equal(t, "ack", r.Result)
				assert.Equal(t, tc.fport, r.FPort)
				assert.Equal(t, tc.hex, r.Hex)
				assert.Equal(t, tc.confirmed, r.Confirmed)
				assert.NotEmpty(t, r.QueueID)
				return
			}
			r := reply(t, tc.dev, "nack", tc.id)
			assert.Equal(t, "nack", r.Result)
			assert.Equal(t, tc.reason, r.Reason, r.Error)
			if w, ok := nackTexts[tc.name]; ok {
				assert.Contains(t, r.Error, w)
			}
			assert.NotRegexp(t, `json:|encoding/|strconv\.|lorawan\.|network:|Go (struct field|value)|%!`, r.Error)
		})
	}
	got := q.all()
	require.Len(t, got, 2, "only the valid commands reached the queue")
	assert.Equal(t, queued{eui(t, valve), 20, []byte{0}, false}, got[0])
	assert.Equal(t, queued{eui(t, valve), 21, []byte{1, 2}, true}, got[1])

	t.Run("redelivered id is not queued twice", func(t *testing.T) {
		publish(t, broker.URL(), "loraedge/gw1/device/"+small+"/command/down", []byte(`{"id":"d1","f_port":5,"hex":"aa"}`))
		first := reply(t, small, "ack", "d1")
		publish(t, broker.URL(), "loraedge/gw1/device/"+small+"/command/down", []byte(`{"id":"d1","f_port":5,"hex":"aa"}`))
		require.Eventually(t, func() bool { return len(sub.payloads("loraedge/gw1/device/"+small+"/command/ack")) == 2 }, 5*time.Second, 10*time.Millisecond)
		var second CommandReply
		require.NoError(t, json.Unmarshal(sub.payloads("loraedge/gw1/device/" + small + "/command/ack")[1], &second))
		assert.True(t, second.Duplicate)
		assert.Equal(t, first.QueueID, second.QueueID)
		assert.Len(t, q.all(), 3)
	})
	t.Run("full queue", func(t *testing.T) {
		publish(t, broker.URL(), "loraedge/gw1/device/"+small+"/command/down", []byte(`{"id":"d2","f_port":5,"hex":"bb"}`))
		reply(t, small, "ack", "d2")
		publish(t, broker.URL(), "loraedge/gw1/device/"+small+"/command/down", []byte(`{"id":"d3","f_port":5,"hex":"cc"}`))
		assert.Equal(t, ReasonQueueFull, reply(t, small, "nack", "d3").Reason)
	})
	assert.Equal(t, 4.0, testutil.ToFloat64(s.m.commands.WithLabelValues("ack")))
	assert.Equal(t, 1.0, testutil.ToFloat64(s.m.commands.WithLabelValues("duplicate")))
	assert.Equal(t, 2.0, testutil.ToFloat64(s.m.commands.WithLabelValues(ReasonBadRequest)))
	assert.Equal(t, 3.0, testutil.ToFloat64(s.m.commands.WithLabelValues(ReasonBadFPort)))

	t.Run("expiry", func(t *testing.T) {
		publish(t, broker.URL(), "loraedge/gw1/device/"+bare+"/command/down", []byte(`{"id":"e1","f_port":7,"hex":"01","expiry":"soon"}`))
		r := reply(t, bare, "nack", "e1")
		assert.Equal(t, ReasonBadExpiry, r.Reason)
		assert.Contains(t, r.Error, `expiry: expected a duration such as 30m or 2h, got "soon"`)
		publish(t, broker.URL(), "loraedge/gw1/device/"+bare+"/command/down", []byte(`{"id":"e2","f_port":7,"hex":"01","expires_at":"2000-01-01T00:00:00Z"}`))
		assert.Equal(t, ReasonBadExpiry, reply(t, bare, "nack", "e2").Reason)
		before := time.Now()
		publish(t, broker.URL(), "loraedge/gw1/device/"+bare+"/command/down", []byte(`{"id":"e3","f_port":7,"hex":"01","expiry":"30m"}`))
		r = reply(t, bare, "ack", "e3")
		at, err := time.Parse(time.RFC3339, r.ExpiresAt)
		require.NoError(t, err, r.ExpiresAt)
		assert.WithinDuration(t, before.Add(30*time.Minute), at, time.Minute)
		q.mu.Lock()
		last := q.exp[len(q.exp)-1]
		q.mu.Unlock()
		assert.Equal(t, 30*time.Minute, last, "the queue got the expiry")
	})
}

// TestCommandQueuedWhileOffline: with a persistent session the broker
// keeps a command sent while the sink is away and delivers it on
// reconnect.
func TestCommandQueuedWhileOffline(t *testing.T) {
	broker := startBroker(t)
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	devs, err := device.NewRegistry([]device.Device{{DevEUI: eui(t, "70b3d57ed0030009"), Activation: device.OTAA, AppKey: lorawan.AES128Key{1}}})
	require.NoError(t, err)
	ns, err := network.NewServer(network.Options{Devices: devs, StatePath: filepath.Join(t.TempDir(), "network.db")})
	require.NoError(t, err)
	t.Cleanup(func() { ns.Close() })
	q := &recordingQueue{next: ns}
	opts := Options{Config: testConfig(broker.URL()), Log: st, Devices: devs, Downlinks: q, Logger: testLogger()}

	s1, err := New(opts)
	require.NoError(t, err)
	stop := runSink(t, s1)
	require.Eventually(t, func() bool { return s1.current() != nil }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, stop())

	publish(t, broker.URL(), "loraedge/gw1/device/70b3d57ed0030009/command/down", []byte(`{"id":"late","f_port":7,"hex":"07"}`))
	s2, err := New(opts)
	require.NoError(t, err)
	runSink(t, s2)
	require.Eventually(t, func() bool { return len(q.all()) == 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, []byte{7}, q.all()[0].payload)
}

func TestCommandDeviceFromTopic(t *testing.T) {
	s := &Sink{cfg: Config{TopicPrefix: "loraedge", Gateway: "gw1"}}
	for topic, want := range map[string]string{
		"loraedge/gw1/device/0102030405060708/command/down": "0102030405060708",
		"loraedge/gw1/device//command/down":                 "",
	} {
		got, ok := s.commandDevice(topic)
		assert.True(t, ok, topic)
		assert.Equal(t, want, got)
	}
	for _, topic := range []string{"loraedge/gw2/device/01/command/down", "loraedge/gw1/device/01/command/up", "x", "loraedge/gw1/status"} {
		_, ok := s.commandDevice(topic)
		assert.False(t, ok, topic)
	}
}
