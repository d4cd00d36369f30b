package ice

import "fmt"

// Condition is a result of the decision tree (Glättezustand), ordered so that
// a larger Severity means a more urgent state. The two "unknown" conditions
// have negative severity: they are neither a danger nor an all-clear.
//
// The texts up to BlackIceImmediate say "möglich" (possible): they go with
// Vorwarnung or Warnung at most. An Alarm shows SlipperyPresent or
// IceSnowOnRoad (see Transition.Condition), so no text saying "possible"
// rides on a level that means "act now".
type Condition int

// Conditions of the SWE 4.14 tree, in order of severity.
const (
	NotDeterminable                 Condition = iota // nicht ermittelbar: inputs missing
	TrendNotPossible                                 // Tendenzberechnung nicht möglich
	NoDanger                                         // keine Glättegefahr
	DangerOnWeatherChange                            // Glättegefahr bei Wetteränderung
	OnPrecipitation                                  // Schneeglätte/Glatteis bei Niederschlag möglich
	OnPrecipitationOrFrost                           // ... sowie Reifglätte möglich
	BlackIcePossible                                 // Eisglätte möglich
	OnPrecipitationImmediate                         // ... bei Niederschlag sofort möglich
	OnPrecipitationOrFrostImmediate                  // ... sowie Reifglätte sofort möglich
	BlackIceImmediate                                // Eisglätte sofort möglich
	SlipperyPresent                                  // Glätte vorhanden
	IceSnowOnRoad                                    // Eis/Schnee auf der Fahrbahn
	conditionCount
)

var conditionText = [conditionCount]struct{ key, de, en string }{
	NotDeterminable:                 {"not_determinable", "nicht ermittelbar", "not determinable"},
	TrendNotPossible:                {"trend_not_possible", "Tendenzberechnung nicht möglich", "trend calculation not possible"},
	NoDanger:                        {"no_danger", "keine Glättegefahr", "no danger of slipperiness"},
	DangerOnWeatherChange:           {"danger_on_weather_change", "Glättegefahr bei Wetteränderung", "slipperiness possible if the weather changes"},
	OnPrecipitation:                 {"on_precipitation", "Schneeglätte/Glatteis bei Niederschlag möglich", "snow or glaze possible with precipitation"},
	OnPrecipitationOrFrost:          {"on_precipitation_or_frost", "Schneeglätte/Glatteis bei Niederschlag sowie Reifglätte möglich", "snow or glaze possible with precipitation, hoar frost possible"},
	BlackIcePossible:                {"black_ice_possible", "Eisglätte möglich", "black ice possible"},
	OnPrecipitationImmediate:        {"on_precipitation_immediate", "Schneeglätte/Glatteis bei Niederschlag sofort möglich", "snow or glaze immediately possible with precipitation"},
	OnPrecipitationOrFrostImmediate: {"on_precipitation_or_frost_immediate", "Schneeglätte/Glatteis bei Niederschlag sowie Reifglätte sofort möglich", "snow or glaze immediately possible with precipitation, hoar frost immediately possible"},
	BlackIceImmediate:               {"black_ice_immediate", "Eisglätte sofort möglich", "black ice immediately possible"},
	SlipperyPresent:                 {"slippery_present", "Glätte vorhanden", "road is slippery"},
	IceSnowOnRoad:                   {"ice_snow_on_road", "Eis/Schnee auf der Fahrbahn", "ice or snow on the road"},
}

// Valid reports whether c is one of the defined conditions.
func (c Condition) Valid() bool { return c >= 0 && c < conditionCount }

// Known reports whether c is a real assessment rather than "cannot tell".
func (c Condition) Known() bool { return c.Valid() && c >= NoDanger }

// Severity orders conditions: -1 for the two unknown conditions, 0 for
// NoDanger up to 9 for IceSnowOnRoad.
func (c Condition) Severity() int {
	if !c.Known() {
		return -1
	}
	return int(c - NoDanger)
}

// German returns the operator text as the traffic centres word it.
func (c Condition) German() string {
	if !c.Valid() {
		return fmt.Sprintf("unbekannter Zustand %d", int(c))
	}
	return conditionText[c].de
}

// English returns the English operator text.
func (c Condition) English() string {
	if !c.Valid() {
		return fmt.Sprintf("unknown condition %d", int(c))
	}
	return conditionText[c].en
}

// String returns the stable snake_case key used in JSON.
func (c Condition) String() string {
	if !c.Valid() {
		return fmt.Sprintf("condition(%d)", int(c))
	}
	return conditionText[c].key
}

// MarshalText encodes c as its stable key so persisted state survives a
// reordering of the constants.
func (c Condition) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("marshal condition %d: invalid", int(c))
	}
	return []byte(conditionText[c].key), nil
}

// UnmarshalText decodes a key written by MarshalText.
func (c *Condition) UnmarshalText(b []byte) error {
	for i, t := range conditionText {
		if t.key == string(b) {
			*c = Condition(i)
			return nil
		}
	}
	return fmt.Errorf("unmarshal condition %q: unknown", b)
}

// Level is the warning level the winter service acts on.
type Level int

// Levels in increasing urgency.
const (
	LevelNone       Level = iota // keine Warnung
	LevelVorwarnung              // pre-warning: be ready, watch
	LevelWarnung                 // warning: preventive spreading / Kontrollfahrt
	LevelAlarm                   // alarm: slippery now or imminent
	levelCount
)

var levelText = [levelCount]struct{ key, de, en string }{
	LevelNone:       {"none", "keine Warnung", "no warning"},
	LevelVorwarnung: {"vorwarnung", "Vorwarnung", "pre-warning"},
	LevelWarnung:    {"warnung", "Warnung", "warning"},
	LevelAlarm:      {"alarm", "Alarm", "alarm"},
}

// Valid reports whether l is a defined level.
func (l Level) Valid() bool { return l >= 0 && l < levelCount }

// German returns the German name.
func (l Level) German() string {
	if !l.Valid() {
		return fmt.Sprintf("Stufe %d", int(l))
	}
	return levelText[l].de
}

// English returns the English name.
func (l Level) English() string {
	if !l.Valid() {
		return fmt.Sprintf("level %d", int(l))
	}
	return levelText[l].en
}

// String returns the stable key used in JSON.
func (l Level) String() string {
	if !l.Valid() {
		return fmt.Sprintf("level(%d)", int(l))
	}
	return levelText[l].key
}

// MarshalText encodes l as its stable key.
func (l Level) MarshalText() ([]byte, error) {
	if !l.Valid() {
		return nil, fmt.Errorf("marshal level %d: invalid", int(l))
	}
	return []byte(levelText[l].key), nil
}

// UnmarshalText decodes a key written by MarshalText.
func (l *Level) UnmarshalText(b []byte) error {
	for i, t := range levelText {
		if t.key == string(b) {
			*l = Level(i)
			return nil
		}
	}
	return fmt.Errorf("unmarshal level %q: unknown", b)
}
