package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/reportsched"
)

// buildSchedule creates the report schedule when a report is switched on;
// its reports live in <data_dir>/reports.
func (d *daemon) buildSchedule() error {
	c := d.cfg.EnergySchedule
	if !c.Monthly && !c.Annual && !c.WeeklyDigest {
		return nil
	}
	tz := d.cfg.Energy.Timezone
	if tz == "" {
		tz = "Europe/Berlin"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return fmt.Errorf("energy_schedule: %w", err)
	}
	var rcs []notify.Receiver
	for _, name := range c.Receivers {
		rc, _ := d.cfg.ScheduleReceiver(name) // checked by config
		rcs = append(rcs, rc)
	}
	d.sched, err = reportsched.New(reportsched.Options{Config: c, Dir: filepath.Join(d.cfg.DataDir, "reports"),
		Renderer: d.energyService(), Receivers: rcs, Teams: d.digestTeams(), Alerts: d.currentAlerts,
		Location: loc, Now: d.now, Logger: d.log.With("component", "reportsched")})
	return err
}

// digestTeams resolves energy_schedule.digest_teams: each team's sites
// and mail receivers.
func (d *daemon) digestTeams() []reportsched.Team {
	var out []reportsched.Team
	for _, dt := range d.cfg.EnergySchedule.DigestTeams {
		t := reportsched.Team{Name: dt.Team}
		for _, s := range d.cfg.Sites {
			if s.Team == dt.Team {
				t.Sites = append(t.Sites, s.ID)
			}
		}
		for _, name := range dt.Receivers {
			rc, _ := d.cfg.ScheduleReceiver(name) // checked by config
			t.Receivers = append(t.Receivers, rc)
		}
		out = append(out, t)
	}
	return out
}

// currentAlerts lists the alert engine's alerts for the weekly digest;
// none without alerting.
func (d *daemon) currentAlerts() []notify.Alert {
	if d.alerts == nil {
		return nil
	}
	return d.alerts.List(alert.Filter{})
}

// scheduled is the schedule for the API; nil without one.
func (d *daemon) scheduled() httpapi.ScheduledReports {
	if d.sched == nil {
		return nil
	}
	return d.sched
}
