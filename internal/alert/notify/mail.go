package notify

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
	"time"
)

// Mail is a message for an email receiver: plain text with optional
// attachments (reports as PDF).
type Mail struct {
	Subject     string
	Body        string
	Date        time.Time
	Attachments []Attachment
}

// Attachment is a file sent with a Mail.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// SendMail delivers m to the email receiver rc now, with the same SMTP,
// TLS and authentication rules as alert mails; roots verifies the
// server's certificate (nil: the system's).
func SendMail(ctx context.Context, rc Receiver, m Mail, roots *x509.CertPool) error {
	if rc.Type != "email" {
		return fmt.Errorf("receiver %q is not an email receiver", rc.Name)
	}
	timeout := rc.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second // attachments take longer than alerts
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if m.Date.IsZero() {
		m.Date = time.Now()
	}
	return sendMail(ctx, rc, m, fmt.Sprintf("loraedge-%d@loraedge", m.Date.UnixNano()), roots)
}

// message builds the RFC 5322 message with CRLF line ends; the SMTP DATA
// writer dot-stuffs it.
func (m Mail) message(rc Receiver, msgID string) ([]byte, error) {
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n",
		rc.From, strings.Join(rc.To, ", "), mime.QEncoding.Encode("utf-8", m.Subject), m.Date.Format(time.RFC1123Z), msgID)
	text := func(b *bytes.Buffer) {
		for _, line := range strings.Split(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n") {
			b.WriteString(line + "\r\n")
		}
	}
	if len(m.Attachments) == 0 {
		msg.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		text(&msg)
		return msg.Bytes(), nil
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fmt.Fprintf(&msg, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", mw.Boundary())
	pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Transfer-Encoding": {"8bit"}})
	if err != nil {
		return nil, fmt.Errorf("mail body: %w", err)
	}
	var tb bytes.Buffer
	text(&tb)
	_, _ = pw.Write(tb.Bytes())
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h := textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(ct, map[string]string{"name": a.Name})},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})},
			"Content-Transfer-Encoding": {"base64"},
		}
		aw, err := mw.CreatePart(h)
		if err != nil {
			return nil, fmt.Errorf("mail attachment %s: %w", a.Name, err)
		}
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			_, _ = aw.Write([]byte(enc[:76] + "\r\n"))
			enc = enc[76:]
		}
		_, _ = aw.Write([]byte(enc + "\r\n"))
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}
