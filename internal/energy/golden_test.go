package energy

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/measurement"
	"github.com/loraedge/loraedge/internal/site"
	"github.com/loraedge/loraedge/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// Devices of the synthetic year.
const (
	devElec    = "0000000000000e01" // schule: electricity, replaced 2025-07-01
	devHeat    = "0000000000000e02" // schule: district heat, 6 digits, rollover, gaps
	devWater   = "0000000000000e03" // schule: water, leak in June
	devTemp    = "0000000000000e04" // schule: outdoor temperature
	devGas     = "0000000000000e05" // rathaus: gas
	devPulse   = "0000000000000e06" // rathaus: electricity via pulse counter, 0.5 kWh/pulse
	replaceOld = 37940.0 + 181*100  // register of the removed meter at 2025-07-01 00:00
)

var (
	utc      = time.UTC
	y2024    = time.Date(2024, 1, 1, 0, 0, 0, 0, utc)
	y2025    = time.Date(2025, 1, 1, 0, 0, 0, 0, utc)
	y2026    = time.Date(2026, 1, 1, 0, 0, 0, 0, utc)
	heatRate = map[time.Month]float64{1: 1000, 2: 900, 3: 700, 4: 400, 5: 150, 6: 100, 7: 100, 8: 100, 9: 200, 10: 500, 11: 800, 12: 950}
	tempOf   = map[time.Month]float64{1: 0, 2: 2, 3: 6, 4: 10, 5: 14, 6: 18, 7: 18, 8: 18, 9: 14, 10: 10, 11: 5, 12: 1}
)

// syntheticYear returns the readings of the golden test. Every rate is
// constant per day (or per hour for water) so the totals follow by hand.
func syntheticYear() []measurement.Measurement {
	var ms []measurement.Measurement
	add := func(dev string, q measurement.Quantity, v float64, t time.Time) {
		ms = append(ms, measurement.Measurement{Device: dev, Quantity: q, Value: v, Unit: measurement.Units[q], Time: t})
	}
	// Electricity, every 6 h: 90 kWh/day in 2024, 100 kWh/day in 2025.
	// The meter is replaced at 2025-07-01 00:00: the old one ends at
	// 5000 + 366*90 + 181*100 = 56040, the new one starts at 0 (the reading
	// at 00:00 is the new meter's).
	reg := 5000.0
	for t := y2024; !t.After(y2026); t = t.Add(6 * time.Hour) {
		if t.Equal(time.Date(2025, 7, 1, 0, 0, 0, 0, utc)) {
			reg = 0
		}
		add(devElec, measurement.EnergyActiveImport, reg, t)
		if t.Before(y2025) {
			reg += 90.0 / 4
		} else {
			reg += 100.0 / 4
		}
	}
	// Heat, daily at 00:00, register with 6 digits starting at 990000: it
	// wraps on 11 January. No readings from 11 to 20 March (a gap inside
	// March) and from 29 April to 2 May (a gap across the month boundary).
	reg = 990000
	for t := y2025; !t.After(y2026); t = t.AddDate(0, 0, 1) {
		skip := (t.After(time.Date(2025, 3, 10, 0, 0, 0, 0, utc)) && t.Before(time.Date(2025, 3, 21, 0, 0, 0, 0, utc))) ||
			(t.After(time.Date(2025, 4, 28, 0, 0, 0, 0, utc)) && t.Before(time.Date(2025, 5, 3, 0, 0, 0, 0, utc)))
		if !skip {
			add(devHeat, measurement.HeatEnergy, reg, t)
		}
		reg += heatRate[t.Month()]
		if reg >= 1e6 {
			reg -= 1e6
		}
	}
	// Water, hourly: 0.5 m3/h from 08:00 to 16:00 every day (4 m3/day);
	// in June a leak adds 0.02 m3/h (20 l/h) around the clock.
	reg = 1234
	for t := y2025; !t.After(y2026); t = t.Add(time.Hour) {
		add(devWater, measurement.WaterVolume, reg, t)
		if h := t.Hour(); h >= 8 && h < 16 {
			reg += 0.5
		}
		if t.Month() == time.June {
			reg += 0.02
		}
	}
	// Outdoor temperature, hourly, constant per month.
	for t := y2025; t.Before(y2026); t = t.Add(time.Hour) {
		add(devTemp, measurement.AirTemperature, tempOf[t.Month()], t)
	}
	// Gas, daily: 100 m3/day. Pulse counter: 200 pulses/day.
	for i, t := 0, y2025; !t.After(y2026); i, t = i+1, t.AddDate(0, 0, 1) {
		add(devGas, measurement.GasVolume, 500+100*float64(i), t)
		add(devPulse, measurement.PulseCount, 200*float64(i), t)
	}
	return ms
}

func goldenConfig() Config {
	return Config{
		Timezone:            "UTC",
		ReferenceDegreeDays: 3500,
		Meters: []MeterConfig{
			{ID: "schule-strom", Site: "schule", Medium: Electricity, Device: devElec,
				Replacements: []Replacement{{Time: "2025-07-01T00:00", OldFinal: replaceOld, NewInitial: 0}}},
			{ID: "schule-fernwaerme", Site: "schule", Medium: Heat, Device: devHeat, Digits: 6},
			{ID: "rathaus-strom", Site: "rathaus", Medium: Electricity, Device: devPulse, Quantity: measurement.PulseCount, PulseWeight: 0.5},
		},
		Sites: []SiteConfig{
			{ID: "schule", TemperatureDevice: devTemp, HotWaterShare: 0.1},
			{ID: "rathaus", Gas: GasConfig{ZNumber: 0.95, CalorificValue: 11},
				DegreeDays: map[string]float64{"2025-01": 600, "2025-02": 500, "2025-03": 450, "2025-04": 300, "2025-05": 150, "2025-06": 0,
					"2025-07": 0, "2025-08": 0, "2025-09": 150, "2025-10": 350, "2025-11": 500, "2025-12": 600}},
		},
		EmissionFactors: []EmissionFactor{
			{Year: 2025, Medium: Electricity, KgPerUnit: 0.4, Source: "test"},
			{Year: 2025, Medium: Heat, KgPerUnit: 0.25, Source: "test"},
			{Year: 2025, Medium: Water, KgPerUnit: 0.3, Source: "test"},
		},
		Tariffs: []Tariff{
			{Medium: Electricity, Year: 2025, EnergyPrice: 0.30, BaseFeePerYear: 120},
			{Medium: Heat, Year: 2025, EnergyPrice: 0.12},
			{Medium: Gas, Year: 2025, EnergyPrice: 0.10, BaseFeePerYear: 200},
			{Medium: Water, Year: 2025, EnergyPrice: 5},
		},
	}
}

func eui(s string) lorawan.EUI64 {
	var e lorawan.EUI64
	if err := e.UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return e
}

var goldenSites = []site.Site{
	{ID: "schule", Name: "Grundschule Süd", Kind: site.Building, Address: "Schulweg 1", BGF: 1000, NRF: 800},
	{ID: "rathaus", Name: "Rathaus", Kind: site.Building, BGF: 2000},
	{ID: "k23", Name: "K 23 Brücke", Kind: site.Road},
}

// openGolden fills a real store with the synthetic year.
func openGolden(t *testing.T) (*store.Store, *Engine) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Append(context.Background(), syntheticYear()))
	// Water and gas are discovered from the devices' sites; the rest is
	// configured.
	devs := []device.Device{
		{DevEUI: eui(devWater), Site: "schule"},
		{DevEUI: eui(devGas), Site: "rathaus"},
		{DevEUI: eui(devTemp), Site: "schule"},
	}
	eng, err := New(Options{Config: goldenConfig(), Sites: goldenSites, Devices: devs, Series: st.Series(),
		Now: func() time.Time { return time.Date(2026, 1, 15, 9, 30, 0, 0, utc) }})
	require.NoError(t, err)
	return st, eng
}

func TestReportGoldenYear(t *testing.T) {
	st, eng := openGolden(t)
	from, to, err := eng.ParsePeriod("2025-01-01", "2025-12-31")
	require.NoError(t, err)
	rep, err := eng.Report(context.Background(), RangeSource{st}, Request{From: from, To: to})
	require.NoError(t, err)

	require.Len(t, rep.Sites, 2)
	schule, rathaus := rep.Sites[0], rep.Sites[1]
	require.Equal(t, "schule", schule.ID)
	med := func(s SiteReport, m Medium) MediumReport {
		for _, x := range s.Media {
			if x.Medium == m {
				return x
			}
		}
		t.Fatalf("%s has no %s", s.ID, m)
		return MediumReport{}
	}
	const eps = 1e-6
	e, h, w := med(schule, Electricity), med(schule, Heat), med(schule, Water)

	// Electricity: 365 d * 100 kWh = 36500 kWh although the register fell
	// from 56040 to 0 at the replacement; the interval over the change is
	// (56040 - 56015) + (0 - 0) = 25 kWh. 2024: 366 * 90 = 32940 kWh, so
	// +10.8075 %. Night and weekend: 100/24 kWh/h.
	assert.InDelta(t, 36500, e.Consumption, eps)
	assert.False(t, e.Estimated)
	require.NotNil(t, e.LastYear.ChangePct)
	assert.InDelta(t, 32940, e.LastYear.Consumption, eps)
	assert.InDelta(t, (36500.0-32940)/32940*100, *e.LastYear.ChangePct, eps)
	assert.InDelta(t, 32940, e.Previous.Consumption, eps)
	assert.InDelta(t, 100.0/24, e.NightBase, eps)
	assert.InDelta(t, 100.0/24, e.WeekendBase, eps)
	require.Len(t, e.Meters[0].Events, 1)
	assert.Equal(t, EventReplacement, e.Meters[0].Events[0].Kind)
	assert.InDelta(t, 25, e.Meters[0].Events[0].Consumption, eps)
	for _, b := range e.Buckets {
		days := b.End.Sub(b.Start).Hours() / 24
		assert.InDelta(t, 100*days, b.Consumption, eps, b.Start)
	}

	// Heat: sum of days * daily rate per month
	// 31*1000 + 28*900 + 31*700 + 30*400 + 31*150 + 92*100 + 30*200
	// + 31*500 + 30*800 + 31*950 = 178700 kWh, exact despite the rollover
	// on 11 January (999000 -> 0 counts 1000) and both gaps.
	assert.InDelta(t, 178700, h.Consumption, eps)
	assert.False(t, h.Estimated, "the year's boundaries are readings")
	// The April/May boundary lies in the gap 28 Apr .. 3 May: the reading
	// rises 3*400 + 2*150 = 1500 over 5 days. The site has a temperature
	// sensor, so the gap is split by degree days (G20/15 per day: April
	// 20-10 = 10, May 20-14 = 6) for the weather-dependent 90 % and by time
	// for the hot-water 10 %: degree-hours 3*24*10 = 720 before 1 May of
	// 720 + 2*24*6 = 1008, so April gets 0.9*720/1008 + 0.1*3/5 =
	// 0.702857142857 of 1500 = 1054.2857142857:
	// April = 27*400 + 1054.2857 = 11854.2857142857,
	// May = 445.7142857143 + 29*150 = 4795.7142857143, both estimated.
	// March holds its gap inside: 31*700 = 21700, measured.
	share := 0.9*720/1008 + 0.1*3.0/5
	assert.InDelta(t, 31000, h.Buckets[0].Consumption, eps)
	assert.InDelta(t, 21700, h.Buckets[2].Consumption, eps)
	assert.False(t, h.Buckets[2].Estimated)
	assert.InDelta(t, 27*400+share*1500, h.Buckets[3].Consumption, eps)
	assert.InDelta(t, 11854.2857142857, h.Buckets[3].Consumption, 1e-6)
	assert.True(t, h.Buckets[3].Estimated)
	assert.InDelta(t, (1-share)*1500+29*150, h.Buckets[4].Consumption, eps)
	assert.True(t, h.Buckets[4].Estimated)
	assert.False(t, h.Previous.Available)
	assert.Nil(t, h.Previous.ChangePct)
	kinds := map[EventKind]int{}
	for _, ev := range h.Meters[0].Events {
		kinds[ev.Kind]++
	}
	assert.Equal(t, map[EventKind]int{EventRollover: 1, EventGap: 2}, kinds)

	// Water: 365 * 4 m3 + June leak 30 * 24 * 0.02 = 1460 + 14.4 = 1474.4
	// m3. Night (0-4 h) flow is zero except June: 0.02 m3/h = 20 l/h >
	// 10 l/h, so June alone is a leak month.
	assert.InDelta(t, 1474.4, w.Consumption, eps)
	require.Len(t, w.NightMonths, 12)
	for _, n := range w.NightMonths {
		assert.Equal(t, n.Month == "2025-06", n.Leak, n.Month)
	}
	assert.InDelta(t, 0.02, w.NightMonths[5].Rate, eps)
	assert.InDelta(t, 30*4*0.02/(365*4), w.NightBase, eps)

	// Degree days G20/15 from the sensor: 31*20 + 28*18 + 31*14 + 30*10 +
	// 31*6 + 0 (June-August >= 15 degC) + 30*6 + 31*10 + 30*15 + 31*19
	// = 620+504+434+300+186+180+310+450+589 = 3573 Kd. Reference 3500.
	// Normalised = 178700*0.9*3500/3573 + 178700*0.1 = 175414.0806...
	hs := schule.Heating
	assert.True(t, hs.Normalised)
	assert.Equal(t, "sensor", hs.DegreeDays.Source)
	assert.InDelta(t, 3573, hs.DegreeDays.Value, eps)
	assert.InDelta(t, 3500, hs.DegreeDays.Reference, eps)
	normS := 178700*0.9*3500/3573 + 178700*0.1
	assert.InDelta(t, normS, hs.NormalisedKWh, eps)
	assert.InDelta(t, 175414.080604534, normS, 1e-6)

	// Kennwerte (BGF 1000, NRF 800, one year): heating 175.414, electricity
	// 36.5 / 45.625, water 1.4744 / 1.843.
	k := schule.Kennwerte
	assert.InDelta(t, normS/1000, *k.HeatingBGF, eps)
	assert.InDelta(t, normS/800, *k.HeatingNRF, eps)
	assert.InDelta(t, 36.5, *k.ElectricityBGF, eps)
	assert.InDelta(t, 45.625, *k.ElectricityNRF, eps)
	assert.InDelta(t, 1.4744, *k.WaterBGF, eps)

	// CO2: 36500*0.4 + 178700*0.25 + 1474.4*0.3 = 14600 + 44675 + 442.32.
	assert.InDelta(t, 59717.32, schule.CO2Kg, eps)
	// Costs: 36500*0.30 + 120 + 178700*0.12 + 1474.4*5 = 39886.
	assert.InDelta(t, 39886, schule.CostEUR, eps)

	// Rathaus: gas 365*100 = 36500 m3 * 0.95 * 11 = 381425 kWh (DVGW G
	// 685); pulse counter 73000 pulses * 0.5 = 36500 kWh. Degree days from
	// the configured months: 3600 Kd, normalised 381425*3500/3600.
	g, re := med(rathaus, Gas), med(rathaus, Electricity)
	assert.InDelta(t, 36500, g.Consumption, eps)
	assert.InDelta(t, 381425, g.EnergyKWh, eps)
	assert.InDelta(t, 36500, re.Consumption, eps)
	hr := rathaus.Heating
	assert.Equal(t, "configured", hr.DegreeDays.Source)
	assert.InDelta(t, 3600, hr.DegreeDays.Value, eps)
	normR := 381425 * 3500.0 / 3600
	assert.InDelta(t, normR, hr.NormalisedKWh, eps)
	assert.InDelta(t, normR/2000, *rathaus.Kennwerte.HeatingBGF, eps)
	assert.Nil(t, rathaus.Kennwerte.HeatingNRF, "no NRF configured")
	// CO2: 36500*0.4 + 381425*0.182 (default gas factor of 2024).
	assert.InDelta(t, 14600+381425*0.182, rathaus.CO2Kg, eps)
	// Costs: 36500*0.30 + 120 + 381425*0.10 + 200 = 49412.5.
	assert.InDelta(t, 49412.5, rathaus.CostEUR, eps)

	// Ranking: rathaus 185.415 before schule 175.414 kWh/(m2 a).
	require.Len(t, rep.Ranking, 2)
	assert.Equal(t, "rathaus", rep.Ranking[0].Site)
	assert.Equal(t, "schule", rep.Ranking[1].Site)

	// Totals over both sites. Only the school has 2024 electricity, so
	// the total's change compares the school alone: +10.8 %, not +121 %.
	for _, tot := range rep.Totals {
		if tot.Medium == Electricity {
			assert.InDelta(t, 73000, tot.Consumption, eps)
			require.NotNil(t, tot.LastYear.ChangePct)
			assert.InDelta(t, (36500.0-32940)/32940*100, *tot.LastYear.ChangePct, eps)
		}
	}
	assert.InDelta(t, 59717.32+14600+381425*0.182, rep.CO2Kg, eps)
	assert.InDelta(t, 36500+178700+381425+36500, rep.EnergyKWh, eps)
	codes := map[NoteCode]bool{}
	for _, n := range rep.Notes {
		codes[n.Code] = true
	}
	for _, c := range []NoteCode{NoteReplacement, NoteRollover, NoteGap, NoteLeak, NoteFactorYear} {
		assert.True(t, codes[c], c)
	}

	checkGolden(t, "year2025/report.json", mustJSON(t, rep))
}

// mustJSON renders v with numbers rounded to 9 significant digits, so the
// golden file does not depend on the last bits of float arithmetic (arm64
// fuses multiply-add, amd64 does not).
func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var x any
	require.NoError(t, json.Unmarshal(b, &x))
	b, err = json.MarshalIndent(roundNumbers(x), "", "  ")
	require.NoError(t, err)
	return append(b, '\n')
}

func roundNumbers(x any) any {
	switch v := x.(type) {
	case float64:
		f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 9, 64), 64)
		return f
	case []any:
		for i := range v {
			v[i] = roundNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = roundNumbers(v[k])
		}
	}
	return x
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, got, 0o644))
		return
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test -update to create it")
	if !bytes.Equal(want, got) {
		assert.Equal(t, string(want), string(got), "golden %s differs; run go test -update after checking", p)
	}
}
