package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var cet = time.FixedZone("CET", 3600)

func TestRenderEnglishAndGerman(t *testing.T) {
	x := texts{lang: "de", loc: cet}
	a := Alert{ID: "glaette/k23-bridge", Rule: "glaette", Kind: "ice", Level: LevelWarnung, State: StateFiring,
		Labels:     map[string]string{"site_name": "K 23 Talbach bridge", "road": "K 23", "km": "4.2", "route": "Nord"},
		Values:     map[string]float64{"fbt": 0.4, "lt": 1.2, "dew_point": -0.3, "frost_point": -0.2, "rh": 95, "trend_k_h": -0.8, "expected_in_min": 30},
		Info:       map[string]string{"condition_de": "Eisglätte sofort möglich", "condition_en": "black ice possible immediately", "surface_de": "nass", "surface_en": "wet", "expected": "alarm"},
		ObservedAt: time.Date(2026, 1, 12, 21, 0, 0, 0, cet)}
	now := a.ObservedAt.Add(12 * time.Minute)
	for lang, want := range map[string][]string{
		"de": {"Warnung: Glättegefahr – K 23 Talbach bridge (K 23 km 4,2)", "FBT 0,4 °C", "Taupunkt -0,3 °C", "erwartet: Alarm in ca. 30,0 min", "Datenalter 12 min", "12.01.2026 21:00 CET"},
		"en": {"Warning: Icy road risk – K 23 Talbach bridge (K 23 km 4.2)", "Road surface 0.4 °C", "dew point -0.3 °C", "expected: Alarm in about 30.0 min", "data age 12 min", "2026-01-12 21:00 CET"},
	} {
		items, err := x.render(Receiver{Name: "x", Type: "email", Language: lang}, "site:k23-bridge", []Note{{"firing", a}}, now)
		require.NoError(t, err)
		require.Len(t, items, 1)
		text := items[0].Subject + "\n" + string(items[0].Body)
		for _, w := range want {
			assert.Contains(t, text, w, lang)
		}
		assert.False(t, strings.Contains(text, "<no value>"), text)
	}
}

// Without a usable physics forecast, a German receiver reads why in German
// and an English one in English.
func TestRenderForecastNoteInReceiverLanguage(t *testing.T) {
	x := texts{lang: "de", loc: cet}
	a := Alert{ID: "glaette/k23-bridge", Rule: "glaette", Kind: "ice", Level: LevelVorwarnung, State: StateFiring,
		Labels: map[string]string{"site_name": "K 23", "road": "K 23", "km": "4.2"},
		Values: map[string]float64{"fbt": 1.5},
		Info: map[string]string{"forecast_source": "trend",
			"forecast_note":    "no MOSMIX forecast for station 10430 yet",
			"forecast_note_de": "noch keine MOSMIX-Vorhersage für Station 10430"},
		ObservedAt: time.Date(2026, 1, 12, 21, 0, 0, 0, cet)}
	for lang, want := range map[string]string{
		"de": "Vorhersage: Trend der Messwerte (keine Physik-Vorhersage: noch keine MOSMIX-Vorhersage für Station 10430)",
		"en": "Forecast: trend of the readings (no physics forecast: no MOSMIX forecast for station 10430 yet)",
	} {
		items, err := x.render(Receiver{Name: "x", Type: "email", Language: lang}, "site:k23", []Note{{"firing", a}}, a.ObservedAt)
		require.NoError(t, err)
		require.Len(t, items, 1)
		assert.Contains(t, string(items[0].Body), want, lang)
	}
}
