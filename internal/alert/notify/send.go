package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"time"
)

// send delivers one queue item.
func (o *Outbox) send(ctx context.Context, rc Receiver, it item) error {
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
		resp, err := o.opts.HTTPClient.Do(req)
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
		if err := o.opts.MQTT.Publish(ctx, it.Topic, it.Body, it.Retained); err != nil {
			return fmt.Errorf("mqtt publish: %w", err)
		}
		return nil
	case "email":
		id := fmt.Sprintf("loraedge-%d-%d@loraedge", it.Created.UnixNano(), it.Seq)
		return sendMail(ctx, rc, Mail{Subject: it.Subject, Body: string(it.Body), Date: it.Created}, id, o.opts.SMTPRoots)
	}
	return fmt.Errorf("unknown receiver type %q", rc.Type)
}

// sendMail speaks SMTP with net/smtp: STARTTLS (required unless the server
// is on loopback, or tls: none), implicit TLS with tls: tls, PLAIN auth
// when a username is set (net/smtp refuses it without TLS except on
// loopback, so a password never crosses the network in clear).
func sendMail(ctx context.Context, rc Receiver, m Mail, msgID string, roots *x509.CertPool) error {
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
	msg, err := m.message(rc, msgID)
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
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
