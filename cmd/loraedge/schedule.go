package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/loraedge/loraedge/internal/alert/notify"
	"github.com/loraedge/loraedge/internal/httpapi"
	"github.com/loraedge/loraedge/internal/reportsched"
)

// buildSchedule creates the report schedule when a report is switched on;
// its reports live in <data_dir>/reports.
func (d *daemon) buildSchedule() error {
	c := d.cfg.EnergySchedule
	if !c.Monthly && !c.Annual {
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
		Renderer: d.energyService(), Receivers: rcs, Location: loc, Now: d.now, Logger: d.log.With("component", "reportsched")})
	return err
}

// scheduled is the schedule for the API; nil without one.
func (d *daemon) scheduled() httpapi.ScheduledReports {
	if d.sched == nil {
		return nil
	}
	return d.sched
}
