package notify

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
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
}

type msgView struct {
	Group string
	Notes []noteView
}

// texts holds what rendering needs besides the notes: the default
// language and the timezone of times in texts.
type texts struct {
	lang string
	loc  *time.Location
}

func templates(lang string, loc *time.Location) (*template.Template, error) {
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
		"num":    func(v float64, prec int) string { return fmtNum(v, prec, lang) },
		"action": func(t ActionTarget) string { return t.Text(lang) },
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
				return t.In(loc).Format("02.01.2006 15:04 MST")
			}
			return t.In(loc).Format("2006-01-02 15:04 MST")
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
	return template.New(lang).Funcs(funcs).ParseFS(templateFS, "templates/"+lang+".tmpl", "templates/"+lang+"_*.tmpl")
}

func fmtNum(v float64, prec int, lang string) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if lang == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

func (x texts) language(rc Receiver) string {
	if rc.Language != "" {
		return rc.Language
	}
	return x.lang
}

func execute(t *template.Template, name string, v any) (string, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return b.String(), nil
}

// render turns the notes of one group into queue items for rc.
func (x texts) render(rc Receiver, group string, notes []Note, now time.Time) ([]item, error) {
	lang := x.language(rc)
	t, err := templates(lang, x.loc)
	if err != nil {
		return nil, err
	}
	mv := msgView{Group: group}
	for _, n := range notes {
		mv.Notes = append(mv.Notes, noteView{Kind: n.Kind, A: n.Alert, Now: now})
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
		return []item{{Subject: subject, Body: []byte(body)}}, nil
	case "mqtt":
		prefix := rc.TopicPrefix
		if prefix == "" {
			prefix = "loraedge/alerts"
		}
		var out []item
		for _, n := range mv.Notes {
			wa, err := webhookAlert(t, n)
			if err != nil {
				return nil, err
			}
			b, err := json.Marshal(wa)
			if err != nil {
				return nil, err
			}
			out = append(out, item{Topic: prefix + "/" + n.A.ID, Body: b, Retained: true})
		}
		return out, nil
	}
	var payload any
	if rc.Alertmanager {
		payload, err = alertmanagerPayload(t, rc, group, mv)
	} else {
		payload, err = webhookPayload(t, rc, group, mv, subject, body, lang)
	}
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return []item{{Body: b}}, nil
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

func webhookAlert(t *template.Template, n noteView) (WebhookAlert, error) {
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

func webhookPayload(t *template.Template, rc Receiver, group string, mv msgView, subject, body, lang string) (WebhookMessage, error) {
	m := WebhookMessage{Version: "loraedge/1", Receiver: rc.Name, GroupKey: group, Status: groupStatus(mv),
		Language: lang, Title: subject, Text: body}
	for _, n := range mv.Notes {
		wa, err := webhookAlert(t, n)
		if err != nil {
			return m, err
		}
		m.Alerts = append(m.Alerts, wa)
	}
	return m, nil
}

// AlertmanagerAlert and AlertmanagerMessage follow the Alertmanager webhook
// format (version 4) so existing receivers (e.g. chat bridges) can take
// loraedge alerts.
type AlertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

type AlertmanagerMessage struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   int                 `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []AlertmanagerAlert `json:"alerts"`
}

func alertmanagerPayload(t *template.Template, rc Receiver, group string, mv msgView) (AlertmanagerMessage, error) {
	m := AlertmanagerMessage{Version: "4", GroupKey: group, Status: groupStatus(mv), Receiver: rc.Name,
		GroupLabels: map[string]string{}, CommonAnnotations: map[string]string{}}
	if k, v, ok := strings.Cut(group, ":"); ok {
		m.GroupLabels[k] = v
	}
	for i, n := range mv.Notes {
		wa, err := webhookAlert(t, n)
		if err != nil {
			return m, err
		}
		st := "firing"
		if n.Kind == "resolved" {
			st = "resolved"
		}
		fp := sha256.Sum256([]byte(n.A.ID))
		a := AlertmanagerAlert{Status: st, Labels: maps.Clone(n.A.Labels), StartsAt: n.A.FiringSince, EndsAt: n.A.ResolvedAt,
			Annotations: map[string]string{"summary": wa.Title, "description": wa.Text}, Fingerprint: hex.EncodeToString(fp[:8])}
		a.Labels["alertname"] = n.A.Rule
		a.Labels["severity"] = n.A.Level.String()
		m.Alerts = append(m.Alerts, a)
		if i == 0 {
			m.CommonLabels = maps.Clone(a.Labels)
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
