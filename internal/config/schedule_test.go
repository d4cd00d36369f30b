package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/alert"
	"github.com/loraedge/loraedge/internal/reportsched"
)

// TestScheduleReceivers: energy_schedule names email receivers of
// alert.receivers; others are errors with the key path.
func TestScheduleReceivers(t *testing.T) {
	c := Default()
	c.Alert.Receivers = []alert.ReceiverConfig{
		{Name: "mail", Type: "email", SMTPHost: "smtp.kreis.example", From: "a@kreis.example", To: []string{"b@kreis.example"}},
		{Name: "hook", Type: "webhook", URL: "https://kreis.example/hook"},
	}
	c.EnergySchedule.Monthly = true
	c.EnergySchedule.Receivers = []string{"mail"}
	require.NoError(t, c.Validate())
	c.EnergySchedule.Receivers = []string{"mail", "hook", "fax"}
	c.EnergySchedule.Hour = 25
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{`energy_schedule.receivers[1]: "hook" is a webhook receiver, not email`,
		`energy_schedule.receivers[2]: "fax" is not in alert.receivers`, "energy_schedule.hour: 25 is not 0..23"} {
		assert.ErrorContains(t, err, want)
	}
	c.EnergySchedule.Receivers, c.EnergySchedule.Hour = []string{"mail"}, 6
	c.EnergySchedule.WeeklyDigest = true
	c.EnergySchedule.DigestTeams = []reportsched.DigestTeam{{Team: "hochbau", Receivers: []string{"mail"}}}
	require.NoError(t, c.Validate())
	c.EnergySchedule.DigestTeams[0].Receivers = []string{"hook", "fax"}
	err = c.Validate()
	assert.ErrorContains(t, err, `energy_schedule.digest_teams[0].receivers[0]: "hook" is a webhook receiver, not email`)
	assert.ErrorContains(t, err, `energy_schedule.digest_teams[0].receivers[1]: "fax" is not in alert.receivers`)
}
