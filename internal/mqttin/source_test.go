package mqttin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/codec/all"
	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/ingest"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
	"github.com/loraedge/loraedge/internal/uplink"
	"github.com/loraedge/loraedge/internal/uplinkevent"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func tp(s string) *time.Time { t := ts(s); return &t }

func mustEUI(s string) lorawan.EUI64 {
	var e lorawan.EUI64
	if err := e.UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return e
}

var (
	chirpstackWant = uplink.Uplink{
		DevEUI: mustEUI("70b3d57ed0010001"), DevAddr: lorawan.DevAddr{0x01, 0xab, 0x23, 0xcd},
		FPort: 10, FCnt: 4711, ADR: true,
		Payload:   []byte{0xff, 0xce, 0x00, 0xc8, 0x13, 0x88, 0x20, 0x00, 0x00, 0x64, 0x0e, 0x10},
		Frequency: 868500000, DataRate: "SF7BW125", Time: ts("2026-01-12T17:00:01.512Z"),
		RxInfo: []uplink.RxInfo{
			{GatewayID: mustEUI("0016c001f153a14d"), RSSI: -71, SNR: 9.25, Frequency: 868500000, DataRate: "SF7BW125",
				Channel: 2, RFChain: 1, Time: tp("2026-01-12T17:00:01.500Z"), ReceivedAt: ts("2026-01-12T17:00:01.528Z")},
			{GatewayID: mustEUI("0016c001f153a14c"), RSSI: -104, SNR: -2.5, Frequency: 868500000, DataRate: "SF7BW125",
				Channel: 2, ReceivedAt: ts("2026-01-12T17:00:01.530Z")},
		},
	}
	ttsWant = uplink.Uplink{
		DevEUI: mustEUI("70b3d57ed0030004"), DevAddr: lorawan.DevAddr{0x26, 0x0b, 0x12, 0x34},
		FPort: 20, FCnt: 12, Confirmed: true, Payload: []byte{0x01, 0x0e, 0x1a},
		Frequency: 867300000, DataRate: "SF9BW125",
		// The best reception has no GPS time, the second one has.
		Time: ts("2026-01-12T05:00:00.698Z"),
		RxInfo: []uplink.RxInfo{
			{GatewayID: mustEUI("b827ebfffe000001"), RSSI: -93, SNR: 6.75, Frequency: 867300000, DataRate: "SF9BW125",
				Channel: 4, ReceivedAt: ts("2026-01-12T05:00:00.850Z")},
			{RSSI: -118, SNR: -9, Frequency: 867300000, DataRate: "SF9BW125",
				Time: tp("2026-01-12T05:00:00.698Z"), ReceivedAt: ts("2026-01-12T05:00:00.871Z")},
		},
	}
)

func TestParse(t *testing.T) {
	edge, err := json.Marshal(uplinkevent.New(chirpstackWant, "gw2", true))
	require.NoError(t, err)
	tests := []struct {
		name   string
		format Format
		body   []byte
		want   *uplink.Uplink
		errIs  error
	}{
		{"chirpstack v4 up", ChirpStack, fixture(t, "chirpstack_up.json"), &chirpstackWant, nil},
		{"tts v3 up", TTS, fixture(t, "tts_up.json"), &ttsWant, nil},
		{"loraedge uplink event", LoRaEdge, edge, &chirpstackWant, nil},
		{"chirpstack bad base64", ChirpStack, fixture(t, "chirpstack_bad_base64.json"), nil, nil},
		{"chirpstack mac only", ChirpStack, fixture(t, "chirpstack_mac_only.json"), nil, ErrNotApplication},
		{"tts bad frequency", TTS, fixture(t, "tts_bad_frequency.json"), nil, nil},
		{"tts join event", TTS, fixture(t, "tts_join.json"), nil, nil},
		{"garbage", ChirpStack, fixture(t, "garbage.txt"), nil, nil},
		{"chirpstack bad eui", ChirpStack, []byte(`{"deviceInfo":{"devEui":"xyz"},"fPort":1}`), nil, nil},
		{"tts fport too big", TTS, []byte(`{"end_device_ids":{"dev_eui":"70B3D57ED0030004"},"uplink_message":{"f_port":300}}`), nil, nil},
		{"loraedge without time", LoRaEdge, []byte(`{"dev_eui":"70b3d57ed0030004","f_port":1}`), nil, nil},
		{"unknown format", "nope", []byte(`{}`), nil, errFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up, err := Parse(tc.format, tc.body)
			if tc.want == nil {
				require.Error(t, err)
				if tc.errIs != nil {
					require.ErrorIs(t, err, tc.errIs)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, *tc.want, up)
		})
	}
}

func TestTopicMatch(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"application/+/device/+/event/up", "application/17c8/device/70b3d57ed0010001/event/up", true},
		{"application/+/device/+/event/up", "application/17c8/device/70b3d57ed0010001/event/join", false},
		{"v3/+/devices/+/up", "v3/app@ttn/devices/valve/up", true},
		{"v3/+/devices/+/up", "v3/app@ttn/devices/valve/up/extra", false},
		{"loraedge/#", "loraedge/gw2/device/x/uplink", true},
		{"a/b", "a", false},
	} {
		assert.Equal(t, tc.want, topicMatch(tc.filter, tc.topic), "%s %s", tc.filter, tc.topic)
	}
}

type collector struct {
	mu  sync.Mutex
	ups []uplink.Uplink
}

func (c *collector) HandleUplink(_ context.Context, up uplink.Uplink) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ups = append(c.ups, up)
	return nil
}

func (c *collector) all() []uplink.Uplink {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uplink.Uplink(nil), c.ups...)
}

func publisher(t testing.TB, url string) func(topic string, body []byte) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("mqttin-test-pub"))
	tok := c.Connect()
	require.True(t, tok.WaitTimeout(10*time.Second))
	require.NoError(t, tok.Error())
	t.Cleanup(func() { c.Disconnect(100) })
	return func(topic string, body []byte) {
		tok := c.Publish(topic, 1, false, body)
		require.True(t, tok.WaitTimeout(10*time.Second))
		require.NoError(t, tok.Error())
	}
}

func runSource(t testing.TB, s *Source) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("source did not stop")
		}
	})
	require.Eventually(t, func() bool { return testutil.ToFloat64(s.connected) == 1 }, 10*time.Second, 10*time.Millisecond)
}

// TestSourceFromBroker publishes ChirpStack, TTS and loraedge messages to
// a real broker: the known devices' uplinks arrive with the right fields,
// everything else is counted.
func TestSourceFromBroker(t *testing.T) {
	broker := testserver.StartMosquitto(t)
	devs, err := device.NewRegistry([]device.Device{
		{DevEUI: chirpstackWant.DevEUI, Activation: device.External, Profile: "generic/road-station"},
		{DevEUI: ttsWant.DevEUI, Activation: device.External, Profile: "generic/valve-actuator"},
	})
	require.NoError(t, err)
	col := &collector{}
	cfg := DefaultConfig()
	cfg.URL = broker.URL()
	cfg.Gateway = "central"
	cfg.BackoffMin, cfg.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	cfg.Subscriptions = append(DefaultSubscriptions(), Subscription{Topic: "loraedge/+/device/+/uplink", Format: LoRaEdge})
	s, err := New(Options{Config: cfg, Devices: devs, Handler: col})
	require.NoError(t, err)
	runSource(t, s)
	pub := publisher(t, broker.URL())

	pub("application/17c8/device/70b3d57ed0010001/event/up", fixture(t, "chirpstack_up.json"))
	pub("v3/gebaeude@ttn/devices/valve-school/up", fixture(t, "tts_up.json"))
	require.Eventually(t, func() bool { return len(col.all()) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, chirpstackWant, col.all()[0])
	assert.Equal(t, ttsWant, col.all()[1])

	// The same frame again from ChirpStack and a loraedge gateway: deduplicated.
	pub("application/17c8/device/70b3d57ed0010001/event/up", fixture(t, "chirpstack_up.json"))
	next := chirpstackWant
	next.FCnt++
	ev, err := json.Marshal(uplinkevent.New(next, "gw2", true))
	require.NoError(t, err)
	pub("loraedge/gw2/device/70b3d57ed0010001/uplink", ev)
	pub("loraedge/central/device/70b3d57ed0010001/uplink", ev) // our own
	// Unknown device and bad payloads: counted, never fatal.
	unknown := []byte(`{"deviceInfo":{"devEui":"0000000000000bad"},"fCnt":1,"fPort":1,"data":"AA==","time":"2026-01-12T17:00:00Z"}`)
	pub("application/17c8/device/0000000000000bad/event/up", unknown)
	pub("application/17c8/device/70b3d57ed0010001/event/up", fixture(t, "chirpstack_bad_base64.json"))
	pub("application/17c8/device/70b3d57ed0010001/event/up", fixture(t, "garbage.txt"))
	pub("v3/gebaeude@ttn/devices/valve-school/up", fixture(t, "tts_bad_frequency.json"))
	pub("application/17c8/device/70b3d57ed0010001/event/up", fixture(t, "chirpstack_mac_only.json"))

	count := func(format Format, result string) float64 {
		return testutil.ToFloat64(s.messages.WithLabelValues(string(format), result))
	}
	require.Eventually(t, func() bool { return count(ChirpStack, ResultNotApplication) == 1 }, 5*time.Second, 10*time.Millisecond)
	ups := col.all()
	require.Len(t, ups, 3)
	assert.Equal(t, next, ups[2], "the loraedge event carries the whole uplink")
	assert.Equal(t, 1.0, count(ChirpStack, ResultDuplicate))
	assert.Equal(t, 1.0, count(LoRaEdge, ResultOwn))
	assert.Equal(t, 1.0, count(ChirpStack, ResultUnknownDevice))
	assert.Equal(t, 2.0, count(ChirpStack, ResultBadPayload))
	assert.Equal(t, 1.0, count(TTS, ResultBadPayload))
	assert.Equal(t, 1.0, count(ChirpStack, ResultOK))
	assert.Equal(t, 1.0, count(TTS, ResultOK))
	assert.Equal(t, 1.0, count(LoRaEdge, ResultOK))
}

// TestSourceIntoStore runs the real ingester behind the source: a TTS
// uplink of the valve ends up as stored measurements, and messages sent
// while the source was away arrive once it is back (persistent session).
func TestSourceIntoStore(t *testing.T) {
	broker := testserver.StartMosquitto(t)
	devs, err := device.NewRegistry([]device.Device{{DevEUI: ttsWant.DevEUI, Activation: device.External, Profile: "generic/valve-actuator"}})
	require.NoError(t, err)
	reg, err := all.NewRegistry()
	require.NoError(t, err)
	profiles, err := profile.LoadDefault(reg, "")
	require.NoError(t, err)
	st, err := store.Open(store.Options{Dir: t.TempDir(), Config: store.Config{CommitInterval: 5 * time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	ing, err := ingest.New(ingest.Options{Devices: devs, Profiles: profiles, Store: st})
	require.NoError(t, err)
	ictx, stopIngest := context.WithCancel(context.Background())
	idone := make(chan error, 1)
	go func() { idone <- ing.Run(ictx) }()
	t.Cleanup(func() { stopIngest(); <-idone })

	cfg := DefaultConfig()
	cfg.URL, cfg.ClientID = broker.URL(), "central-in"
	s1, err := New(Options{Config: cfg, Devices: devs, Handler: ing})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s1.Run(ctx) }()
	require.Eventually(t, func() bool { return testutil.ToFloat64(s1.connected) == 1 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	// The source is away: the broker keeps the message for its session.
	publisher(t, broker.URL())("v3/gebaeude@ttn/devices/valve-school/up", fixture(t, "tts_up.json"))
	s2, err := New(Options{Config: cfg, Devices: devs, Handler: ing})
	require.NoError(t, err)
	runSource(t, s2)

	cur, err := st.OpenCursor("test")
	require.NoError(t, err)
	defer cur.Close()
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	recs, err := cur.Next(rctx, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	got := map[measurement.Quantity]float64{}
	for _, m := range recs[0].Measurements {
		got[m.Quantity] = m.Value
		assert.WithinDuration(t, ttsWant.Time, m.Time, time.Second) // ingest keeps whole seconds
		assert.Equal(t, "70b3d57ed0030004", m.Device)
	}
	assert.Equal(t, 1.0, got[measurement.ValveState])
	assert.InDelta(t, 3.61, got[measurement.BatteryVoltage], 1e-9)
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Enabled = true
	require.NoError(t, c.Validate())
	c.URL = "ftp://x"
	c.Subscriptions = []Subscription{{Topic: "", Format: "xml"}}
	c.BackoffMin = time.Hour
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{"url:", "subscriptions[0].topic", "subscriptions[0].format", "backoff_min"} {
		assert.Contains(t, err.Error(), want)
	}
	c.Enabled = false
	assert.NoError(t, c.Validate())
}

// FuzzParse: no input may panic any parser.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"chirpstack_up.json", "tts_up.json", "chirpstack_bad_base64.json", "tts_bad_frequency.json", "garbage.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, format := range []Format{ChirpStack, TTS, LoRaEdge} {
			up, err := Parse(format, b)
			if err == nil && up.FPort == 0 {
				t.Fatalf("%s: fPort 0 accepted", format)
			}
		}
	})
}

// TestSourceReconnects: after the broker was killed and restarted, the
// source connects and subscribes again by itself.
func TestSourceReconnects(t *testing.T) {
	broker := testserver.StartMosquitto(t)
	devs, err := device.NewRegistry([]device.Device{{DevEUI: ttsWant.DevEUI, Activation: device.External}})
	require.NoError(t, err)
	col := &collector{}
	cfg := DefaultConfig()
	cfg.URL = broker.URL()
	cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
	cfg.DedupWindow = -1
	s, err := New(Options{Config: cfg, Devices: devs, Handler: col})
	require.NoError(t, err)
	runSource(t, s)
	publisher(t, broker.URL())("v3/a/devices/b/up", fixture(t, "tts_up.json"))
	require.Eventually(t, func() bool { return len(col.all()) == 1 }, 5*time.Second, 10*time.Millisecond)

	broker.Stop()
	time.Sleep(300 * time.Millisecond)
	broker.Start()
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(s.connects.WithLabelValues("ok")) == 2 && testutil.ToFloat64(s.connected) == 1
	}, 10*time.Second, 10*time.Millisecond)
	publisher(t, broker.URL())("v3/a/devices/b/up", fixture(t, "tts_up.json"))
	require.Eventually(t, func() bool { return len(col.all()) == 2 }, 5*time.Second, 10*time.Millisecond)
	assert.Positive(t, testutil.ToFloat64(s.connects.WithLabelValues("error")), "refused while the broker was down")
}
