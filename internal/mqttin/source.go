// Package mqttin is a source of uplinks from an MQTT broker: devices whose
// session lives in another network server (ChirpStack v4, The Things
// Stack v3) or uplinks that other loraedge gateways publish (central
// mode). Each message becomes an uplink.Uplink for the same handler the
// network layer feeds (the ingester), for devices in the registry only.
//
// Bad messages are counted and logged, never fatal. The session is
// persistent (clean session off, fixed client id), so the broker keeps
// uplinks that arrive while the daemon restarts, within its own limits.
package mqttin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/brocaar/lorawan"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/mqttclient"
	"github.com/loraedge/loraedge/internal/uplink"
)

// Subscription is one topic filter and the format of its messages.
type Subscription struct {
	Topic  string `mapstructure:"topic"`
	Format Format `mapstructure:"format"`
}

// Config is the mqttin section of the daemon configuration.
type Config struct {
	Enabled bool `mapstructure:"enabled"`
	// Config is the broker connection; ClientID defaults to
	// "loraedge-in-<gateway>".
	mqttclient.Config `mapstructure:",squash"`
	// Subscriptions default to ChirpStack v4 and The Things Stack v3 uplinks:
	// application/+/device/+/event/up (chirpstack), v3/+/devices/+/up (tts).
	Subscriptions []Subscription `mapstructure:"subscriptions"`
	// Gateway is this daemon's own gateway name: loraedge-format events it
	// published itself are ignored.
	// Set by the daemon from its gateway_id; no key of its own.
	Gateway string `mapstructure:"-"`
	// DedupWindow drops an uplink (dev_eui, f_cnt) seen within the window,
	// e.g. from two loraedge gateways that heard the same frame. Default
	// 30s; negative disables.
	DedupWindow time.Duration `mapstructure:"dedup_window"`
}

// DefaultSubscriptions are used when Config.Subscriptions is empty.
func DefaultSubscriptions() []Subscription {
	return []Subscription{
		{Topic: "application/+/device/+/event/up", Format: ChirpStack},
		{Topic: "v3/+/devices/+/up", Format: TTS},
	}
}

// DefaultConfig is the configuration with its defaults (disabled).
func DefaultConfig() Config {
	return Config{
		Config:        mqttclient.DefaultConfig(),
		Subscriptions: DefaultSubscriptions(),
		DedupWindow:   30 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.Config = c.WithDefaults()
	if len(c.Subscriptions) == 0 {
		c.Subscriptions = d.Subscriptions
	}
	if c.ClientID == "" {
		c.ClientID = "loraedge-in"
		if c.Gateway != "" {
			c.ClientID += "-" + c.Gateway
		}
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = d.DedupWindow
	}
	return c
}

// Validate reports every problem at once; a disabled section is not checked.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	errs := []error{c.Config.Validate()}
	for i, s := range c.Subscriptions {
		if s.Topic == "" {
			errs = append(errs, fmt.Errorf("subscriptions[%d].topic: required", i))
		}
		switch s.Format {
		case ChirpStack, TTS, LoRaEdge:
		default:
			errs = append(errs, fmt.Errorf("subscriptions[%d].format: %q is not chirpstack, tts or loraedge", i, s.Format))
		}
	}
	return errors.Join(errs...)
}

// Options configure a Source.
type Options struct {
	Config     Config
	Devices    *device.Registry // required
	Handler    uplink.Handler   // required, must not block (the ingester)
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Source subscribes to uplink topics and hands uplinks to the handler.
type Source struct {
	cfg  Config
	opts Options
	log  *slog.Logger

	messages  *prometheus.CounterVec
	connects  *prometheus.CounterVec
	connected prometheus.Gauge

	mu   sync.Mutex
	seen map[dedupKey]time.Time
}

type dedupKey struct {
	dev  lorawan.EUI64
	fcnt uint32
}

// Results of a message, the label of loraedge_mqttin_messages_total.
const (
	ResultOK             = "ok"
	ResultUnknownDevice  = "unknown_device"
	ResultBadPayload     = "bad_payload"
	ResultNotApplication = "not_application"
	ResultDuplicate      = "duplicate"
	ResultOwn            = "own"
	ResultHandlerError   = "handler_error"
)

// New checks opts and fills defaults.
func New(opts Options) (*Source, error) {
	if opts.Devices == nil || opts.Handler == nil {
		return nil, errors.New("mqttin: Devices and Handler are required")
	}
	cfg := opts.Config
	cfg.Enabled = true
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("mqttin config: %w", err)
	}
	cfg = cfg.withDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Source{
		cfg: cfg, opts: opts, log: opts.Logger.With("component", "mqttin"),
		seen: map[dedupKey]time.Time{},
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_mqttin_messages_total",
			Help: "Messages received, by format and result: ok, unknown_device, bad_payload, not_application, duplicate, own, handler_error.",
		}, []string{"format", "result"}),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loraedge_mqttin_connects_total",
			Help: "Connection attempts to the broker, by result: ok, error.",
		}, []string{"result"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "loraedge_mqttin_connected",
			Help: "1 while the source is connected and subscribed.",
		}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.messages, s.connects, s.connected} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("mqttin metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Run connects, subscribes and reconnects with exponential backoff until
// ctx is done.
func (s *Source) Run(ctx context.Context) error {
	return mqttclient.Reconnect(ctx, s.cfg.Config, s.log, "mqttin connection failed", s.session)
}

func (s *Source) session(ctx context.Context) error {
	o, err := s.cfg.ClientOptions()
	if err != nil {
		return err
	}
	// The persistent session may deliver queued messages before Subscribe
	// returns; the default handler takes those.
	o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { s.handle(ctx, m.Topic(), m.Payload()) })
	cn, err := s.cfg.Connect(ctx, o, nil)
	if err != nil {
		s.connects.WithLabelValues("error").Inc()
		return err
	}
	defer cn.Client.Disconnect(250)
	s.connects.WithLabelValues("ok").Inc()
	filters := map[string]byte{}
	for _, sub := range s.cfg.Subscriptions {
		filters[sub.Topic] = 1
	}
	err = cn.Wait(ctx, cn.Client.SubscribeMultiple(filters, nil), s.cfg.ConnectTimeout+time.Second)
	if errors.Is(err, mqttclient.ErrConnLost) {
		err = fmt.Errorf("connection lost: %w", cn.Cause())
	}
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	s.connected.Set(1)
	defer s.connected.Set(0)
	s.log.Info("mqttin subscribed", "url", s.cfg.URL, "client_id", s.cfg.ClientID, "subscriptions", len(filters))
	select {
	case <-ctx.Done():
		return nil
	case <-cn.Lost():
		return fmt.Errorf("connection lost: %w", cn.Cause())
	}
}

// formatOf finds the subscription whose filter matches topic.
func (s *Source) formatOf(topic string) (Format, bool) {
	for _, sub := range s.cfg.Subscriptions {
		if topicMatch(sub.Topic, topic) {
			return sub.Format, true
		}
	}
	return "", false
}

// topicMatch applies MQTT wildcards (+ one level, # the rest).
func topicMatch(filter, topic string) bool {
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, l := range f {
		if l == "#" {
			return true
		}
		if i >= len(t) {
			return false
		}
		if l != "+" && l != t[i] {
			return false
		}
	}
	return len(f) == len(t)
}

// handle runs on paho's router goroutine for each message.
func (s *Source) handle(ctx context.Context, topic string, payload []byte) {
	format, ok := s.formatOf(topic)
	if !ok {
		s.messages.WithLabelValues("", ResultBadPayload).Inc()
		s.log.Warn("message on unexpected topic", "topic", topic)
		return
	}
	result := s.process(ctx, format, topic, payload)
	s.messages.WithLabelValues(string(format), result).Inc()
}

func (s *Source) process(ctx context.Context, format Format, topic string, payload []byte) string {
	if format == LoRaEdge && s.cfg.Gateway != "" {
		// loraedge/<gateway>/device/<dev_eui>/uplink: skip our own events.
		if parts := strings.Split(topic, "/"); len(parts) > 1 && parts[1] == s.cfg.Gateway {
			return ResultOwn
		}
	}
	up, err := Parse(format, payload)
	if errors.Is(err, ErrNotApplication) {
		return ResultNotApplication
	}
	if err != nil {
		s.log.Warn("bad uplink message", "topic", topic, "format", string(format), "err", err)
		return ResultBadPayload
	}
	if _, ok := s.opts.Devices.Get(up.DevEUI); !ok {
		s.log.Debug("uplink of unknown device ignored", "dev_eui", up.DevEUI.String(), "topic", topic)
		return ResultUnknownDevice
	}
	if up.Time.IsZero() {
		up.Time = s.opts.Now()
	}
	if s.duplicate(up) {
		return ResultDuplicate
	}
	if err := s.opts.Handler.HandleUplink(ctx, up); err != nil {
		s.log.Warn("uplink not taken", "dev_eui", up.DevEUI.String(), "f_cnt", up.FCnt, "err", err)
		return ResultHandlerError
	}
	return ResultOK
}

// duplicate remembers (dev_eui, f_cnt) for DedupWindow; the map is swept
// when it grows so it stays bounded by the uplinks of one window.
func (s *Source) duplicate(up uplink.Uplink) bool {
	if s.cfg.DedupWindow < 0 {
		return false
	}
	now := s.opts.Now()
	k := dedupKey{up.DevEUI, up.FCnt}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.seen[k]; ok && now.Sub(t) < s.cfg.DedupWindow {
		return true
	}
	if len(s.seen) >= 4096 {
		for k, t := range s.seen {
			if now.Sub(t) >= s.cfg.DedupWindow {
				delete(s.seen, k)
			}
		}
		if len(s.seen) >= 1<<16 {
			clear(s.seen) // a flood: forget rather than grow
		}
	}
	s.seen[k] = now
	return false
}
