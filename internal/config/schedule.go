package config

import (
	"fmt"

	"github.com/loraedge/loraedge/internal/alert"
)

// scheduleProblems checks energy_schedule and that its receivers are
// email receivers of alert.receivers.
func (c Config) scheduleProblems() []error {
	var errs []error
	if err := c.EnergySchedule.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.emailReceiverProblems("energy_schedule.receivers", c.EnergySchedule.Receivers)...)
	for i, t := range c.EnergySchedule.DigestTeams {
		errs = append(errs, c.emailReceiverProblems(fmt.Sprintf("energy_schedule.digest_teams[%d].receivers", i), t.Receivers)...)
	}
	return errs
}

// ScheduleReceiver is the alert receiver name, for energy_schedule.
func (c Config) ScheduleReceiver(name string) (alert.ReceiverConfig, bool) {
	for _, r := range c.Alert.Receivers {
		if r.Name == name {
			return r, true
		}
	}
	return alert.ReceiverConfig{}, false
}

// emailReceiverProblems checks that names (at key path p) are email
// receivers of alert.receivers.
func (c Config) emailReceiverProblems(p string, names []string) []error {
	var errs []error
	for i, name := range names {
		rc, ok := c.ScheduleReceiver(name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s[%d]: %q is not in alert.receivers", p, i, name))
		case rc.Type != "email":
			errs = append(errs, fmt.Errorf("%s[%d]: %q is a %s receiver, not email", p, i, name, rc.Type))
		}
	}
	return errs
}
