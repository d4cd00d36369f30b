package reportsched

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/energy"
)

// DigestTeam names the mail receivers of one team's weekly digest.
type DigestTeam struct {
	// Team is a site's team (sites[].team).
	Team string `mapstructure:"team" yaml:"team"`
	// Receivers name email receivers of alert.receivers.
	Receivers []string `mapstructure:"receivers" yaml:"receivers"`
}

// Team is a DigestTeam resolved: its sites and receivers.
type Team struct {
	Name      string
	Sites     []string
	Receivers []notify.Receiver
}

// Bounds of the digest's own alert record: the alert engine keeps a
// resolved alert only 24 h, so the schedule records energy alerts itself.
const (
	recordMax  = 2000
	recordKeep = 15 * 24 * time.Hour
	digestFile = "digest.json"
)

// digestKinds are the alert kinds the digest reports.
var digestKinds = map[string]bool{"energy_waste": true, "peak_load": true}

func (c Config) digestProblems() []error {
	var errs []error
	if c.WeeklyDigest && len(c.DigestTeams) == 0 {
		errs = append(errs, errors.New("energy_schedule.digest_teams: weekly_digest needs at least one team"))
	}
	seen := map[string]bool{}
	for i, t := range c.DigestTeams {
		p := fmt.Sprintf("energy_schedule.digest_teams[%d]", i)
		if t.Team == "" || seen[t.Team] {
			errs = append(errs, fmt.Errorf("%s.team: %q is empty or listed twice", p, t.Team))
		}
		seen[t.Team] = true
		if len(t.Receivers) == 0 {
			errs = append(errs, fmt.Errorf("%s.receivers: none given", p))
		}
	}
	return errs
}

func (o Options) checkDigest() error {
	if !o.Config.WeeklyDigest {
		return nil
	}
	if o.Alerts == nil || len(o.Teams) != len(o.Config.DigestTeams) {
		return errors.New("report schedule: the weekly digest needs the alerts and every team resolved")
	}
	for i, t := range o.Teams {
		if len(t.Receivers) != len(o.Config.DigestTeams[i].Receivers) {
			return fmt.Errorf("energy_schedule.digest_teams[%d]: every receiver must be resolved", i)
		}
		for _, r := range t.Receivers {
			if r.Type != "email" {
				return fmt.Errorf("energy_schedule.digest_teams[%d]: %q is not an email receiver", i, r.Name)
			}
		}
	}
	return nil
}

// recAlert is one firing of an energy alert as the digest keeps it.
type recAlert struct {
	ID          string       `json:"id"`
	Kind        string       `json:"kind"`
	Team        string       `json:"team"`
	Site        string       `json:"site"`
	Level       notify.Level `json:"level"`
	Value       float64      `json:"value"`
	FiringSince time.Time    `json:"firing_since"`
	ResolvedAt  time.Time    `json:"resolved_at,omitzero"`
}

// digestState is the schedule's digest file: the weeks mailed per team
// and the alert record.
type digestState struct {
	Sent    map[string]string `json:"sent"`
	Alerts  []recAlert        `json:"alerts"`
	Dropped int               `json:"dropped"`
}

func (s *Scheduler) loadDigest() (*digestState, error) {
	st := &digestState{Sent: map[string]string{}}
	b, err := os.ReadFile(filepath.Join(s.o.Dir, digestFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("report schedule: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("report schedule: %s: %w", digestFile, err)
	}
	if st.Sent == nil {
		st.Sent = map[string]string{}
	}
	return st, nil
}

func (s *Scheduler) saveDigest(st *digestState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("report schedule: %w", err)
	}
	return writeAtomic(filepath.Join(s.o.Dir, digestFile), b)
}

// record merges the engine's current energy alerts into st and reports
// whether it changed. An open recorded alert the engine no longer has
// (its rule was removed) counts as resolved now.
func (s *Scheduler) record(st *digestState, now time.Time) bool {
	key := func(id string, t time.Time) string { return id + "@" + t.UTC().Format(time.RFC3339Nano) }
	idx := map[string]int{}
	for i, a := range st.Alerts {
		idx[key(a.ID, a.FiringSince)] = i
	}
	changed := false
	live := map[string]bool{}
	for _, a := range s.o.Alerts() {
		if !digestKinds[a.Kind] || a.FiringSince.IsZero() {
			continue // pending alerts were never notified
		}
		k := key(a.ID, a.FiringSince)
		live[k] = true
		var resolved time.Time
		if a.State == notify.StateResolved {
			resolved = a.ResolvedAt
		}
		if i, ok := idx[k]; ok {
			r := &st.Alerts[i]
			if !r.ResolvedAt.Equal(resolved) || r.Level < a.Level {
				r.ResolvedAt, r.Level, r.Value, changed = resolved, max(r.Level, a.Level), a.Value, true
			}
			continue
		}
		st.Alerts = append(st.Alerts, recAlert{ID: a.ID, Kind: a.Kind, Team: a.Labels["team"], Site: a.Labels["site"],
			Level: a.Level, Value: a.Value, FiringSince: a.FiringSince, ResolvedAt: resolved})
		changed = true
	}
	kept := st.Alerts[:0]
	for _, r := range st.Alerts {
		if r.ResolvedAt.IsZero() && !live[key(r.ID, r.FiringSince)] {
			r.ResolvedAt, changed = now, true
		}
		if !r.ResolvedAt.IsZero() && now.Sub(r.ResolvedAt) > recordKeep {
			changed = true
			continue
		}
		kept = append(kept, r)
	}
	st.Alerts = kept
	if n := len(st.Alerts) - recordMax; n > 0 {
		sort.SliceStable(st.Alerts, func(i, j int) bool { return st.Alerts[i].FiringSince.Before(st.Alerts[j].FiringSince) })
		st.Alerts = st.Alerts[n:]
		st.Dropped += n
		s.o.Logger.Warn("digest alert record full: oldest dropped", "dropped", n, "dropped_total", st.Dropped)
	}
	return changed
}

// digestWeek is the last finished week (Monday to Monday, local) whose
// digest is due at now.
func (s *Scheduler) digestWeek(now time.Time) (from, to time.Time, label string) {
	l := now.In(s.o.Location)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, s.o.Location)
	to = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	if l.Before(to.Add(time.Duration(s.o.Config.Hour) * time.Hour)) {
		to = to.AddDate(0, 0, -7)
	}
	from = to.AddDate(0, 0, -7)
	y, w := from.ISOWeek()
	return from, to, fmt.Sprintf("%d-W%02d", y, w)
}

// runDigest records the energy alerts and mails each team's digest of
// the last week once.
func (s *Scheduler) runDigest(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.loadDigest()
	if err != nil {
		return err
	}
	now := s.o.Now()
	if s.record(st, now) {
		if err := s.saveDigest(st); err != nil {
			return err
		}
	}
	from, to, label := s.digestWeek(now)
	var errs []error
	for _, t := range s.o.Teams {
		if st.Sent[t.Name] == label {
			continue
		}
		m, err := s.digestMail(ctx, t, st.Alerts, from, to, label)
		if err != nil {
			errs = append(errs, fmt.Errorf("digest %s %s: %w", t.Name, label, err))
			continue
		}
		ok := true
		for _, rc := range t.Receivers {
			if err := notify.SendMail(ctx, rc, m, s.o.SMTPRoots); err != nil {
				errs = append(errs, fmt.Errorf("mail digest %s %s to %s: %w", t.Name, label, rc.Name, err))
				ok = false
			}
		}
		if ok {
			st.Sent[t.Name] = label
			if err := s.saveDigest(st); err != nil {
				errs = append(errs, err)
			}
			s.o.Logger.Info("weekly energy digest mailed", "team", t.Name, "week", label, "receivers", len(t.Receivers))
		}
	}
	return errors.Join(errs...)
}

// digestMail builds a team's digest: the week's energy alerts, and from
// the energy report of the year up to the week's end the measures'
// savings to date and the largest saving potentials.
func (s *Scheduler) digestMail(ctx context.Context, t Team, rec []recAlert, from, to time.Time, label string) (notify.Mail, error) {
	lang := s.o.Config.Language
	tx := digestText[lang]
	var b strings.Builder
	fmt.Fprintf(&b, tx["intro"], t.Name, from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly))
	b.WriteString("\n\n")
	var fired, resolved, open []recAlert
	for _, a := range rec {
		if a.Team != t.Name || !a.FiringSince.Before(to) || (!a.ResolvedAt.IsZero() && a.ResolvedAt.Before(from)) {
			continue
		}
		if !a.FiringSince.Before(from) {
			fired = append(fired, a)
		}
		if !a.ResolvedAt.IsZero() && a.ResolvedAt.Before(to) {
			resolved = append(resolved, a)
		} else {
			open = append(open, a)
		}
	}
	for _, sec := range []struct {
		title string
		as    []recAlert
	}{{tx["fired"], fired}, {tx["resolved"], resolved}, {tx["open"], open}} {
		fmt.Fprintf(&b, "%s (%d)\n", sec.title, len(sec.as))
		sort.Slice(sec.as, func(i, j int) bool { return sec.as[i].FiringSince.Before(sec.as[j].FiringSince) })
		for _, a := range sec.as {
			fmt.Fprintf(&b, "  - %s  %s  %s %s", a.FiringSince.In(s.o.Location).Format("2006-01-02 15:04"), a.Kind, a.Site, a.ID)
			if !a.ResolvedAt.IsZero() && a.ResolvedAt.Before(to) {
				fmt.Fprintf(&b, "  %s %s", tx["until"], a.ResolvedAt.In(s.o.Location).Format("2006-01-02 15:04"))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	if len(t.Sites) > 0 {
		_, _, body, err := s.o.Renderer.EnergyReport(ctx, to.AddDate(-1, 0, 0), to.AddDate(0, 0, -1), t.Sites, "json", lang)
		if err != nil {
			return notify.Mail{}, err
		}
		var rep energy.Report
		if err := json.Unmarshal(body, &rep); err != nil {
			return notify.Mail{}, fmt.Errorf("energy report: %w", err)
		}
		writeSavings(&b, tx, rep)
	}
	b.WriteString(tx["footer"])
	return notify.Mail{Subject: fmt.Sprintf(tx["subject"], t.Name, label), Body: b.String(), Date: s.o.Now()}, nil
}

// writeSavings prints the measures' savings to date and the five
// largest saving potentials of rep.
func writeSavings(b *strings.Builder, tx map[string]string, rep energy.Report) {
	fmt.Fprintf(b, "%s (%d)\n", tx["measures"], len(rep.Measures))
	for _, m := range rep.Measures {
		if m.Savings == nil {
			fmt.Fprintf(b, "  - %s (%s): %s\n", m.Measure.ID, m.Measure.Site, m.Error)
			continue
		}
		fmt.Fprintf(b, "  - %s (%s): %.0f ± %.0f kWh, %.0f EUR, %.0f kg CO2\n", m.Measure.ID, m.Measure.Site,
			m.Savings.AvoidedKWh, m.Savings.UncertaintyKWh, m.AvoidedEUR, m.AvoidedCO2Kg)
	}
	bs := append([]energy.Benchmark(nil), rep.Benchmarks...)
	sort.SliceStable(bs, func(i, j int) bool { return bs[i].PotentialKWh > bs[j].PotentialKWh })
	n := 0
	fmt.Fprintf(b, "\n%s\n", tx["potentials"])
	for _, p := range bs {
		if p.PotentialKWh <= 0 || n == 5 {
			continue
		}
		n++
		fmt.Fprintf(b, "  %d. %s (%s): %.0f kWh/a, %.0f EUR/a, %.0f kg CO2/a\n", n, p.Name, p.Site, p.PotentialKWh, p.PotentialEUR, p.PotentialCO2Kg)
	}
	if n == 0 {
		fmt.Fprintf(b, "  %s\n", tx["none"])
	}
	b.WriteString("\n")
}

var digestText = map[string]map[string]string{
	"de": {
		"subject":    "Energie-Wochenbericht %s %s – loraedge",
		"intro":      "Wochenbericht Energie für Team %s, %s bis %s.",
		"fired":      "Ausgelöste Alarme (Energieverschwendung, Lastspitze)",
		"resolved":   "Aufgehobene Alarme",
		"open":       "Noch offene Alarme",
		"until":      "bis",
		"measures":   "Maßnahmen: vermiedener Verbrauch bis heute",
		"potentials": "Größte Einsparpotenziale (Vergleichswerte, letzte 12 Monate)",
		"none":       "keine",
		"footer":     "Diese Nachricht wurde von loraedge automatisch erstellt.\n",
	},
	"en": {
		"subject":    "Weekly energy digest %s %s – loraedge",
		"intro":      "Weekly energy digest for team %s, %s to %s.",
		"fired":      "Alerts fired (energy waste, peak load)",
		"resolved":   "Alerts resolved",
		"open":       "Alerts still open",
		"until":      "until",
		"measures":   "Measures: avoided consumption to date",
		"potentials": "Largest saving potentials (benchmarks, last 12 months)",
		"none":       "none",
		"footer":     "This message was generated by loraedge.\n",
	},
}
