// Package mqtt publishes loraedge data to an MQTT broker (paho) and takes
// downlink commands from it.
//
// Measurements are an outbox whose durability is the store's log, not
// paho's store (its file store does not fsync and a clean session wipes
// it): the sink reads a batch from its cursor, publishes every measurement
// with QoS 1, waits for all PUBACKs and only then commits the cursor. When
// the connection breaks, the unacknowledged batch is read again from the
// committed position on a fresh connection, so every measurement arrives
// at least once; the message id ("<seq>-<index>") lets subscribers drop
// the duplicates. Live uplink events, status and alerts are not durable.
//
// Topics, under <prefix>/<gateway>/ (prefix "loraedge"):
//
//	device/<dev_eui>/measurement   QoS 1, one measurement (MeasurementMessage)
//	device/<dev_eui>/state         QoS 1 retained, latest value per quantity (StateMessage)
//	device/<dev_eui>/uplink        QoS 0, rx metadata and payload (uplinkevent.Event)
//	device/<dev_eui>/command/down  in: downlink command (CommandRequest)
//	device/<dev_eui>/command/ack   QoS 1, command queued (CommandReply)
//	device/<dev_eui>/command/nack  QoS 1, command refused with reason (CommandReply)
//	status                         QoS 1 retained, online/offline (last will)
//	alert[/<suffix>]               QoS 1, alert notifications (payload by the alert engine)
package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brocaar/lorawan"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/mqttclient"
	"github.com/loraedge/loraedge/internal/network"
	"github.com/loraedge/loraedge/internal/profile"
	"github.com/loraedge/loraedge/internal/store"
	"github.com/loraedge/loraedge/internal/uplink"
	"github.com/loraedge/loraedge/internal/uplinkevent"
)

// CursorName is the sink's cursor in the store's log.
const CursorName = "mqtt"

// ErrNotConnected is returned by Publish while the sink has no broker
// connection.
var ErrNotConnected = errors.New("mqtt: not connected")

// Log is the durable log the sink reads; *store.Store implements it.
type Log interface {
	OpenCursor(name string) (*store.Cursor, error)
}

// LatestReader is an optional capability of the Log (*store.Store has
// it): the sink seeds its retained device state with the latest stored
// values, so that after a restart a device's state message does not lose
// the quantities that have not been measured again yet.
type LatestReader interface {
	Series() []store.SeriesInfo
	Last(ctx context.Context, keys []string) ([]store.Series, error)
}

// DownlinkQueue queues application downlinks; *network.Server implements it.
type DownlinkQueue interface {
	EnqueueDownlinkExpiring(devEUI lorawan.EUI64, fport uint8, payload []byte, confirmed bool, expiry time.Duration) (string, error)
}

// CommandBuilder builds a named device command from the device's firmware
// profile; *profile.Set implements it.
type CommandBuilder interface {
	Downlink(profileID, commandName string, args map[string]float64) (profile.Downlink, error)
}

// Publisher publishes one message with QoS 1 and waits for the broker's
// acknowledgement; the alert engine's MQTT notifier uses it.
type Publisher interface {
	Publish(ctx context.Context, topic string, payload []byte, retained bool) error
}

var (
	_ Log            = (*store.Store)(nil)
	_ LatestReader   = (*store.Store)(nil)
	_ DownlinkQueue  = (*network.Server)(nil)
	_ CommandBuilder = (*profile.Set)(nil)
	_ Publisher      = (*Sink)(nil)
	_ uplink.Handler = (*Sink)(nil)
)

// Options configure a Sink.
type Options struct {
	Config Config
	Log    Log // required
	// Devices gives measurements their site and validates commands;
	// without it commands are refused.
	Devices *device.Registry
	// Profiles builds named commands; without it only raw commands work.
	Profiles CommandBuilder
	// Downlinks queues commands; without it commands are refused.
	Downlinks  DownlinkQueue
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Sink is the MQTT sink and command input. Run owns the connection.
type Sink struct {
	cfg  Config
	opts Options
	log  *slog.Logger
	m    *metrics
	now  func() time.Time

	uplinks chan uplink.Uplink

	mu   sync.Mutex
	conn *mqttclient.Conn

	state    map[string]*StateMessage // Run goroutine only
	recent   recentCommands
	cmdTopic string

	pendingPoints atomic.Int64
	pendingSince  atomic.Int64 // unix nanos of the oldest unacknowledged batch, 0 none
	downSince     atomic.Int64 // unix nanos since the sink lost the broker, 0 connected
}

// New checks opts and fills defaults.
func New(opts Options) (*Sink, error) {
	if opts.Log == nil {
		return nil, errors.New("mqtt: Log is required")
	}
	cfg := opts.Config
	cfg.Enabled = true
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mqtt config: %w", err)
	}
	cfg = cfg.withDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sink{
		cfg:     cfg,
		opts:    opts,
		log:     opts.Logger.With("component", "mqtt"),
		now:     opts.Now,
		uplinks: make(chan uplink.Uplink, cfg.UplinkQueue),
		state:   map[string]*StateMessage{},
		recent:  recentCommands{max: 1024, byKey: map[string]CommandReply{}},
	}
	s.cmdTopic = s.Topic("device", "+", "command", "down")
	s.downSince.Store(s.now().UnixNano())
	m, err := newMetrics(opts.Registerer, s)
	if err != nil {
		return nil, err
	}
	s.m = m
	return s, nil
}

// Topic joins levels under <prefix>/<gateway>.
func (s *Sink) Topic(levels ...string) string {
	t := s.cfg.TopicPrefix + "/" + s.cfg.Gateway
	for _, l := range levels {
		t += "/" + l
	}
	return t
}

// DeviceTopic is <prefix>/<gateway>/device/<dev_eui>/<kind>.
func (s *Sink) DeviceTopic(devEUI, kind string) string {
	return s.Topic("device", devEUI, kind)
}

// Run connects, publishes the log from the sink's cursor and reconnects
// with exponential backoff until ctx is done. It returns an error only
// when the log fails for good.
func (s *Sink) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.pumpUplinks(ctx)
	}()
	defer wg.Wait()
	s.seedState(ctx)

	// A new connection resends the unacknowledged batch from the log; only
	// what reconnecting cannot cure (the log failing, TLS files that do not
	// load) stops the sink.
	if err := mqttclient.Reconnect(ctx, s.cfg.Config, s.log, "mqtt connection failed", s.session); err != nil {
		s.log.Error("mqtt sink stopped", "err", err)
		return err
	}
	return nil
}

// session runs one connection: status, command subscription, then batches
// from the cursor until the connection or ctx ends.
func (s *Sink) session(ctx context.Context) error {
	cn, err := s.connect(ctx)
	if err != nil {
		s.m.connects.WithLabelValues("error").Inc()
		return err
	}
	s.m.connects.WithLabelValues("ok").Inc()
	s.log.Info("mqtt connected", "url", s.cfg.URL, "client_id", s.cfg.ClientID)
	s.setConn(cn)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-cn.Lost():
			cancel()
		case <-sctx.Done():
		}
	}()
	defer func() {
		s.setConn(nil)
		if ctx.Err() != nil {
			// Clean shutdown: the last will only fires on a broken
			// connection, so say offline ourselves.
			_ = cn.Wait(context.Background(), cn.Client.Publish(s.Topic("status"), 1, true, s.statusPayload("offline")), time.Second)
		}
		cn.Client.Disconnect(250)
	}()

	if err := cn.Wait(sctx, cn.Client.Publish(s.Topic("status"), 1, true, s.statusPayload("online")), s.cfg.PublishTimeout); err != nil {
		return fmt.Errorf("publish status: %w", err)
	}
	s.m.published.WithLabelValues("status").Inc()
	if s.cfg.Commands {
		if err := cn.Wait(sctx, cn.Client.Subscribe(s.cmdTopic, 1, s.handleCommand), s.cfg.PublishTimeout); err != nil {
			return fmt.Errorf("subscribe %s: %w", s.cmdTopic, err)
		}
	}

	cur, err := s.opts.Log.OpenCursor(CursorName)
	if err != nil {
		return mqttclient.Permanent(fmt.Errorf("open cursor: %w", err))
	}
	defer cur.Close()
	for {
		recs, err := cur.Next(sctx, s.cfg.BatchSize)
		if err != nil {
			if sctx.Err() != nil {
				if ctx.Err() != nil {
					return nil
				}
				return mqttclient.ErrConnLost
			}
			return mqttclient.Permanent(fmt.Errorf("read log: %w", err))
		}
		if len(recs) == 0 {
			continue
		}
		n, err := s.deliver(sctx, cn, recs)
		if err != nil {
			s.m.retried.Add(float64(n))
			return fmt.Errorf("publish batch: %w", err)
		}
		if err := cur.Commit(recs[len(recs)-1].Seq); err != nil {
			return mqttclient.Permanent(fmt.Errorf("commit cursor: %w", err))
		}
		s.pendingPoints.Store(0)
		s.pendingSince.Store(0)
	}
}

func (s *Sink) connect(ctx context.Context) (*mqttclient.Conn, error) {
	o, err := s.cfg.ClientOptions()
	if err != nil {
		return nil, mqttclient.Permanent(err)
	}
	o.SetWill(s.Topic("status"), string(s.statusPayload("offline")), 1, true)
	if s.cfg.Commands {
		// With a persistent session the broker may deliver queued commands
		// right after CONNACK, before Subscribe has registered its handler.
		o.SetDefaultPublishHandler(s.handleCommand)
	}
	return s.cfg.Connect(ctx, o, func(err error) {
		s.log.Warn("mqtt connection lost", "err", err)
	})
}

func (s *Sink) setConn(cn *mqttclient.Conn) {
	s.mu.Lock()
	s.conn = cn
	s.mu.Unlock()
	if cn != nil {
		s.m.connected.Set(1)
		s.downSince.Store(0)
	} else {
		s.m.connected.Set(0)
		s.downSince.Store(s.now().UnixNano())
	}
}

func (s *Sink) current() *mqttclient.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

func (s *Sink) lagSeconds(now time.Time) float64 {
	since := s.pendingSince.Load()
	if d := s.downSince.Load(); d != 0 && (since == 0 || d < since) {
		since = d
	}
	if since == 0 {
		return 0
	}
	return max(0, now.Sub(time.Unix(0, since)).Seconds())
}

func (s *Sink) statusPayload(status string) []byte {
	b, _ := json.Marshal(StatusMessage{Gateway: s.cfg.Gateway, Status: status, Time: s.now().UTC()})
	return b
}

// StatusMessage is the retained payload on <prefix>/<gateway>/status.
type StatusMessage struct {
	Gateway string    `json:"gateway"`
	Status  string    `json:"status"` // online or offline
	Time    time.Time `json:"time"`
}

// MeasurementMessage is the payload on .../device/<dev_eui>/measurement.
// ID is measurement.ID: the same reading has the same id on every instance
// (from DevEUI, frame counter, quantity, channel and time), so subscribers
// can drop at-least-once and cross-gateway duplicates by it.
type MeasurementMessage struct {
	ID       string            `json:"id"`
	Device   string            `json:"device"`
	Quantity string            `json:"quantity"`
	Channel  int               `json:"channel"`
	Value    float64           `json:"value"`
	Unit     string            `json:"unit"`
	Time     time.Time         `json:"time"`
	Site     string            `json:"site,omitempty"`
	Meta     map[string]string `json:"meta,omitempty"`
}

// StateMessage is the retained payload on .../device/<dev_eui>/state: the
// latest value of each quantity ("<quantity>" or "<quantity>/<channel>")
// published since the daemon started.
type StateMessage struct {
	Device  string                `json:"device"`
	Site    string                `json:"site,omitempty"`
	Updated time.Time             `json:"updated"`
	Values  map[string]StateValue `json:"values"`
}

// StateValue is one latest value in a StateMessage.
type StateValue struct {
	Value float64   `json:"value"`
	Unit  string    `json:"unit"`
	Time  time.Time `json:"time"`
}

// deliver publishes a batch and its device states and waits for every
// PUBACK. It returns the number of measurements it tried.
func (s *Sink) deliver(ctx context.Context, cn *mqttclient.Conn, recs []store.Record) (int, error) {
	if s.pendingSince.Load() == 0 {
		s.pendingSince.Store(s.now().UnixNano())
	}
	points := 0
	for _, r := range recs {
		points += len(r.Measurements)
	}
	s.pendingPoints.Store(int64(points))
	toks := make([]paho.Token, 0, points+8)
	touched := map[string]bool{}
	sent := 0
	for _, r := range recs {
		for _, m := range r.Measurements {
			if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
				s.m.dropped.WithLabelValues("bad_value").Inc()
				continue
			}
			if validLevel(m.Device) != nil {
				s.m.dropped.WithLabelValues("bad_topic").Inc()
				continue
			}
			msg := MeasurementMessage{
				ID: measurement.ID(m), Device: m.Device, Quantity: string(m.Quantity), Channel: m.Channel,
				Value: m.Value, Unit: m.Unit, Time: m.Time.UTC(), Site: s.site(m.Device), Meta: m.Meta,
			}
			b, err := json.Marshal(msg)
			if err != nil {
				s.m.dropped.WithLabelValues("bad_value").Inc()
				continue
			}
			toks = append(toks, cn.Client.Publish(s.DeviceTopic(m.Device, "measurement"), 1, false, b))
			sent++
			s.updateState(m, msg.Site)
			touched[m.Device] = true
		}
	}
	states := 0
	for dev := range touched {
		b, err := json.Marshal(s.state[dev])
		if err != nil {
			continue
		}
		toks = append(toks, cn.Client.Publish(s.DeviceTopic(dev, "state"), 1, true, b))
		states++
	}
	deadline := time.NewTimer(s.cfg.PublishTimeout)
	defer deadline.Stop()
	for _, tok := range toks {
		select {
		case <-tok.Done():
			if err := tok.Error(); err != nil {
				return sent, err
			}
		case <-cn.Lost():
			return sent, mqttclient.ErrConnLost
		case <-ctx.Done():
			return sent, ctx.Err()
		case <-deadline.C:
			return sent, fmt.Errorf("no PUBACK within %s", s.cfg.PublishTimeout)
		}
	}
	s.m.published.WithLabelValues("measurement").Add(float64(sent))
	s.m.published.WithLabelValues("state").Add(float64(states))
	return sent, nil
}

func (s *Sink) site(dev string) string {
	if s.opts.Devices == nil {
		return ""
	}
	var eui lorawan.EUI64
	if eui.UnmarshalText([]byte(dev)) != nil {
		return ""
	}
	d, ok := s.opts.Devices.Get(eui)
	if !ok {
		return ""
	}
	return d.Site
}

// seedState fills the device states from the store's latest values.
func (s *Sink) seedState(ctx context.Context) {
	lr, ok := s.opts.Log.(LatestReader)
	if !ok {
		return
	}
	infos := lr.Series()
	keys := make([]string, len(infos))
	for i, in := range infos {
		keys[i] = in.Key
	}
	series, err := lr.Last(ctx, keys)
	if err != nil {
		s.log.Warn("device state not seeded from the store", "err", err)
		return
	}
	for _, sr := range series {
		if len(sr.Points) == 0 {
			continue
		}
		p := sr.Points[len(sr.Points)-1]
		m := measurement.Measurement{Device: sr.Device, Quantity: sr.Quantity, Channel: sr.Channel, Unit: sr.Unit, Value: p.Value, Time: p.Time}
		s.updateState(m, s.site(sr.Device))
	}
}

// updateState keeps the newest value per quantity: historical values that
// a payload carries must not replace a newer reading.
func (s *Sink) updateState(m measurement.Measurement, site string) {
	st := s.state[m.Device]
	if st == nil {
		st = &StateMessage{Device: m.Device, Values: map[string]StateValue{}}
		s.state[m.Device] = st
	}
	st.Site = site
	key := string(m.Quantity)
	if m.Channel != 0 {
		key += "/" + strconv.Itoa(m.Channel)
	}
	t := m.Time.UTC()
	if old, ok := st.Values[key]; ok && old.Time.After(t) {
		return
	}
	st.Values[key] = StateValue{Value: m.Value, Unit: m.Unit, Time: t}
	if t.After(st.Updated) {
		st.Updated = t
	}
}

// Publish publishes payload on topic with QoS 1 and waits for the PUBACK
// (or ctx). It fails with ErrNotConnected while the broker is away:
// callers that must not lose messages keep them and retry.
func (s *Sink) Publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	cn := s.current()
	if cn == nil {
		return ErrNotConnected
	}
	err := cn.Wait(ctx, cn.Client.Publish(topic, 1, retained, payload), s.cfg.PublishTimeout)
	if errors.Is(err, mqttclient.ErrConnLost) {
		return ErrNotConnected
	}
	if err != nil {
		return fmt.Errorf("mqtt publish %s: %w", topic, err)
	}
	return nil
}

// AlertTopic is <prefix>/<gateway>/alert, or .../alert/<suffix>.
func (s *Sink) AlertTopic(suffix string) string {
	if suffix == "" {
		return s.Topic("alert")
	}
	return s.Topic("alert", suffix)
}

// PublishAlert publishes an alert notification on AlertTopic(suffix).
func (s *Sink) PublishAlert(ctx context.Context, suffix string, payload []byte) error {
	if err := s.Publish(ctx, s.AlertTopic(suffix), payload, false); err != nil {
		return err
	}
	s.m.published.WithLabelValues("alert").Inc()
	return nil
}

// PublishUplink queues a live uplink event; it never blocks. A full queue
// or a missing connection drops the event and counts it.
func (s *Sink) PublishUplink(up uplink.Uplink) {
	select {
	case s.uplinks <- up:
	default:
		s.m.dropped.WithLabelValues("queue_full").Inc()
	}
}

// HandleUplink lets the sink sit in a chain of uplink handlers; it queues
// the live event and never fails.
func (s *Sink) HandleUplink(_ context.Context, up uplink.Uplink) error {
	s.PublishUplink(up)
	return nil
}

func (s *Sink) pumpUplinks(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case up := <-s.uplinks:
			cn := s.current()
			if cn == nil || !cn.Client.IsConnectionOpen() {
				s.m.dropped.WithLabelValues("disconnected").Inc()
				continue
			}
			ev := uplinkevent.New(up, s.cfg.Gateway, s.cfg.UplinkPayload)
			b, err := json.Marshal(ev)
			if err != nil {
				s.m.dropped.WithLabelValues("bad_value").Inc()
				continue
			}
			// QoS 0 and no wait: live events must not hold up the pump.
			cn.Client.Publish(s.DeviceTopic(ev.DevEUI, "uplink"), 0, false, b)
			s.m.published.WithLabelValues("uplink").Inc()
		}
	}
}
