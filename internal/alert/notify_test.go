package alert

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/sim"
)

func ptr(v float64) *float64 { return &v }

// frostConfig: a plain threshold rule on air temperature, one alert per
// crossing, no repeats: every notification is predictable.
func frostConfig(recv ...ReceiverConfig) Config {
	var names []string
	for _, r := range recv {
		names = append(names, r.Name)
	}
	return Config{
		RepeatInterval:   100 * time.Hour,
		Receivers:        recv,
		DefaultReceivers: names,
		Rules: []RuleConfig{{Name: "frost", Kind: KindThreshold, Quantity: "air_temperature", Direction: "below",
			On: ptr(0), Off: ptr(1), Level: "vorwarnung"}},
	}
}

// toggle feeds n alternating cold/warm readings: n notifications.
func toggle(h *harness, dev string, start time.Time, n int) {
	for i := range n {
		v := -1.0
		if i%2 == 1 {
			v = 2
		}
		h.feed(m(dev, measurement.AirTemperature, v, start.Add(time.Duration(i)*10*time.Minute)))
	}
}

// A receiver that is down gets everything later, in order, none lost, none
// twice, also when the engine restarts in between.
func TestWebhookDownThenUpAcrossRestart(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, frostConfig(ReceiverConfig{Name: "hook", Type: "webhook"}), "winter-night", start)
	dev := eui(sim.Devices("winter-night")[1])
	h.hook.down.Store(true)
	toggle(h, dev, start, 6)
	require.Eventually(t, func() bool { return h.hook.hits.Load() >= 2 }, 5*time.Second, time.Millisecond, "retries while down")
	assert.Equal(t, 6, h.e.Pending())

	h.restart()
	assert.Equal(t, 6, h.e.Pending(), "the queue survives the restart")
	toggle(h, dev, start.Add(2*time.Hour), 2)
	assert.Equal(t, 8, h.e.Pending())
	h.hook.down.Store(false)
	h.drain()
	want := []string{}
	for i := range 8 {
		k := "firing"
		if i%2 == 1 {
			k = "resolved"
		}
		want = append(want, k+" vorwarnung frost/"+dev+":air_temperature")
	}
	assert.Equal(t, want, h.hook.notes())
	// Nothing is sent twice after another restart.
	h.restart()
	h.tick(start.Add(5 * time.Hour))
	h.drain()
	assert.Len(t, h.hook.notes(), 8)
}

// mailbox is an in-process SMTP server (go-smtp) with STARTTLS and PLAIN.
type mailbox struct {
	mu    sync.Mutex
	mails []string
	auth  []string
	tls   []bool
}

type mbSession struct {
	mb   *mailbox
	conn *smtp.Conn
}

func (mb *mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &mbSession{mb: mb, conn: c}, nil
}
func (s *mbSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *mbSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "alert" || pass != "geheim" {
			return errors.New("bad credentials")
		}
		s.mb.mu.Lock()
		s.mb.auth = append(s.mb.auth, user)
		s.mb.mu.Unlock()
		return nil
	}), nil
}
func (s *mbSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mbSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mbSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.mb.mu.Lock()
	s.mb.mails = append(s.mb.mails, string(b))
	s.mb.tls = append(s.mb.tls, isTLS)
	s.mb.mu.Unlock()
	return nil
}
func (s *mbSession) Reset()        {}
func (s *mbSession) Logout() error { return nil }

func TestEmailWithStartTLSAndAuth(t *testing.T) {
	// Borrow httptest's certificate for 127.0.0.1.
	ts := httptest.NewTLSServer(nil)
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())

	mb := &mailbox{}
	srv := smtp.NewServer(mb)
	srv.Domain = "localhost"
	srv.TLSConfig = ts.TLS
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	cfg := winterConfig()
	cfg.Receivers = []ReceiverConfig{{Name: "mail", Type: "email", SMTPHost: "127.0.0.1", SMTPPort: port, Username: "alert", Password: "geheim",
		From: "loraedge@kreis.example", To: []string{"winterdienst@kreis.example", "meisterei@kreis.example"}}}
	cfg.DefaultReceivers = []string{"mail"}
	cfg.Rules[0].EscalateTo = nil
	cfg.Rules = cfg.Rules[:1]
	cfg.RepeatInterval = 100 * time.Hour
	h := newHarness(t, cfg, "winter-night", start, func(o *Options) { o.SMTPRoots = roots })
	dev := eui(sim.Devices("winter-night")[0])
	for i, t0 := 0, start; t0.Before(start.Add(20 * time.Hour)); i, t0 = i+1, t0.Add(10*time.Minute) {
		h.feed(roadReading(dev, t0, i)...)
	}
	h.drain()
	mb.mu.Lock()
	defer mb.mu.Unlock()
	require.Len(t, mb.mails, 4, "Vorwarnung, Warnung, Alarm, Entwarnung")
	assert.Equal(t, []bool{true, true, true, true}, mb.tls, "STARTTLS used")
	assert.Len(t, mb.auth, 4)
	first, last := mb.mails[0], mb.mails[3]
	assert.Contains(t, first, "Subject: =?utf-8?q?Vorwarnung:_Gl=C3=A4ttegefahr")
	assert.Contains(t, first, "To: winterdienst@kreis.example, meisterei@kreis.example")
	assert.Contains(t, first, "Stufe: Vorwarnung")
	assert.Contains(t, last, "Entwarnung")
	assert.Contains(t, last, "ENTWARNUNG")
}

// publisher records MQTT publishes.
type publisher struct {
	mu   sync.Mutex
	got  []string
	fail bool
}

func (p *publisher) Publish(_ context.Context, topic string, payload []byte, retained bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("broker down")
	}
	var a notify.WebhookAlert
	if err := json.Unmarshal(payload, &a); err != nil {
		return err
	}
	p.got = append(p.got, topic+" "+a.Notification+" "+string(a.State)+" "+boolStr(retained))
	return nil
}

func boolStr(b bool) string {
	if b {
		return "retained"
	}
	return "-"
}

func TestMQTTReceiverAndAcknowledge(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	pub := &publisher{}
	cfg := frostConfig(ReceiverConfig{Name: "mq", Type: "mqtt", TopicPrefix: "kreis/alerts"})
	h := newHarness(t, cfg, "winter-night", start, func(o *Options) { o.MQTT = pub })
	dev := eui(sim.Devices("winter-night")[1])
	h.feed(m(dev, measurement.AirTemperature, -1, start))
	id := "frost/" + dev + ":air_temperature"
	require.NoError(t, h.e.Acknowledge(id, "Schmidt", start.Add(time.Minute)))
	assert.ErrorIs(t, h.e.Acknowledge(id, "Schmidt", start.Add(time.Minute)), ErrState)
	assert.ErrorIs(t, h.e.Acknowledge("nope", "Schmidt", start), ErrNotFound)
	h.feed(m(dev, measurement.AirTemperature, 2, start.Add(10*time.Minute)))
	h.drain()
	topic := "kreis/alerts/" + id
	assert.Equal(t, []string{topic + " firing firing retained", topic + " acknowledged acknowledged retained", topic + " resolved resolved retained"}, pub.got)
}

func TestAlertmanagerPayload(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, frostConfig(ReceiverConfig{Name: "am", Type: "webhook", Alertmanager: true}), "winter-night", start)
	dev := eui(sim.Devices("winter-night")[1])
	toggle(h, dev, start, 2)
	h.drain()
	h.hook.mu.Lock()
	raw := h.hook.raw
	h.hook.mu.Unlock()
	require.Len(t, raw, 2)
	var msg notify.AlertmanagerMessage
	require.NoError(t, json.Unmarshal(raw[0], &msg))
	assert.Equal(t, "4", msg.Version)
	assert.Equal(t, "firing", msg.Status)
	assert.Equal(t, "site:b27-forest", msg.GroupKey)
	assert.Equal(t, map[string]string{"site": "b27-forest"}, msg.GroupLabels)
	require.Len(t, msg.Alerts, 1)
	a := msg.Alerts[0]
	assert.Equal(t, "frost", a.Labels["alertname"])
	assert.Equal(t, "vorwarnung", a.Labels["severity"])
	assert.Equal(t, "B 27", a.Labels["road"])
	assert.Contains(t, a.Annotations["summary"], "Vorwarnung")
	assert.Equal(t, start, a.StartsAt.In(cet))
	require.NoError(t, json.Unmarshal(raw[1], &msg))
	assert.Equal(t, "resolved", msg.Status)
	assert.Equal(t, start.Add(10*time.Minute), msg.Alerts[0].EndsAt.In(cet))
}

// A maintenance silence mutes the site; when it ends, the still firing
// alert is notified. Inhibition: a Vorwarnung on a section with an Alarm
// stays quiet.
func TestSilenceAndInhibition(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	cfg := winterConfig()
	cfg.Rules = append(cfg.Rules[:1], RuleConfig{Name: "frost", Kind: KindThreshold, Quantity: "air_temperature", Direction: "below",
		On: ptr(0.5), Off: ptr(1.5), Level: "vorwarnung"})
	cfg.Rules[0].EscalateTo = nil
	cfg.RepeatInterval = 100 * time.Hour
	h := newHarness(t, cfg, "winter-night", start)
	devs := sim.Devices("winter-night")
	bridge, forest := eui(devs[0]), eui(devs[1])
	sil, err := h.e.CreateSilence(Silence{Matchers: []Matcher{{Label: "site", Value: "b27-.*", Regex: true}},
		StartsAt: start, EndsAt: start.Add(2 * time.Hour), CreatedBy: "Wartung", Comment: "Sensortausch"})
	require.NoError(t, err)
	_, err = h.e.CreateSilence(Silence{StartsAt: start, EndsAt: start.Add(time.Hour)})
	require.Error(t, err)
	for i, t0 := 0, start; t0.Before(start.Add(8 * time.Hour)); i, t0 = i+1, t0.Add(10*time.Minute) {
		h.feed(roadReading(bridge, t0, i)...)
		h.feed(m(forest, measurement.AirTemperature, 0, t0))
		h.tick(t0.Add(time.Minute))
	}
	h.drain()
	var got []string
	for _, a := range byReceiver(h.hook, "winterdienst") {
		got = append(got, a.Notification+" "+a.Level.String()+" "+a.ID+" "+a.LastNotified.In(cet).Format("15:04"))
	}
	// Bridge: the frost rule (air < 0.5 degC from ~00:10) would be a
	// Vorwarnung on a section already at Alarm: inhibited. Forest:
	// silenced until 20:00, notified at the first evaluation after.
	assert.Contains(t, got, "firing vorwarnung frost/"+forest+":air_temperature 20:00")
	for _, g := range got {
		assert.NotContains(t, g, "frost/"+bridge, "inhibited by the ice alarm on the same section")
	}
	assert.Len(t, h.e.Silences(), 1)
	require.NoError(t, h.e.ExpireSilence(sil.ID, start.Add(time.Hour)))
	assert.Equal(t, start.Add(time.Hour), h.e.Silences()[0].EndsAt)
	assert.ErrorIs(t, h.e.ExpireSilence("nope", start), ErrNotFound)
	frost := h.e.List(Filter{Rule: "frost", Site: "k23-bridge"})
	require.Len(t, frost, 1)
	assert.True(t, frost[0].Inhibited)
	assert.Equal(t, StateFiring, frost[0].State)
}

// State, acknowledgement and silences survive a restart.
func TestStateSurvivesRestart(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, winterConfig(), "winter-night", start)
	dev := eui(sim.Devices("winter-night")[0])
	i, t0 := 0, start
	for ; t0.Before(start.Add(5 * time.Hour)); i, t0 = i+1, t0.Add(10*time.Minute) {
		h.feed(roadReading(dev, t0, i)...)
	}
	require.NoError(t, h.e.Acknowledge("glaette/k23-bridge", "Meier", t0))
	h.drain()
	before := len(h.hook.notes())
	h.restart()
	as := h.e.List(Filter{Rule: "glaette"})
	require.Len(t, as, 1)
	assert.Equal(t, StateAcknowledged, as[0].State)
	assert.Equal(t, LevelAlarm, as[0].Level)
	// The tracker continues where it stopped: no new Vorwarnung/Warnung.
	for ; t0.Before(start.Add(8 * time.Hour)); i, t0 = i+1, t0.Add(10*time.Minute) {
		h.feed(roadReading(dev, t0, i)...)
	}
	h.drain()
	for _, n := range h.hook.notes()[before:] {
		assert.NotContains(t, n, "glaette", "no renewed notification after restart")
	}
}
