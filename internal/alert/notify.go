package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// noteView is what the templates see of one alert in one notification.
type noteView struct {
	Kind string
	A    Alert
	Now  time.Time
	loc  *time.Location
}

type msgView struct {
	Group string
	Notes []noteView
}

func (e *Engine) templates(lang string) (*template.Template, error) {
	funcs := template.FuncMap{
		"label": func(a Alert, k string) string { return a.Labels[k] },
		"info":  func(a Alert, k string) string { return a.Info[k] },
		"value": func(a Alert, k string) float64 { return a.Values[k] },
		"val": func(a Alert, k string) string {
			v, ok := a.Values[k]
			if !ok || math.IsNaN(v) {
				return "–"
			}
			return fmtNum(v, 1, lang)
		},
		"num": func(v float64, prec int) string { return fmtNum(v, prec, lang) },
		"dec": func(s string) string {
			if lang == "de" {
				return strings.Replace(s, ".", ",", 1)
			}
			return s
		},
		"pct": func(v float64) string { return fmtNum(v*100, 0, lang) + " %" },
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "–"
			}
			if lang == "de" {
				return t.In(e.loc).Format("02.01.2006 15:04 MST")
			}
			return t.In(e.loc).Format("2006-01-02 15:04 MST")
		},
		"age": func(n noteView) string {
			if n.A.ObservedAt.IsZero() {
				return "–"
			}
			return strconv.Itoa(int(n.Now.Sub(n.A.ObservedAt).Minutes()))
		},
		"levelDE": func(k string) string { l, _ := ParseLevel(k); return l.German() },
		"levelEN": func(k string) string { l, _ := ParseLevel(k); return l.English() },
	}
	return template.New(lang).Funcs(funcs).ParseFS(templateFS, "templates/"+lang+".tmpl")
}

func fmtNum(v float64, prec int, lang string) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if lang == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

func (e *Engine) lang(rc ReceiverConfig) string {
	if rc.Language != "" {
		return rc.Language
	}
	return e.cfg.Language
}

func execute(t *template.Template, name string, v any) (string, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return b.String(), nil
}

// render turns the notes of one group into queue items for rc.
func (e *Engine) render(rc ReceiverConfig, group string, notes []note, now time.Time) ([]outItem, error) {
	lang := e.lang(rc)
	t, err := e.templates(lang)
	if err != nil {
		return nil, err
	}
	mv := msgView{Group: group}
	for _, n := range notes {
		mv.Notes = append(mv.Notes, noteView{Kind: n.Kind, A: n.Alert, Now: now, loc: e.loc})
	}
	subject, err := execute(t, "subject", mv)
	if err != nil {
		return nil, err
	}
	body, err := execute(t, "body", mv)
	if err != nil {
		return nil, err
	}
	switch rc.Type {
	case "email":
		return []outItem{{Subject: subject, Body: []byte(body)}}, nil
	case "mqtt":
		prefix := rc.TopicPrefix
		if prefix == "" {
			prefix = "loraedge/alerts"
		}
		var out []outItem
		for _, n := range mv.Notes {
			wa, err := e.webhookAlert(t, n)
			if err != nil {
				return nil, err
			}
			b, err := json.Marshal(wa)
			if err != nil {
				return nil, err
			}
			out = append(out, outItem{Topic: prefix + "/" + n.A.ID, Body: b, Retained: true})
		}
		return out, nil
	}
	var payload any
	if rc.Alertmanager {
		payload, err = e.alertmanagerPayload(t, rc, group, mv)
	} else {
		payload, err = e.webhookPayload(t, rc, group, mv, subject, body)
	}
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return []outItem{{Body: b}}, nil
}

// WebhookMessage is the JSON body of the loraedge webhook (one per group).
type WebhookMessage struct {
	Version  string         `json:"version"`
	Receiver string         `json:"receiver"`
	GroupKey string         `json:"group_key"`
	Status   string         `json:"status"` // firing or resolved (all resolved)
	Language string         `json:"language"`
	Title    string         `json:"title"`
	Text     string         `json:"text"`
	Alerts   []WebhookAlert `json:"alerts"`
}

// WebhookAlert is one alert in a WebhookMessage (and an MQTT payload).
type WebhookAlert struct {
	Alert
	// Notification is why it is sent: firing, repeat, escalation,
	// resolved or acknowledged.
	Notification string `json:"notification"`
	Title        string `json:"title"`
	Text         string `json:"text"`
}

func (e *Engine) webhookAlert(t *template.Template, n noteView) (WebhookAlert, error) {
	title, err := execute(t, "title", n)
	if err != nil {
		return WebhookAlert{}, err
	}
	text, err := execute(t, "detail", n)
	if err != nil {
		return WebhookAlert{}, err
	}
	return WebhookAlert{Alert: n.A, Notification: n.Kind, Title: title, Text: text}, nil
}

func groupStatus(mv msgView) string {
	for _, n := range mv.Notes {
		if n.Kind != "resolved" {
			return "firing"
		}
	}
	return "resolved"
}

func (e *Engine) webhookPayload(t *template.Template, rc ReceiverConfig, group string, mv msgView, subject, body string) (WebhookMessage, error) {
	m := WebhookMessage{Version: "loraedge/1", Receiver: rc.Name, GroupKey: group, Status: groupStatus(mv),
		Language: e.lang(rc), Title: subject, Text: body}
	for _, n := range mv.Notes {
		wa, err := e.webhookAlert(t, n)
		if err != nil {
			return m, err
		}
		m.Alerts = append(m.Alerts, wa)
	}
	return m, nil
}

// amAlert and amMessage follow the Alertmanager webhook format (version 4)
// so existing receivers (e.g. chat bridges) can take loraedge alerts.
type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

type amMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []amAlert         `json:"alerts"`
}

func (e *Engine) alertmanagerPayload(t *template.Template, rc ReceiverConfig, group string, mv msgView) (amMessage, error) {
	m := amMessage{Version: "4", GroupKey: group, Status: groupStatus(mv), Receiver: rc.Name,
		GroupLabels: map[string]string{}, CommonAnnotations: map[string]string{}}
	if k, v, ok := strings.Cut(group, ":"); ok {
		m.GroupLabels[k] = v
	}
	for i, n := range mv.Notes {
		wa, err := e.webhookAlert(t, n)
		if err != nil {
			return m, err
		}
		st := "firing"
		if n.Kind == "resolved" {
			st = "resolved"
		}
		fp := sha256.Sum256([]byte(n.A.ID))
		a := amAlert{Status: st, Labels: maps(n.A.Labels), StartsAt: n.A.FiringSince, EndsAt: n.A.ResolvedAt,
			Annotations: map[string]string{"summary": wa.Title, "description": wa.Text}, Fingerprint: hex.EncodeToString(fp[:8])}
		a.Labels["alertname"] = n.A.Rule
		a.Labels["severity"] = n.A.Level.String()
		m.Alerts = append(m.Alerts, a)
		if i == 0 {
			m.CommonLabels = maps(a.Labels)
		} else {
			for k, v := range m.CommonLabels {
				if a.Labels[k] != v {
					delete(m.CommonLabels, k)
				}
			}
		}
	}
	return m, nil
}

// send delivers one queue item.
func (e *Engine) send(ctx context.Context, rc ReceiverConfig, it outItem) error {
	timeout := rc.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch rc.Type {
	case "webhook":
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, rc.URL, bytes.NewReader(it.Body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "loraedge-alert")
		for k, v := range rc.Headers {
			req.Header.Set(k, v)
		}
		resp, err := e.opts.HTTPClient.Do(req)
		if err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("webhook: status %d", resp.StatusCode)
		}
		return nil
	case "mqtt":
		if err := e.opts.MQTT.Publish(ctx, it.Topic, it.Body, it.Retained); err != nil {
			return fmt.Errorf("mqtt publish: %w", err)
		}
		return nil
	case "email":
		return sendMail(ctx, rc, it, e.smtpRoots)
	}
	return fmt.Errorf("unknown receiver type %q", rc.Type)
}

// sendMail speaks SMTP with net/smtp: STARTTLS (required unless the server
// is on loopback, or tls: none), implicit TLS with tls: tls, PLAIN auth
// when a username is set (net/smtp refuses it without TLS except on
// loopback, so a password never crosses the network in clear).
func sendMail(ctx context.Context, rc ReceiverConfig, it outItem, roots *x509.CertPool) error {
	port := rc.SMTPPort
	if port == 0 {
		port = 587
		if rc.TLS == "tls" {
			port = 465
		}
	}
	addr := net.JoinHostPort(rc.SMTPHost, strconv.Itoa(port))
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	tlsCfg := &tls.Config{ServerName: rc.SMTPHost, MinVersion: tls.VersionTLS12, RootCAs: roots}
	if rc.TLS == "tls" {
		conn = tls.Client(conn, tlsCfg)
	}
	c, err := smtp.NewClient(conn, rc.SMTPHost)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if err := c.Hello("loraedge"); err != nil {
		return fmt.Errorf("smtp hello: %w", err)
	}
	if rc.TLS == "" || rc.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return fmt.Errorf("smtp starttls: %w", err)
			}
		} else if !isLoopback(rc.SMTPHost) {
			return errors.New("smtp: server offers no STARTTLS (set tls: none to allow plain text)")
		}
	}
	if rc.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", rc.Username, rc.Password, rc.SMTPHost)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(rc.From); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	for _, to := range rc.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp rcpt %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <loraedge-%d-%d@%s>\r\n",
		rc.From, strings.Join(rc.To, ", "), mime.QEncoding.Encode("utf-8", it.Subject),
		it.Created.Format(time.RFC1123Z), it.Created.UnixNano(), it.Seq, "loraedge")
	msg.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	body := strings.ReplaceAll(string(it.Body), "\r\n", "\n")
	// The DATA writer dot-stuffs lines itself.
	for _, line := range strings.Split(body, "\n") {
		msg.WriteString(line + "\r\n")
	}
	if _, err := w.Write(msg.Bytes()); err != nil {
		return fmt.Errorf("smtp write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data end: %w", err)
	}
	return c.Quit()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
