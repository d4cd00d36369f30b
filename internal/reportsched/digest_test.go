package reportsched

import (
	"context"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/energy"
	"github.com/loraedge/loraedge/internal/report"
	"github.com/loraedge/loraedge/internal/sim"
	"github.com/loraedge/loraedge/internal/store"
)

// bodyOf returns the subject and the plain text of a message.
func bodyOf(t *testing.T, raw string) (string, string) {
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	require.NoError(t, err)
	b, err := io.ReadAll(msg.Body)
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	return subject, strings.ReplaceAll(string(b), "\r\n", "\n")
}

// TestWeeklyDigest runs the digest over a demo year with the real report
// service and SMTP server: the week's energy alerts are recorded although
// the engine forgets them, the digest is mailed once per week and team
// across restarts, and it lists alerts, savings and potentials.
func TestWeeklyDigest(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sites := sim.DemoSites(2)
	cfg, err := sim.GenerateYear(ctx, st, 2026, sites, sim.YearOptions{Interval: 3 * time.Hour, Measure: true})
	require.NoError(t, err)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, berlin) // a Wednesday
	clock := func() time.Time { return now }
	r := &counting{svc: &report.Service{Source: energy.RangeSource{Ranger: st}, Options: func() energy.Options {
		return energy.Options{Config: cfg, Sites: sites, Now: clock}
	}}}
	b := &inbox{}
	port := serveSMTP(t, b)
	rc := notify.Receiver{Name: "hochbau-mail", Type: "email", SMTPHost: "127.0.0.1", SMTPPort: port, From: "loraedge@kreis.example",
		To: []string{"hochbau@kreis.example"}, Timeout: 5 * time.Second}
	c := DefaultConfig()
	c.WeeklyDigest = true
	c.DigestTeams = []DigestTeam{{Team: "hochbau", Receivers: []string{"hochbau-mail"}}}
	at := func(d, h int) time.Time { return time.Date(2026, 12, d, h, 0, 0, 0, berlin) }
	waste := notify.Alert{ID: "waste/" + sites[0].ID, Kind: "energy_waste", State: notify.StateFiring, Level: 1,
		Labels: map[string]string{"team": "hochbau", "site": sites[0].ID}, FiringSince: at(1, 3)}
	peak := notify.Alert{ID: "peak/" + sites[1].ID, Kind: "peak_load", State: notify.StateResolved, Level: 1,
		Labels: map[string]string{"team": "hochbau", "site": sites[1].ID}, FiringSince: at(2, 8), ResolvedAt: at(2, 9)}
	other := notify.Alert{ID: "waste/x", Kind: "energy_waste", State: notify.StateFiring, Labels: map[string]string{"team": "tiefbau"}, FiringSince: at(1, 3)}
	frost := notify.Alert{ID: "frost/y", Kind: "threshold", State: notify.StateFiring, Labels: map[string]string{"team": "hochbau"}, FiringSince: at(1, 3)}
	alerts := []notify.Alert{waste, peak, other, frost}
	ids := make([]string, len(sites))
	for i, s := range sites {
		ids[i] = s.ID
	}
	d := t.TempDir()
	schedWith := func(c Config, d string, rc notify.Receiver) *Scheduler {
		s, err := New(Options{Config: c, Dir: d, Renderer: r, Location: berlin, Now: clock,
			Teams: []Team{{Name: "hochbau", Sites: ids, Receivers: []notify.Receiver{rc}}}, Alerts: func() []notify.Alert { return alerts }})
		require.NoError(t, err)
		return s
	}
	newSched := func() *Scheduler { return schedWith(c, d, rc) }

	// Wednesday with the mail server down: the digest fails and is not
	// marked sent.
	down := rc
	down.SMTPPort = deadPort(t)
	assert.ErrorContains(t, schedWith(c, d, down).RunDue(ctx), "mail digest hochbau 2026-W48 to hochbau-mail")
	// Back up: last week's digest (no alerts yet) goes out.
	s := newSched()
	require.NoError(t, s.RunDue(ctx))
	require.Len(t, b.all(), 1)
	subject, body := bodyOf(t, b.all()[0])
	assert.Contains(t, subject, "2026-W48")
	assert.Contains(t, body, "Ausgelöste Alarme (Energieverschwendung, Lastspitze) (0)")
	require.NoError(t, s.RunDue(ctx))
	assert.Len(t, b.all(), 1, "a week's digest is mailed once")

	// Monday 05:00: the engine has forgotten the resolved peak; the
	// digest is not due before 06:00.
	alerts = []notify.Alert{waste, other, frost}
	now = at(7, 5)
	require.NoError(t, s.RunDue(ctx))
	assert.Len(t, b.all(), 1)

	// 07:00 after a restart: this week's digest goes out, once.
	now = at(7, 7)
	s = newSched()
	require.NoError(t, s.RunDue(ctx))
	require.NoError(t, newSched().RunDue(ctx))
	require.Len(t, b.all(), 2)
	subject, body = bodyOf(t, b.all()[1])
	assert.Contains(t, subject, "hochbau 2026-W49")
	assert.Contains(t, body, "Wochenbericht Energie für Team hochbau, 2026-11-30 bis 2026-12-06.")
	assert.Contains(t, body, "Ausgelöste Alarme (Energieverschwendung, Lastspitze) (2)")
	assert.Contains(t, body, "Aufgehobene Alarme (1)\n  - 2026-12-02 08:00  peak_load  "+sites[1].ID)
	assert.Contains(t, body, "Noch offene Alarme (1)\n  - 2026-12-01 03:00  energy_waste  "+sites[0].ID)
	assert.NotContains(t, body, "waste/x", "another team's alert")
	assert.NotContains(t, body, "frost/y", "not an energy alert")
	assert.Contains(t, body, "Maßnahmen: vermiedener Verbrauch bis heute (1)\n  - "+sites[1].ID+"-pumpe ("+sites[1].ID+"): ")
	assert.Contains(t, body, "Größte Einsparpotenziale (Vergleichswerte, letzte 12 Monate)\n  1. ")
	assert.Contains(t, body, "kWh/a")

	en := c
	en.Language = "en"
	require.NoError(t, schedWith(en, t.TempDir(), rc).RunDue(ctx))
	require.Len(t, b.all(), 3)
	subject, body = bodyOf(t, b.all()[2])
	assert.Equal(t, "Weekly energy digest hochbau 2026-W49 – loraedge", subject)
	assert.Contains(t, body, "Alerts still open (1)")
	assert.Contains(t, body, "Largest saving potentials")
}

// deadPort is a loopback port nothing listens on.
func deadPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return p
}

// TestDigestConfig checks the digest keys' validation.
func TestDigestConfig(t *testing.T) {
	c := DefaultConfig()
	c.WeeklyDigest = true
	assert.ErrorContains(t, c.Validate(), "energy_schedule.digest_teams: weekly_digest needs at least one team")
	c.DigestTeams = []DigestTeam{{Team: "a", Receivers: []string{"m"}}, {Team: "a"}}
	err := c.Validate()
	assert.ErrorContains(t, err, `energy_schedule.digest_teams[1].team: "a" is empty or listed twice`)
	assert.ErrorContains(t, err, "energy_schedule.digest_teams[1].receivers: none given")
	c.DigestTeams = c.DigestTeams[:1]
	require.NoError(t, c.Validate())
	_, err = New(Options{Config: c, Dir: t.TempDir(), Renderer: &counting{}})
	assert.ErrorContains(t, err, "weekly digest needs the alerts")
	_, err = New(Options{Config: c, Dir: t.TempDir(), Renderer: &counting{}, Alerts: func() []notify.Alert { return nil },
		Teams: []Team{{Name: "a", Receivers: []notify.Receiver{{Name: "m", Type: "webhook"}}}}})
	assert.ErrorContains(t, err, `"m" is not an email receiver`)
}
