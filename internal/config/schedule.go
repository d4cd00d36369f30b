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
	for i, name := range c.EnergySchedule.Receivers {
		rc, ok := c.ScheduleReceiver(name)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("energy_schedule.receivers[%d]: %q is not in alert.receivers", i, name))
		case rc.Type != "email":
			errs = append(errs, fmt.Errorf("energy_schedule.receivers[%d]: %q is a %s receiver, not email", i, name, rc.Type))
		}
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
