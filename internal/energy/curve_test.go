package energy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/site"
)

func readings(start time.Time, step time.Duration, vals ...float64) []Reading {
	rs := make([]Reading, len(vals))
	for i, v := range vals {
		rs[i] = Reading{Time: start.Add(time.Duration(i) * step), Value: v}
	}
	return rs
}

func TestBuildCurve(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	h := time.Hour
	for _, tc := range []struct {
		name   string
		rs     []Reading
		p      curveParams
		total  float64
		est    bool
		events []EventKind
	}{
		{name: "plain", rs: readings(t0, h, 10, 12, 15), p: curveParams{scale: 1}, total: 5},
		{name: "pulse weight", rs: readings(t0, h, 100, 300, 500), p: curveParams{scale: 0.01}, total: 4},
		{name: "rollover 5 digits", rs: readings(t0, h, 99990, 99998, 3, 10), p: curveParams{scale: 1, wrap: 1e5}, total: 20, events: []EventKind{EventRollover}},
		{name: "small dip is noise", rs: readings(t0, h, 1000, 1000.5, 1000.4, 1001), p: curveParams{scale: 1, dropTol: 0.001, keepNoise: true}, total: 1, events: []EventKind{EventNoise}},
		{name: "spike above Qmax rejected", rs: readings(t0, h, 10, 11, 500, 12, 13), p: curveParams{scale: 1, maxRate: 50}, total: 3, events: []EventKind{EventRejected}},
		{
			// Without configured readings a big drop starts a new meter;
			// the interval is estimated at the last rate (2 per hour).
			name: "detected replacement", rs: readings(t0, h, 5000, 5002, 5004, 7, 9), p: curveParams{scale: 1, dropTol: 0.001},
			total: 4 + 2 + 2, est: true, events: []EventKind{EventReplacementDetected},
		},
		{
			// Drop without digits configured is a replacement, never a
			// rollover; with wrap set but an implausible wrapped delta too.
			name: "drop far from wrap is replacement", rs: readings(t0, h, 50000, 50001, 10, 11), p: curveParams{scale: 1, wrap: 1e5, dropTol: 0.001},
			total: 1 + 1 + 1, est: true, events: []EventKind{EventReplacementDetected},
		},
		{
			name: "configured replacement", rs: readings(t0, h, 800, 810, 5, 15),
			p:     curveParams{scale: 1, replace: []Replacement{{OldFinal: 815, NewInitial: 0, at: t0.Add(90 * time.Minute)}}},
			total: 10 + (5 + 5) + 10, events: []EventKind{EventReplacement},
		},
		{
			name: "two replacements between readings", rs: readings(t0, 10*h, 100, 200),
			p: curveParams{scale: 1, replace: []Replacement{
				{OldFinal: 120, NewInitial: 0, at: t0.Add(2 * h)},
				{OldFinal: 30, NewInitial: 1, at: t0.Add(5 * h)},
			}},
			total: 20 + 30 + 199, events: []EventKind{EventReplacement},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cv := buildCurve(tc.rs, tc.p)
			first, last := tc.rs[0].Time, tc.rs[len(tc.rs)-1].Time
			v, _ := cv.between(first.UnixNano(), last.UnixNano()+1)
			// The range ends 1 ns after the last reading: that is outside
			// the readings and so an estimate; check the value only.
			assert.InDelta(t, tc.total, v, 1e-9)
			v, est := cv.between(first.UnixNano(), last.UnixNano())
			assert.InDelta(t, tc.total, v, 1e-9)
			assert.Equal(t, tc.est, est)
			var kinds []EventKind
			for _, e := range cv.events {
				if e.Kind != EventGap {
					kinds = append(kinds, e.Kind)
				}
			}
			assert.Equal(t, tc.events, kinds)
		})
	}
}

func TestCurveInterpolation(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// Hourly readings with a 10-hour gap from 04:00 to 14:00.
	rs := []Reading{{t0, 0}, {t0.Add(2 * time.Hour), 2}, {t0.Add(4 * time.Hour), 4}, {t0.Add(14 * time.Hour), 24}, {t0.Add(16 * time.Hour), 26}}
	cv := buildCurve(rs, curveParams{scale: 1})
	ns := func(h float64) int64 { return t0.Add(time.Duration(h * float64(time.Hour))).UnixNano() }
	for _, tc := range []struct {
		a, b float64
		want float64
		est  bool
	}{
		{0, 4, 4, false},
		{1, 3, 2, false},   // interpolated inside normal intervals: measured
		{4, 14, 20, false}, // the gap lies wholly inside: exact
		{0, 9, 14, true},   // 9 h is inside the gap: 4 + 5/10*20
		{-1, 2, 2, true},   // starts before the first reading
		{14, 17, 2, true},  // ends after the last reading
	} {
		v, est := cv.between(ns(tc.a), ns(tc.b))
		assert.InDelta(t, tc.want, v, 1e-9, "%v..%v", tc.a, tc.b)
		assert.Equal(t, tc.est, est, "%v..%v", tc.a, tc.b)
	}
	empty := buildCurve(nil, curveParams{scale: 1})
	v, est := empty.between(ns(0), ns(1))
	assert.Zero(t, v)
	assert.True(t, est)
}

func TestPeriodsAndBuckets(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, berlin)
	to := time.Date(2026, 4, 1, 0, 0, 0, 0, berlin)
	days := bucketEdges(from, to, Day, berlin)
	require.Len(t, days, 32)
	// 29 March 2026 has 23 hours in Berlin (summer time starts).
	assert.Equal(t, 23*time.Hour, days[29].Sub(days[28]))
	assert.Equal(t, Period{From: time.Date(2026, 2, 1, 0, 0, 0, 0, berlin), To: from}, previousPeriod(from, to, berlin))
	assert.Equal(t, 1.0, periodYears(time.Date(2025, 1, 1, 0, 0, 0, 0, berlin), time.Date(2026, 1, 1, 0, 0, 0, 0, berlin), berlin))
	assert.InDelta(t, 1.0, referenceShare(time.Date(2025, 1, 1, 0, 0, 0, 0, berlin), time.Date(2026, 1, 1, 0, 0, 0, 0, berlin), berlin), 1e-12)
	// January alone holds 170 per mille of the reference degree days.
	assert.InDelta(t, 0.17, referenceShare(time.Date(2025, 1, 1, 0, 0, 0, 0, berlin), time.Date(2025, 2, 1, 0, 0, 0, 0, berlin), berlin), 1e-12)
}

func TestZNumber(t *testing.T) {
	// Sea level, 22 mbar, 15 degC: 273.15/288.15 * 1038/1013.25.
	assert.InDelta(t, 0.971099, ZNumber(0, 22, 15), 1e-6)
	assert.InDelta(t, DefaultGasZNumber, ZNumber(0, 22, 15), 1e-4)
	// Higher sites have thinner air: 400 m lowers pamb by 48 mbar.
	assert.Less(t, ZNumber(400, 22, 15), ZNumber(0, 22, 15))
}

func TestConfigValidate(t *testing.T) {
	neg, late := -1, 25
	bad := Config{
		Timezone:       "Mars/Olympus",
		AreaBasis:      "ngf",
		NightStartHour: &neg,
		NightEndHour:   &late,
		DropTolerance:  2,
		Meters: []MeterConfig{
			{Medium: "steam"},
			{Device: "a", Medium: Water, Quantity: "air_temperature"},
			{Device: "b", Medium: Water, Quantity: "pulse_count", Replacements: []Replacement{{Time: "yesterday"}}},
		},
		Sites:           []SiteConfig{{Gas: GasConfig{ZNumber: 3}, HotWaterShare: 1.5, DegreeDays: map[string]float64{"Jan": 1}}},
		EmissionFactors: []EmissionFactor{{Year: 20, Medium: Gas, KgPerUnit: -1}},
		Tariffs:         []Tariff{{Medium: "oil", Year: 2025}},
	}
	err := bad.Validate()
	require.Error(t, err)
	for _, want := range []string{
		"energy.timezone", "energy.area_basis", "energy.night_start_hour", "energy.night_end_hour", "energy.drop_tolerance",
		"energy.meters[0].device: required", "energy.meters[0].medium", "energy.meters[1].quantity", "energy.meters[2].pulse_weight",
		"energy.meters[2].replacements[0].time", "energy.sites[0].id", "energy.sites[0].gas.z_number", "energy.sites[0].hot_water_share",
		"energy.sites[0].degree_days.Jan", "energy.emission_factors[0].year", "energy.emission_factors[0].kg_per_unit", "energy.tariffs[0].medium",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NoError(t, Config{}.Validate())
	assert.NoError(t, goldenConfig().Validate())
}

func TestEmissionFactorLookup(t *testing.T) {
	r, err := Config{EmissionFactors: []EmissionFactor{{Year: 2023, Medium: Electricity, KgPerUnit: 0.38}, {Year: 2025, Medium: Electricity, KgPerUnit: 0.35}}}.resolve()
	require.NoError(t, err)
	assert.Equal(t, 0.38, r.factor(Electricity, 2020).KgPerUnit, "before the first year: the earliest")
	assert.Equal(t, 0.38, r.factor(Electricity, 2024).KgPerUnit)
	assert.Equal(t, 0.35, r.factor(Electricity, 2030).KgPerUnit)
	assert.Equal(t, 0.182, r.factor(Gas, 2025).KgPerUnit, "unconfigured media take the defaults")
}

func TestValidateRefs(t *testing.T) {
	sites := []site.Site{{ID: "schule", Kind: site.Building}, {ID: "k23", Kind: site.Road}}
	c := Config{
		Meters:  []MeterConfig{{Site: "schule"}, {Site: "nowhere"}, {Site: "k23"}},
		Sites:   []SiteConfig{{ID: "schule"}, {ID: "gone"}},
		Tariffs: []Tariff{{Site: ""}, {Site: "gone"}},
	}
	err := c.ValidateRefs(sites)
	require.Error(t, err)
	assert.Equal(t, `energy.meters[1].site: unknown site "nowhere" (closest: schule)
energy.meters[2].site: site "k23" is a road, not a building
energy.sites[1].id: unknown site "gone" (closest: schule)
energy.tariffs[1].site: unknown site "gone" (closest: schule)`, err.Error())
	assert.NoError(t, goldenConfig().ValidateRefs(goldenSites))
	_, err = New(Options{Config: c, Sites: sites})
	assert.Error(t, err)
}
