package soak

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/loadtest"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/semtechudp"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/testserver"
)

var durationFlag = flag.Duration("soak.duration", 0, "load time of each scenario (default $LORAEDGE_SOAK_DURATION, else a short CI run)")

// defaultDuration keeps `go test ./internal/soak` (five scenarios plus
// daemon, broker and database starts) near a minute on two shared cores.
const defaultDuration = 6 * time.Second

// soakDuration is how long each scenario keeps its load (and its faults)
// going.
func soakDuration(t *testing.T) time.Duration {
	if *durationFlag > 0 {
		return *durationFlag
	}
	if v := os.Getenv("LORAEDGE_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "LORAEDGE_SOAK_DURATION")
		return d
	}
	return defaultDuration
}

// measurementsPerUplink: generic/road-station decodes six quantities.
const measurementsPerUplink = 6

// Metric names the invariants read.
const (
	mNetOK      = `loraedge_network_uplinks_total{result="ok"}`
	mReplay     = `loraedge_network_uplinks_total{result="replay"}`
	mRetrans    = `loraedge_network_uplinks_total{result="retransmission"}`
	mMIC        = `loraedge_network_uplinks_total{result="mic_invalid"}`
	mUnknownDA  = `loraedge_network_uplinks_total{result="unknown_devaddr"}`
	mNetDecode  = `loraedge_network_uplinks_total{result="decode_error"}`
	mStored     = `loraedge_ingest_uplinks_total{result="stored"}`
	mReadOnly   = `loraedge_store_read_only`
	mMalformed  = `loraedge_semtechudp_datagrams_malformed_total`
	mUDPDropped = `loraedge_semtechudp_frames_dropped_total`
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	testserver.RemoveDaemonBinary()
	os.Exit(code)
}

// buildDaemon builds cmd/loraedge once for the package: a real binary, so
// that SIGKILL kills a process and not a goroutine.
func buildDaemon(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the soak suite needs Linux (/proc, SIGKILL, tmpfs)")
	}
	return testserver.DaemonBinary(t)
}

// harness is one daemon under test: its files, its devices and the child
// process, restarted on the same ports and data dir.
type harness struct {
	t       *testing.T
	bin     string
	dataDir string
	cfgFile string
	logFile string
	fleet   *fleet
	d       *loadtest.Daemon
	udpPort int
	http    int
	starts  int
}

type harnessOptions struct {
	devices int
	extra   string // YAML before the device list
	dataDir string // default: a temporary directory
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	bin := buildDaemon(t)
	dir := t.TempDir()
	h := &harness{t: t, bin: bin, dataDir: o.dataDir, cfgFile: filepath.Join(dir, "loraedge.yaml"), logFile: filepath.Join(dir, "daemon.log")}
	if h.dataDir == "" {
		h.dataDir = filepath.Join(dir, "data")
		require.NoError(t, os.MkdirAll(h.dataDir, 0o700))
	}
	h.fleet = newFleet(loadtest.MakeDevices(o.devices))
	// The fleet's GPS times start 72 h back: no host-clock check.
	extra := "store:\n  commit_interval: 50ms\nudp:\n  gps_time: {ignore_host_clock: true}\n" + o.extra
	require.NoError(t, loadtest.WriteDaemonConfig(h.cfgFile, h.fleet.devs, extra))
	t.Cleanup(func() {
		if h.d != nil {
			h.d.Kill()
		}
		if t.Failed() {
			t.Logf("daemon log (end): %s", tail(h.logFile, 4000))
		}
	})
	return h
}

func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "(none)"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// start starts the daemon, on the same ports as before after a restart.
func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := loadtest.StartDaemon(ctx, loadtest.DaemonOptions{Binary: h.bin, ConfigFile: h.cfgFile, DataDir: h.dataDir,
		LogFile: h.logFile, LogLevel: "warn", UDPPort: h.udpPort, HTTPPort: h.http})
	require.NoError(h.t, err)
	h.d, h.udpPort, h.http = d, d.UDPPort, d.HTTPPort
	h.starts++
}

// kill is a crash: SIGKILL, no shutdown.
func (h *harness) kill() { h.d.Kill() }

// stop is a clean shutdown; it must succeed.
func (h *harness) stop() {
	h.t.Helper()
	require.NoError(h.t, h.d.Stop())
}

func (h *harness) metrics() map[string]float64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := h.d.Metrics(ctx)
	require.NoError(h.t, err, "daemon log: %s", h.d.LogTail())
	return s
}

func (h *harness) metric(name string) float64 { return loadtest.MetricValue(h.metrics(), name) }

// waitMetric waits until metric name satisfies ok.
func (h *harness) waitMetric(name string, timeout time.Duration, ok func(float64) bool, what string) float64 {
	h.t.Helper()
	return h.waitFor(what, timeout, func() float64 { return h.metric(name) }, ok)
}

// waitFor waits until get's value satisfies ok, and fails the test with
// the last value after timeout.
func (h *harness) waitFor(what string, timeout time.Duration, get func() float64, ok func(float64) bool) float64 {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := get()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: value %v after %s", what, v, timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitQuiet waits until the stored-uplinks counter has not moved for
// quiet: the daemon has processed what was sent.
func (h *harness) waitQuiet(quiet, max time.Duration) float64 {
	h.t.Helper()
	last, since, deadline := -1.0, time.Now(), time.Now().Add(max)
	for {
		v := h.metric(mStored)
		if v != last {
			last, since = v, time.Now()
		}
		if time.Since(since) >= quiet || time.Now().After(deadline) {
			return v
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// forwarder is a virtual packet forwarder: one UDP socket, GWMP v2.
type forwarder struct {
	mu   sync.Mutex
	conn *net.UDPConn
	mac  lorawan.EUI64
	tok  uint16
}

func newForwarder(t *testing.T, port int, n int) *forwarder {
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	require.NoError(t, err)
	_ = c.SetWriteBuffer(4 << 20)
	// Replies (PUSH_ACK) are read and dropped, so the socket's receive
	// buffer never matters.
	go func() {
		b := make([]byte, 2048)
		for {
			if _, err := c.Read(b); err != nil && !isRefused(err) {
				return
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	f := &forwarder{conn: c}
	f.mac = lorawan.EUI64{0xb8, 0x27, 0xeb, 0xff, 0xfe, 0x50, 0, byte(n)}
	return f
}

func isRefused(err error) bool { return strings.Contains(err.Error(), "connection refused") }

// push sends one PUSH_DATA with one rxpk carrying phy and, if at is not
// zero, the gateway's GPS time at.
func (f *forwarder) push(phy []byte, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tok++
	rx := semtechudp.RXPK{Tmst: uint32(time.Now().UnixMicro()), Freq: 868.1, Stat: 1, Modu: "LORA",
		DatR: semtechudp.DatR{LoRa: "SF7BW125"}, CodR: "4/5", RSSI: -90, LSNR: 6.5, Size: uint16(len(phy)), Data: phy}
	if !at.IsZero() {
		ct := semtechudp.CompactTime(at)
		rx.Time = &ct
		// The concentrator counter advances with the GPS time, so the
		// daemon's consistency check trusts it (see newHarness).
		rx.Tmst = uint32(at.UnixMicro())
	}
	pd := semtechudp.PushDataPacket{ProtocolVersion: semtechudp.ProtocolVersion2, RandomToken: f.tok, GatewayMAC: f.mac,
		Payload: semtechudp.PushDataPayload{RXPK: []semtechudp.RXPK{rx}}}
	b, err := pd.MarshalBinary()
	if err != nil {
		panic(err) // our own packet: a bug in the test
	}
	f.raw(b)
}

// raw sends a datagram as is; a daemon that is down refuses it, which is
// what a real forwarder sees too.
func (f *forwarder) raw(b []byte) { _, _ = f.conn.Write(b) }

// sentUplink is one uplink the fleet sent.
type sentUplink struct {
	dev  int
	fcnt uint32
	at   time.Time // rxpk.time, the measurement time
	phy  []byte
	wall time.Time // when it was built (and sent)
}

// fleet is the devices with their next frame counters and everything they
// sent, findable by (device, time) as the store and sinks return it.
type fleet struct {
	devs []loadtest.Device
	base time.Time

	mu     sync.Mutex
	next   []uint32
	rr     int
	sent   []sentUplink
	byTime map[string]map[int64]int // dev_eui -> unix s -> index in sent
}

func newFleet(devs []loadtest.Device) *fleet {
	f := &fleet{devs: devs, next: make([]uint32, len(devs)), byTime: map[string]map[int64]int{},
		// Data times in the past, one second per frame counter step, so
		// that every uplink of a device has its own second (the store's
		// resolution) and InfluxDB its own point.
		base: time.Now().UTC().Truncate(time.Hour).Add(-72 * time.Hour)}
	for _, d := range devs {
		f.byTime[d.EUI.String()] = map[int64]int{}
	}
	return f
}

// timeOf is the default data time of a device's frame counter.
func (f *fleet) timeOf(fcnt uint32) time.Time { return f.base.Add(time.Duration(fcnt) * time.Second) }

// nextUplink builds the next device's (round robin) next uplink, dated at
// (or at the default time when at is zero), and records it.
func (f *fleet) nextUplink(at time.Time) sentUplink {
	f.mu.Lock()
	i := f.rr % len(f.devs)
	f.rr++
	f.mu.Unlock()
	return f.uplinkOf(i, at)
}

func (f *fleet) uplinkOf(i int, at time.Time) sentUplink {
	f.mu.Lock()
	defer f.mu.Unlock()
	fcnt := f.next[i]
	f.next[i]++
	if at.IsZero() {
		at = f.timeOf(fcnt)
	}
	at = at.Truncate(time.Second)
	phy, err := f.devs[i].Uplink(fcnt)
	if err != nil {
		panic(err)
	}
	u := sentUplink{dev: i, fcnt: fcnt, at: at, phy: phy, wall: time.Now()}
	eui := f.devs[i].EUI.String()
	// A device sends at most once a second: a data time already taken
	// (clocks that jump back revisit seconds) moves on to the next free one.
	for {
		if _, dup := f.byTime[eui][at.Unix()]; !dup {
			break
		}
		at = at.Add(time.Second)
	}
	f.byTime[eui][at.Unix()] = len(f.sent)
	f.sent = append(f.sent, u)
	return u
}

// lookup finds the uplink of dev sent for time at.
func (f *fleet) lookup(dev string, at time.Time) (sentUplink, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.byTime[dev][at.Unix()]
	if !ok || !f.sent[i].at.Equal(at) {
		return sentUplink{}, false
	}
	return f.sent[i], true
}

// sentAt returns the i-th uplink sent, if there is one.
func (f *fleet) sentAt(i int) (sentUplink, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.sent) {
		return sentUplink{}, false
	}
	return f.sent[i], true
}

func (f *fleet) sentCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// load sends uplinks at rate per second, from the forwarders in turn,
// until ctx ends. dateFn, when set, chooses each uplink's data time.
func (f *fleet) load(ctx context.Context, rate float64, fws []*forwarder, dateFn func(n int) time.Time) {
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	start, n := time.Now(), 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		due := int(time.Since(start).Seconds() * rate)
		// At most a second's worth at once after a stall: a fleet of
		// radios does not catch up.
		if due-n > int(rate) {
			n = due - int(rate)
		}
		for ; n < due; n++ {
			var at time.Time
			if dateFn != nil {
				at = dateFn(n)
			}
			u := f.nextUplink(at)
			fws[n%len(fws)].push(u.phy, u.at)
		}
	}
}

// content is what a store, InfluxDB or MQTT holds, by device and data time:
// dev_eui -> unix ns -> quantity/channel -> value.
type content map[string]map[int64]map[string]float64

func (c content) add(dev string, t time.Time, q string, v float64) (dup bool) {
	byT := c[dev]
	if byT == nil {
		byT = map[int64]map[string]float64{}
		c[dev] = byT
	}
	qs := byT[t.UnixNano()]
	if qs == nil {
		qs = map[string]float64{}
		byT[t.UnixNano()] = qs
	}
	_, dup = qs[q]
	qs[q] = v
	return dup
}

// points counts measurements.
func (c content) points() int {
	n := 0
	for _, byT := range c {
		for _, qs := range byT {
			n += len(qs)
		}
	}
	return n
}

// uplinks counts distinct (device, time) pairs.
func (c content) uplinks() int {
	n := 0
	for _, byT := range c {
		n += len(byT)
	}
	return n
}

// missingFrom lists up to max measurements of c that other lacks.
func (c content) missingFrom(other content, max int) (n int, examples []string) {
	for dev, byT := range c {
		for t, qs := range byT {
			for q := range qs {
				if _, ok := other[dev][t][q]; !ok {
					n++
					if len(examples) < max {
						examples = append(examples, fmt.Sprintf("%s %s %s", dev, time.Unix(0, t).UTC().Format(time.RFC3339), q))
					}
				}
			}
		}
	}
	return n, examples
}

// readStore checks the stopped daemon's store with store.Check (it must be
// clean: a torn tail is allowed, as Open truncates it) and returns its
// content.
func readStore(t *testing.T, dataDir string) (content, store.Report) {
	t.Helper()
	dir := filepath.Join(dataDir, "store")
	rep, err := store.Check(dir)
	require.NoError(t, err, "store check after the run: %+v", rep)
	require.Empty(t, rep.Corrupt, "store check: corruption")
	require.Zero(t, rep.BadChunks, "store check: chunks that do not decode")
	s, err := store.Open(store.Options{Dir: dir})
	require.NoError(t, err)
	defer s.Close()
	var keys []string
	for _, si := range s.Series() {
		keys = append(keys, si.Key)
	}
	series, err := s.Range(context.Background(), keys, time.Unix(0, 0), time.Now().Add(100*365*24*time.Hour))
	require.NoError(t, err)
	c := content{}
	for _, sr := range series {
		for _, p := range sr.Points {
			require.False(t, c.add(sr.Device, p.Time, quantityKey(string(sr.Quantity), sr.Channel), p.Value),
				"store returned %s %s twice at %s", sr.Device, sr.Quantity, p.Time)
		}
	}
	return c, rep
}

func quantityKey(q string, channel int) string {
	if channel != 0 {
		return fmt.Sprintf("%s/%d", q, channel)
	}
	return q
}

// checkAgainstSent asserts that everything in c was sent: each (device,
// time) is an uplink of the fleet, with all six quantities, and the road
// surface temperature is the one its frame counter encoded (data intact,
// not merely present).
func (f *fleet) checkAgainstSent(t *testing.T, c content, where string) {
	t.Helper()
	bad := 0
	for dev, byT := range c {
		for ns, qs := range byT {
			u, ok := f.lookup(dev, time.Unix(0, ns).UTC())
			if !ok {
				bad++
				if bad < 5 {
					t.Errorf("%s: %s at %s was never sent", where, dev, time.Unix(0, ns).UTC())
				}
				continue
			}
			want := float64(int16(-150+int(u.fcnt%300))) / 100
			if v, ok := qs[string(measurement.RoadSurfaceTemperature)]; !ok || math.Abs(v-want) > 1e-9 || len(qs) != measurementsPerUplink {
				bad++
				if bad < 5 {
					t.Errorf("%s: %s f_cnt %d: road surface %v (want %v), %d quantities (want %d)", where, dev, u.fcnt, v, want, len(qs), measurementsPerUplink)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d uplinks do not match what was sent", where, bad)
	}
}

// mqttCollector is a persistent-session QoS 1 subscriber to the daemon's
// measurements that keeps every message by id.
type mqttCollector struct {
	client paho.Client
	mu     sync.Mutex
	byID   map[string]mqttMsg
	msgs   int
	// conflicts counts ids seen again with different content: an id that
	// is not stable across restarts.
	conflicts []string
}

type mqttMsg struct {
	Device   string    `json:"device"`
	Quantity string    `json:"quantity"`
	Channel  int       `json:"channel"`
	Value    float64   `json:"value"`
	Time     time.Time `json:"time"`
}

func newMQTTCollector(t *testing.T, brokerURL string) *mqttCollector {
	m := &mqttCollector{byID: map[string]mqttMsg{}}
	const topic = "loraedge/+/device/+/measurement"
	handler := func(_ paho.Client, msg paho.Message) {
		var p struct {
			ID string `json:"id"`
			mqttMsg
		}
		if err := json.Unmarshal(msg.Payload(), &p); err != nil {
			return
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.msgs++
		if old, ok := m.byID[p.ID]; ok && (old.Device != p.Device || old.Quantity != p.Quantity || !old.Time.Equal(p.Time) || old.Value != p.Value) {
			m.conflicts = append(m.conflicts, fmt.Sprintf("id %s: %+v then %+v", p.ID, old, p.mqttMsg))
		}
		m.byID[p.ID] = p.mqttMsg
	}
	// A fixed client id and no clean session: the broker queues what the
	// daemon publishes while this subscriber reconnects after an outage.
	opts := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(fmt.Sprintf("soak-%d", time.Now().UnixNano())).
		SetCleanSession(false).SetOrderMatters(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetMaxReconnectInterval(250 * time.Millisecond).SetConnectRetryInterval(250 * time.Millisecond).
		SetDefaultPublishHandler(handler)
	opts.SetOnConnectHandler(func(c paho.Client) { c.Subscribe(topic, 1, handler) })
	m.client = paho.NewClient(opts)
	tok := m.client.Connect()
	require.True(t, tok.WaitTimeout(15*time.Second), "mqtt connect")
	require.NoError(t, tok.Error())
	tok = m.client.Subscribe(topic, 1, handler)
	require.True(t, tok.WaitTimeout(15*time.Second), "mqtt subscribe")
	require.NoError(t, tok.Error())
	t.Cleanup(func() { m.client.Disconnect(100) })
	return m
}

// content is the distinct measurements received, by device and time.
func (m *mqttCollector) content() content {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := content{}
	for _, p := range m.byID {
		c.add(p.Device, p.Time, quantityKey(p.Quantity, p.Channel), p.Value)
	}
	return c
}

func (m *mqttCollector) stats() (ids, msgs int, conflicts []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byID), m.msgs, append([]string(nil), m.conflicts...)
}

// influxContent reads every point of the database with InfluxQL: each
// point is one measurement (one field), tagged by device and channel.
func influxContent(t *testing.T, baseURL, db string) (content, int) {
	t.Helper()
	q := url.Values{"db": {db}, "epoch": {"s"}, "q": {"SELECT * FROM /.*/ GROUP BY device, channel"}}
	resp, err := http.Get(baseURL + "/query?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var r struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Tags    map[string]string `json:"tags"`
				Columns []string          `json:"columns"`
				Values  [][]any           `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	require.NoError(t, dec.Decode(&r))
	c, rows := content{}, 0
	tagCols := map[string]bool{"time": true, "gateway": true, "site": true, "unit": true, "device": true, "channel": true}
	for _, res := range r.Results {
		require.Empty(t, res.Error)
		for _, s := range res.Series {
			ch := 0
			fmt.Sscan(s.Tags["channel"], &ch)
			for _, row := range s.Values {
				rows++
				sec, err := row[0].(json.Number).Int64()
				require.NoError(t, err)
				for i, col := range s.Columns {
					if tagCols[col] || row[i] == nil {
						continue
					}
					v, err := row[i].(json.Number).Float64()
					require.NoError(t, err)
					c.add(s.Tags["device"], time.Unix(sec, 0), quantityKey(col, ch), v)
				}
			}
		}
	}
	return c, rows
}
