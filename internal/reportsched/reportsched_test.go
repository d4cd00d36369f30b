package reportsched

import (
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/report"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
)

// inbox is an in-process SMTP server (go-smtp) that keeps every message.
type inbox struct {
	mu   sync.Mutex
	msgs []string
}

func (b *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &inboxSession{b: b}, nil }

type inboxSession struct{ b *inbox }

func (s *inboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *inboxSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *inboxSession) Data(r io.Reader) error {
	m, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, string(m))
	s.b.mu.Unlock()
	return nil
}
func (s *inboxSession) Reset()        {}
func (s *inboxSession) Logout() error { return nil }

func (b *inbox) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.msgs...)
}

// serveSMTP starts the inbox on a loopback port and returns the port.
func serveSMTP(t *testing.T, b *inbox) int {
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// counting renders through the real report service and counts calls.
type counting struct {
	svc *report.Service
	mu  sync.Mutex
	n   int
}

func (c *counting) EnergyReport(ctx context.Context, from, to time.Time, sites []string, format, lang string) (string, string, []byte, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.svc.EnergyReport(ctx, from, to, sites, format, lang)
}

// pdfOf returns the subject and the decoded PDF attachment of a message.
func pdfOf(t *testing.T, raw string) (string, string, []byte) {
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var name string
	var pdf []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if p.FileName() != "" {
			name = p.FileName()
			b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
			require.NoError(t, err)
			pdf = b
		}
	}
	return subject, name, pdf
}

// TestScheduledReports runs the schedule over a demo year with the real
// report service and a real SMTP server: reports are written once when
// due, kept up to Keep per kind, mailed with the PDF attached, and a mail
// that failed is sent on the next run without writing the report again.
func TestScheduledReports(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := sim.DemoSites(2)
	cfg, err := sim.GenerateYear(ctx, st, 2026, sites, sim.YearOptions{Interval: 3 * time.Hour})
	require.NoError(t, err)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	now := time.Date(2027, 1, 1, 5, 0, 0, 0, berlin)
	clock := func() time.Time { return now }
	r := &counting{svc: &report.Service{Source: energy.RangeSource{Ranger: st}, Options: func() energy.Options {
		return energy.Options{Config: cfg, Sites: sites, Now: clock}
	}}}
	dir := t.TempDir()
	b := &inbox{}
	port := serveSMTP(t, b)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadPort := dead.Addr().(*net.TCPAddr).Port
	dead.Close() // nothing listens there: the mail fails
	mailTo := func(p int) notify.Receiver {
		return notify.Receiver{Name: "gebaeude", Type: "email", SMTPHost: "127.0.0.1", SMTPPort: p, From: "loraedge@kreis.example",
			To: []string{"energie@kreis.example"}, Timeout: 5 * time.Second}
	}
	c := DefaultConfig()
	c.Monthly, c.Annual, c.Keep, c.Receivers = true, true, 1, []string{"gebaeude"}
	newSched := func(p int) *Scheduler {
		s, err := New(Options{Config: c, Dir: dir, Renderer: r, Receivers: []notify.Receiver{mailTo(p)}, Location: berlin, Now: clock})
		require.NoError(t, err)
		return s
	}

	// New Year's morning before 06:00: November and 2025 are due; the
	// mail server is down.
	s := newSched(deadPort)
	err = s.RunDue(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mail energiebericht-2026-11.pdf to gebaeude")
	rs, err := s.List()
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Equal(t, Report{Name: "energiebericht-2026-11.pdf", Kind: "monthly", Period: "2026-11", Size: rs[0].Size, Created: rs[0].Created}, rs[0])
	assert.Equal(t, "energiebericht-2025.pdf", rs[1].Name)
	assert.Equal(t, 2, r.n)

	// The server is back: the same reports are mailed, not written again.
	s = newSched(port)
	require.NoError(t, s.RunDue(ctx))
	assert.Equal(t, 2, r.n)
	require.Len(t, b.all(), 2)
	subject, name, pdf := pdfOf(t, b.all()[0])
	assert.Equal(t, "Energie-Monatsbericht 2026-11 – loraedge", subject)
	assert.Equal(t, "energiebericht-2026-11.pdf", name)
	assert.True(t, strings.HasPrefix(string(pdf), "%PDF-"), "the attachment is the PDF")
	kept, err := s.Open("energiebericht-2026-11.pdf")
	require.NoError(t, err)
	assert.Equal(t, kept, pdf)
	require.NoError(t, s.RunDue(ctx))
	assert.Len(t, b.all(), 2, "nothing is mailed twice")

	// 07:00: December and 2026 are due; Keep 1 prunes the older ones.
	now = time.Date(2027, 1, 1, 7, 0, 0, 0, berlin)
	require.NoError(t, s.RunDue(ctx))
	assert.Equal(t, 4, r.n)
	rs, err = s.List()
	require.NoError(t, err)
	var names []string
	for _, x := range rs {
		names = append(names, x.Name)
		assert.True(t, x.Mailed, x.Name)
	}
	assert.Equal(t, []string{"energiebericht-2026-12.pdf", "energiebericht-2026.pdf"}, names)
	require.Len(t, b.all(), 4)
	subject, _, _ = pdfOf(t, b.all()[3])
	assert.Equal(t, "Energie-Jahresbericht 2026 – loraedge", subject)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, left, 4, "two reports and their sent markers, no temporary files")

	_, err = s.Open("../" + filepath.Base(dir) + "/energiebericht-2026.pdf")
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestScheduleConfig(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	c := Config{Hour: 24, Keep: 0, Language: "fr", Receivers: []string{"a", "a"}}
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{"energy_schedule.hour: 24 is not 0..23", "energy_schedule.keep: 0 is not 1..1000",
		`energy_schedule.language: "fr" is not de or en`, `energy_schedule.receivers[1]: "a" is empty or listed twice`} {
		assert.ErrorContains(t, err, want)
	}
	_, err = New(Options{Config: DefaultConfig(), Dir: t.TempDir(), Renderer: &counting{},
		Receivers: []notify.Receiver{{Name: "x", Type: "webhook"}}})
	assert.Error(t, err)
	dc := DefaultConfig()
	dc.Receivers = []string{"x"}
	_, err = New(Options{Config: dc, Dir: t.TempDir(), Renderer: &counting{}, Receivers: []notify.Receiver{{Name: "x", Type: "webhook"}}})
	assert.ErrorContains(t, err, `"x" is not an email receiver`)
}
