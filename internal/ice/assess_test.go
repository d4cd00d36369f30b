package ice

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rd builds a Reading; nil-able values are set with new(x).
type rd = Reading

func st(s SurfaceState) *SurfaceState { return &s }

func TestAssessTree(t *testing.T) {
	tests := []struct {
		name         string
		r            Reading
		want         Condition
		missing      []string
		conservative bool
	}{
		// nicht ermittelbar
		{"no FBT", rd{Sample: Sample{LT: new(1.0), State: st(Wet)}}, NotDeterminable, []string{"fbt"}, false},
		{"FBT NaN counts as missing", rd{Sample: Sample{FBT: new(math.NaN()), State: st(Wet)}}, NotDeterminable, []string{"fbt"}, false},
		{"warm, no LT", rd{Sample: Sample{FBT: new(6.0)}}, NotDeterminable, []string{"lt"}, false},
		{"cool, no state, no film", rd{Sample: Sample{FBT: new(1.0), LT: new(0.0)}}, NotDeterminable, []string{"fbz"}, false},
		{"unknown TLS code, no film", rd{Sample: Sample{FBT: new(1.0), State: st(SurfaceState(99))}}, NotDeterminable, []string{"fbz"}, false},

		// FBT > 5: only LT matters.
		{"FBT 8, LT 6: keine Glättegefahr", rd{Sample: Sample{FBT: new(8.0), LT: new(6.0), State: st(Wet)}}, NoDanger, nil, false},
		{"FBT 8, LT 1.5: bei Niederschlag möglich", rd{Sample: Sample{FBT: new(8.0), LT: new(1.5)}}, OnPrecipitation, nil, false},
		{"FBT 5.01, LT 2 (edge, <=)", rd{Sample: Sample{FBT: new(5.01), LT: new(2.0)}}, OnPrecipitation, nil, false},

		// 2 < FBT <= 5.
		{"FBT 4 dry, no trend", rd{Sample: Sample{FBT: new(4.0), State: st(Dry)}}, TrendNotPossible, []string{"predicted_fbt"}, false},
		{"FBT 4 dry, pred 3: bei Wetteränderung", rd{Sample: Sample{FBT: new(4.0), State: st(Dry)}, PredictedFBT: new(3.0)}, DangerOnWeatherChange, nil, false},
		{"FBT 4 wet, pred 3 (>3 so no black ice)", rd{Sample: Sample{FBT: new(4.0), State: st(Wet)}, PredictedFBT: new(3.0)}, DangerOnWeatherChange, nil, false},
		{"FBT 5 (edge) dry, pred 2.01", rd{Sample: Sample{FBT: new(5.0), State: st(Dry)}, PredictedFBT: new(2.01)}, DangerOnWeatherChange, nil, false},
		// pred FBT 1.5 - pred TPT -1 = 2.5 > 0: no hoar frost expected.
		{"FBT 4 dry, pred 1.5/-1: bei Niederschlag möglich", rd{Sample: Sample{FBT: new(4.0), State: st(Dry)}, PredictedFBT: new(1.5), PredictedTPT: new(-1.0)}, OnPrecipitation, nil, false},
		// pred FBT 1.5 - pred TPT 2 = -0.5 <= 0: hoar frost possible.
		{"FBT 4 dry, pred 1.5/2: sowie Reifglätte möglich", rd{Sample: Sample{FBT: new(4.0), State: st(Dry)}, PredictedFBT: new(1.5), PredictedTPT: new(2.0)}, OnPrecipitationOrFrost, nil, false},
		{"FBT 4 dry, pred spread exactly 0", rd{Sample: Sample{FBT: new(4.0), State: st(Dry)}, PredictedFBT: new(1.0), PredictedTPT: new(1.0)}, OnPrecipitationOrFrost, nil, false},
		{"FBT 4 dry, pred 1.5 without TPT: conservative", rd{Sample: Sample{FBT: new(4.0), State: st(Dry)}, PredictedFBT: new(1.5)}, OnPrecipitationOrFrost, []string{"predicted_tpt"}, true},
		{"FBT 4 wet, pred 1: Eisglätte möglich", rd{Sample: Sample{FBT: new(4.0), State: st(Wet)}, PredictedFBT: new(1.0)}, BlackIcePossible, nil, false},
		{"FBT 2.5 moist, pred 3: Eisglätte möglich (FBT<=3)", rd{Sample: Sample{FBT: new(2.5), State: st(Moist)}, PredictedFBT: new(3.0)}, BlackIcePossible, nil, false},
		{"FBT 3 (edge) wet, pred 4", rd{Sample: Sample{FBT: new(3.0), State: st(Wet)}, PredictedFBT: new(4.0)}, BlackIcePossible, nil, false},
		{"FBT 4 snow (our addition)", rd{Sample: Sample{FBT: new(4.0), State: st(Snow)}}, IceSnowOnRoad, nil, false},
		{"FBT 3 hoar frost (our addition)", rd{Sample: Sample{FBT: new(3.0), State: st(HoarFrost)}}, SlipperyPresent, nil, false},

		// FBT <= 2.
		// FBT 1 - TPT -3 = 4 > 2 and pred 0 - (-3) = 3 > 0.
		{"FBT 1 dry, TPT -3, pred 0/-3: bei Niederschlag sofort", rd{Sample: Sample{FBT: new(1.0), TPT: new(-3.0), State: st(Dry)}, PredictedFBT: new(0.0), PredictedTPT: new(-3.0)}, OnPrecipitationImmediate, nil, false},
		{"FBT 2 (edge) dry, TPT -0.5, pred 2/-1", rd{Sample: Sample{FBT: new(2.0), TPT: new(-0.5), State: st(Dry)}, PredictedFBT: new(2.0), PredictedTPT: new(-1.0)}, OnPrecipitationImmediate, nil, false},
		// FBT 1 - TPT -0.5 = 1.5 <= 2: hoar frost possible now.
		{"FBT 1 dry, TPT -0.5: sowie Reifglätte sofort", rd{Sample: Sample{FBT: new(1.0), TPT: new(-0.5), State: st(Dry)}, PredictedFBT: new(3.0), PredictedTPT: new(-3.0)}, OnPrecipitationOrFrostImmediate, nil, false},
		{"FBT 1 dry, spread exactly 2", rd{Sample: Sample{FBT: new(1.0), TPT: new(-1.0), State: st(Dry)}, PredictedFBT: new(3.0), PredictedTPT: new(-3.0)}, OnPrecipitationOrFrostImmediate, nil, false},
		// Spread now 4 > 2, but pred -2 - (-1.5) = -0.5 <= 0.
		{"FBT 1 dry, pred spread negative", rd{Sample: Sample{FBT: new(1.0), TPT: new(-3.0), State: st(Dry)}, PredictedFBT: new(-2.0), PredictedTPT: new(-1.5)}, OnPrecipitationOrFrostImmediate, nil, false},
		{"FBT 1 dry, no TPT: conservative", rd{Sample: Sample{FBT: new(1.0), State: st(Dry)}}, OnPrecipitationOrFrostImmediate, []string{"tpt"}, true},
		{"FBT 1 dry, TPT -3, no trend: conservative", rd{Sample: Sample{FBT: new(1.0), TPT: new(-3.0), State: st(Dry)}}, OnPrecipitationOrFrostImmediate, []string{"predicted_fbt", "predicted_tpt"}, true},
		// TPT from LT -3, RH 90: Td = -4.410 (see magnus_test); FBT -2 - (-4.41) = 2.41 > 2.
		{"TPT computed from LT/RH", rd{Sample: Sample{FBT: new(-2.0), LT: new(-3.0), RH: new(90.0), State: st(Dry)}, PredictedFBT: new(-2.0), PredictedTPT: new(-4.4)}, OnPrecipitationImmediate, nil, false},
		// Same, but FBT -2.5: spread 1.91 <= 2.
		{"TPT computed from LT/RH, spread 1.91", rd{Sample: Sample{FBT: new(-2.5), LT: new(-3.0), RH: new(90.0), State: st(Dry)}, PredictedFBT: new(-2.0), PredictedTPT: new(-4.4)}, OnPrecipitationOrFrostImmediate, nil, false},
		{"FBT 0.5 wet: Eisglätte sofort", rd{Sample: Sample{FBT: new(0.5), State: st(Wet)}}, BlackIceImmediate, nil, false},
		{"FBT 2 moist: Eisglätte sofort", rd{Sample: Sample{FBT: new(2.0), State: st(Moist)}}, BlackIceImmediate, nil, false},
		{"film 0.05 mm at +1 -> moist", rd{Sample: Sample{FBT: new(1.0), WaterFilm: new(0.05)}}, BlackIceImmediate, nil, false},
		{"film 0.3 mm at -1, salted (Tg -3) -> wet", rd{Sample: Sample{FBT: new(-1.0), WaterFilm: new(0.3), FreezingTemp: new(-3.0)}}, BlackIceImmediate, nil, false},
		{"FBT -1 freezing water: Glätte vorhanden", rd{Sample: Sample{FBT: new(-1.0), State: st(FreezingWater)}}, SlipperyPresent, nil, false},
		{"FBT -2 hoar frost: Glätte vorhanden", rd{Sample: Sample{FBT: new(-2.0), State: st(HoarFrost)}}, SlipperyPresent, nil, false},
		{"film 0.3 mm at -0.5 -> freezing water", rd{Sample: Sample{FBT: new(-0.5), WaterFilm: new(0.3)}}, SlipperyPresent, nil, false},
		{"FBT -1 ice", rd{Sample: Sample{FBT: new(-1.0), State: st(IceSurface)}}, IceSnowOnRoad, nil, false},
		{"FBT -4 snow", rd{Sample: Sample{FBT: new(-4.0), State: st(Snow)}}, IceSnowOnRoad, nil, false},
		{"reported state wins over film", rd{Sample: Sample{FBT: new(-1.0), State: st(IceSurface), WaterFilm: new(0.0)}}, IceSnowOnRoad, nil, false},
	}
	seen := map[Condition]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(tc.r)
			assert.Equal(t, tc.want, a.Condition, "%s / %s", a.Condition.German(), tc.want.German())
			assert.Equal(t, tc.missing, a.Missing)
			assert.Equal(t, tc.conservative, a.Conservative)
			seen[a.Condition] = true
		})
	}
	for c := NotDeterminable; c < conditionCount; c++ {
		assert.True(t, seen[c], "no tree case for %s", c)
	}
}

func TestAssessUsedValues(t *testing.T) {
	a := Assess(rd{Sample: Sample{FBT: new(-2.0), LT: new(-3.0), RH: new(90.0), WaterFilm: new(0.0)}})
	require.NotNil(t, a.DewPoint)
	require.NotNil(t, a.FrostPoint)
	assert.InDelta(t, -4.410, *a.DewPoint, 0.001)
	assert.InDelta(t, -3.894, *a.FrostPoint, 0.001)
	require.NotNil(t, a.Surface)
	assert.Equal(t, Dry, *a.Surface)
	assert.True(t, a.SurfaceDerived)
	assert.Nil(t, a.FreezingTemp)
}

func TestConditionTexts(t *testing.T) {
	des, ens, keys := map[string]bool{}, map[string]bool{}, map[string]bool{}
	prev := -2
	for c := NotDeterminable; c < conditionCount; c++ {
		require.NotEmpty(t, c.German())
		require.NotEmpty(t, c.English())
		assert.False(t, des[c.German()] || ens[c.English()] || keys[c.String()], "duplicate text for %d", c)
		des[c.German()], ens[c.English()], keys[c.String()] = true, true, true
		if c.Known() {
			assert.Greater(t, c.Severity(), prev, c.String())
			prev = c.Severity()
		} else {
			assert.Equal(t, -1, c.Severity())
		}
		b, err := json.Marshal(c)
		require.NoError(t, err)
		var back Condition
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, c, back)
	}
	assert.Equal(t, "Eis/Schnee auf der Fahrbahn", IceSnowOnRoad.German())
	assert.Equal(t, "Glättegefahr bei Wetteränderung", DangerOnWeatherChange.German())
	assert.Equal(t, "Tendenzberechnung nicht möglich", TrendNotPossible.German())
	assert.Equal(t, 0, NoDanger.Severity())
	assert.Equal(t, 9, IceSnowOnRoad.Severity())
	assert.False(t, Condition(99).Valid())
	var c Condition
	require.Error(t, json.Unmarshal([]byte(`"bogus"`), &c))
	_, err := json.Marshal(Condition(-1))
	require.Error(t, err)
}

func TestSurfaceState(t *testing.T) {
	tests := []struct {
		code   float64
		want   SurfaceState
		de, en string
	}{
		{0, Dry, "trocken", "dry"},
		{1, Moist, "feucht", "moist"},
		{32, Wet, "nass", "wet"},
		{64, FreezingWater, "gefrierendes Wasser", "freezing water"},
		{65, Snow, "Schnee", "snow"},
		{66, IceSurface, "Eis", "ice"},
		{67, HoarFrost, "Raureif", "hoar frost"},
	}
	for _, tc := range tests {
		s, err := ParseSurfaceState(tc.code)
		require.NoError(t, err)
		assert.Equal(t, tc.want, s)
		assert.Equal(t, tc.de, s.German())
		assert.Equal(t, tc.en, s.English())
	}
	for _, bad := range []float64{2, 31, 63, 68, 1.5, -1, 256, math.NaN(), math.Inf(1)} {
		_, err := ParseSurfaceState(bad)
		assert.Error(t, err, "%v", bad)
	}
	assert.True(t, Wet.HasWater() && Moist.HasWater() && !Dry.HasWater() && !IceSurface.HasWater())
	assert.True(t, HoarFrost.Frozen() && FreezingWater.Frozen() && !Wet.Frozen())
	assert.Contains(t, SurfaceState(7).English(), "unknown")
}

func TestDeriveSurfaceState(t *testing.T) {
	tests := []struct {
		name          string
		film, fbt, tg *float64
		want          SurfaceState
		ok            bool
	}{
		{"no film", nil, new(1.0), nil, 0, false},
		{"negative film", new(-0.1), new(1.0), nil, 0, false},
		{"NaN film", new(math.NaN()), new(1.0), nil, 0, false},
		{"zero", new(0.0), new(1.0), nil, Dry, true},
		{"below resolution", new(0.004), new(-5.0), nil, Dry, true},
		{"moist", new(0.005), new(1.0), nil, Moist, true},
		{"moist upper", new(0.099), new(1.0), nil, Moist, true},
		{"wet", new(0.1), new(1.0), nil, Wet, true},
		{"wet at 0 -> freezing", new(0.5), new(0.0), nil, FreezingWater, true},
		{"moist below 0 -> freezing", new(0.02), new(-0.1), nil, FreezingWater, true},
		{"salted: above Tg stays wet", new(0.5), new(-2.0), new(-3.0), Wet, true},
		{"salted: at Tg freezes", new(0.5), new(-3.0), new(-3.0), FreezingWater, true},
		{"no FBT: film decides", new(0.5), nil, nil, Wet, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := DeriveSurfaceState(tc.film, tc.fbt, tc.tg)
			assert.Equal(t, tc.ok, ok)
			if tc.ok {
				assert.Equal(t, tc.want, s)
			}
		})
	}
}
