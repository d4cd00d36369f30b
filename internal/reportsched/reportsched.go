// Package reportsched writes the monthly and annual energy reports on a
// schedule, keeps the newest of them in a directory for the web page and
// mails each to the configured mail receivers (with the PDF attached).
//
// A report is due once its period is over and the configured hour of the
// next day has come. Which reports exist is the directory itself: a
// restart, or a day the daemon was down, writes what is missing and does
// not write anything twice. A report whose mail failed is mailed again on
// the next run; a marker file records the sent mail.
package reportsched

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/loraedge/loraedge/internal/alert/notify"
)

// Config is the report schedule (key energy_schedule).
type Config struct {
	// Monthly and Annual switch the two reports on.
	Monthly bool `mapstructure:"monthly" yaml:"monthly"`
	Annual  bool `mapstructure:"annual" yaml:"annual"`
	// Hour is the local hour of the day after the period from which a
	// report is written. Default 6.
	Hour int `mapstructure:"hour" yaml:"hour"`
	// Keep is how many reports of each kind the directory keeps. Default 24.
	Keep int `mapstructure:"keep" yaml:"keep"`
	// Language of the reports and mails, de or en. Default de.
	Language string `mapstructure:"language" yaml:"language"`
	// Receivers name email receivers of alert.receivers.
	Receivers []string `mapstructure:"receivers" yaml:"receivers,omitempty"`
	// WeeklyDigest mails each team of DigestTeams a digest of the last
	// week on Mondays from Hour.
	WeeklyDigest bool         `mapstructure:"weekly_digest" yaml:"weekly_digest"`
	DigestTeams  []DigestTeam `mapstructure:"digest_teams" yaml:"digest_teams,omitempty"`
}

// DefaultConfig returns the defaults: nothing scheduled, 06:00, 24 kept,
// German.
func DefaultConfig() Config { return Config{Hour: 6, Keep: 24, Language: "de"} }

// Validate reports every problem of c with its key path.
func (c Config) Validate() error {
	var errs []error
	if c.Hour < 0 || c.Hour > 23 {
		errs = append(errs, fmt.Errorf("energy_schedule.hour: %d is not 0..23", c.Hour))
	}
	if c.Keep < 1 || c.Keep > 1000 {
		errs = append(errs, fmt.Errorf("energy_schedule.keep: %d is not 1..1000", c.Keep))
	}
	if c.Language != "de" && c.Language != "en" {
		errs = append(errs, fmt.Errorf("energy_schedule.language: %q is not de or en", c.Language))
	}
	seen := map[string]bool{}
	for i, r := range c.Receivers {
		if r == "" || seen[r] {
			errs = append(errs, fmt.Errorf("energy_schedule.receivers[%d]: %q is empty or listed twice", i, r))
		}
		seen[r] = true
	}
	errs = append(errs, c.digestProblems()...)
	return errors.Join(errs...)
}

// Renderer renders an energy report (report.Service does).
type Renderer interface {
	EnergyReport(ctx context.Context, from, to time.Time, sites []string, format, lang string) (contentType, filename string, body []byte, err error)
}

// Options wire a Scheduler.
type Options struct {
	Config   Config
	Dir      string
	Renderer Renderer
	// Receivers are the email receivers Config.Receivers names.
	Receivers []notify.Receiver
	// Teams resolve Config.DigestTeams in order; Alerts lists the alert
	// engine's current alerts. Both are needed for the weekly digest.
	Teams     []Team
	Alerts    func() []notify.Alert
	SMTPRoots *x509.CertPool
	Location  *time.Location
	Now       func() time.Time
	Logger    *slog.Logger
}

// Scheduler writes and mails the scheduled reports.
type Scheduler struct {
	o Options
	// mu guards the digest state file between RunDue calls.
	mu sync.Mutex
}

// New checks the options and creates the directory.
func New(o Options) (*Scheduler, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Renderer == nil || o.Dir == "" {
		return nil, errors.New("report schedule: renderer and directory required")
	}
	if len(o.Receivers) != len(o.Config.Receivers) {
		return nil, errors.New("report schedule: every receiver must be resolved")
	}
	for _, r := range o.Receivers {
		if r.Type != "email" {
			return nil, fmt.Errorf("energy_schedule.receivers: %q is not an email receiver", r.Name)
		}
	}
	if err := o.checkDigest(); err != nil {
		return nil, err
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("report schedule: %w", err)
	}
	return &Scheduler{o: o}, nil
}

// Report is a kept report.
type Report struct {
	Name    string    `json:"name"`
	Kind    string    `json:"kind"` // monthly, annual
	Period  string    `json:"period"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
	Mailed  bool      `json:"mailed"`
}

// fileRE names kept reports: energiebericht-2026-11.pdf (monthly) and
// energiebericht-2026.pdf (annual).
var fileRE = regexp.MustCompile(`^energiebericht-(\d{4})(-\d{2})?\.pdf$`)

// List returns the kept reports, newest period first.
func (s *Scheduler) List() ([]Report, error) {
	es, err := os.ReadDir(s.o.Dir)
	if err != nil {
		return nil, fmt.Errorf("report schedule: %w", err)
	}
	var out []Report
	for _, e := range es {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		r := Report{Name: e.Name(), Kind: "annual", Period: m[1], Size: info.Size(), Created: info.ModTime()}
		if m[2] != "" {
			r.Kind, r.Period = "monthly", m[1]+m[2]
		}
		_, err = os.Stat(filepath.Join(s.o.Dir, e.Name()+".sent"))
		r.Mailed = err == nil
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Period > out[j].Period })
	return out, nil
}

// Open returns a kept report's bytes; a name that is not one gives
// os.ErrNotExist.
func (s *Scheduler) Open(name string) ([]byte, error) {
	if !fileRE.MatchString(name) {
		return nil, fmt.Errorf("report %q: %w", name, os.ErrNotExist)
	}
	return os.ReadFile(filepath.Join(s.o.Dir, name))
}

// Run writes and mails due reports every interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.Warn("scheduled energy report", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// period is one report to have.
type period struct {
	name, label string
	from, to    time.Time // to exclusive
}

// due lists the reports whose period is over at now: the last finished
// month and year (earlier ones missing stay missing: they were before the
// schedule or pruned).
func (s *Scheduler) due(now time.Time) []period {
	loc := s.o.Location
	l := now.In(loc)
	var out []period
	month := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
	ready := func(end time.Time) bool { return !l.Before(end.Add(time.Duration(s.o.Config.Hour) * time.Hour)) }
	if s.o.Config.Monthly {
		end := month
		if !ready(end) {
			end = end.AddDate(0, -1, 0)
		}
		from := end.AddDate(0, -1, 0)
		out = append(out, period{name: fmt.Sprintf("energiebericht-%s.pdf", from.Format("2006-01")), label: from.Format("2006-01"), from: from, to: end})
	}
	if s.o.Config.Annual {
		end := time.Date(l.Year(), 1, 1, 0, 0, 0, 0, loc)
		if !ready(end) {
			end = end.AddDate(-1, 0, 0)
		}
		from := end.AddDate(-1, 0, 0)
		out = append(out, period{name: fmt.Sprintf("energiebericht-%d.pdf", from.Year()), label: fmt.Sprint(from.Year()), from: from, to: end})
	}
	return out
}

// RunDue writes the due reports that are missing, mails those not yet
// mailed and prunes each kind to Keep.
func (s *Scheduler) RunDue(ctx context.Context) error {
	var errs []error
	for _, p := range s.due(s.o.Now()) {
		path := filepath.Join(s.o.Dir, p.name)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			// The renderer takes the last day included.
			_, _, body, err := s.o.Renderer.EnergyReport(ctx, p.from, p.to.AddDate(0, 0, -1), nil, "pdf", s.o.Config.Language)
			if err != nil {
				errs = append(errs, fmt.Errorf("report %s: %w", p.label, err))
				continue
			}
			if err := writeAtomic(path, body); err != nil {
				errs = append(errs, err)
				continue
			}
			s.o.Logger.Info("scheduled energy report written", "report", p.name, "bytes", len(body))
		}
	}
	if s.o.Config.WeeklyDigest {
		if err := s.runDigest(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.mailPending(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.prune(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// mailPending mails every kept report without its sent marker.
func (s *Scheduler) mailPending(ctx context.Context) error {
	if len(s.o.Receivers) == 0 {
		return nil
	}
	rs, err := s.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		if r.Mailed {
			continue
		}
		body, err := s.Open(r.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m := s.mail(r, body)
		ok := true
		for _, rc := range s.o.Receivers {
			if err := notify.SendMail(ctx, rc, m, s.o.SMTPRoots); err != nil {
				errs = append(errs, fmt.Errorf("mail %s to %s: %w", r.Name, rc.Name, err))
				ok = false
			}
		}
		if ok {
			if err := os.WriteFile(filepath.Join(s.o.Dir, r.Name+".sent"), []byte(s.o.Now().Format(time.RFC3339)+"\n"), 0o600); err != nil {
				errs = append(errs, fmt.Errorf("report schedule: %w", err))
			}
			s.o.Logger.Info("scheduled energy report mailed", "report", r.Name, "receivers", len(s.o.Receivers))
		}
	}
	return errors.Join(errs...)
}

// mail is the message of a kept report in the configured language.
func (s *Scheduler) mail(r Report, pdf []byte) notify.Mail {
	kind := map[string]map[string]string{"de": {"monthly": "Energie-Monatsbericht", "annual": "Energie-Jahresbericht"},
		"en": {"monthly": "Monthly energy report", "annual": "Annual energy report"}}[s.o.Config.Language][r.Kind]
	text := map[string]string{
		"de": "Im Anhang der Energiebericht %s (%s) als PDF. Alle gespeicherten Berichte stehen auf der Seite „Energiebericht“ von loraedge.\n\nDiese Nachricht wurde von loraedge automatisch erstellt.",
		"en": "Attached is the energy report %s (%s) as PDF. All kept reports are on loraedge's energy report page.\n\nThis message was generated by loraedge.",
	}[s.o.Config.Language]
	return notify.Mail{
		Subject:     fmt.Sprintf("%s %s – loraedge", kind, r.Period),
		Body:        fmt.Sprintf(text, r.Period, kind),
		Date:        s.o.Now(),
		Attachments: []notify.Attachment{{Name: r.Name, ContentType: "application/pdf", Data: pdf}},
	}
}

// prune keeps the newest Keep reports of each kind.
func (s *Scheduler) prune() error {
	rs, err := s.List()
	if err != nil {
		return err
	}
	n := map[string]int{}
	var errs []error
	for _, r := range rs {
		n[r.Kind]++
		if n[r.Kind] <= s.o.Config.Keep {
			continue
		}
		for _, f := range []string{r.Name, r.Name + ".sent"} {
			if err := os.Remove(filepath.Join(s.o.Dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("report schedule: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// writeAtomic writes path through a temporary file and a rename, so a
// crash never leaves half a report that counts as written.
func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("report schedule: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("report schedule: %w", err)
	}
	return nil
}
