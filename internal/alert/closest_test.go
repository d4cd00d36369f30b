package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A rule naming a receiver that does not exist is told the closest ones.
func TestUnknownReceiverNamesCandidates(t *testing.T) {
	c := Config{Enabled: true,
		Receivers: []ReceiverConfig{{Name: "winterdienst", Type: "webhook", URL: "http://127.0.0.1:1/"}, {Name: "hausmeister", Type: "webhook", URL: "http://127.0.0.1:1/"}},
		Rules:     []RuleConfig{{Name: "glaette", Kind: KindIce, Receivers: []string{"winterdiest"}}}}
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `rules[0].receivers: unknown receiver "winterdiest" (closest: winterdienst, hausmeister)`)
}

// Acknowledging an alert id that does not exist names the closest ids and
// their form.
func TestUnknownAlertNamesCandidates(t *testing.T) {
	start := time.Date(2026, 1, 12, 18, 0, 0, 0, cet)
	h := newHarness(t, staleConfig(), "winter-night", start)
	h.tick(start)
	h.tick(start.Add(2 * time.Hour))
	require.NotEmpty(t, staleFiring(h))
	err := h.e.Acknowledge("stale/4c4553494d01001", "Schmidt", start.Add(2*time.Hour))
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "stale/4c4553494d01001 (ids are rule/subject; closest: stale/4c4553494d010001, ")
}
