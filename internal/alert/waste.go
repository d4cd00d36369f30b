package alert

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/loraedge/loraedge/internal/calendar"
	"github.com/loraedge/loraedge/internal/measurement"
)

// KindEnergyWaste is consumption outside use times above the building's
// own base: heating on days without use, night electricity rising.
const KindEnergyWaste = "energy_waste"

func init() {
	register(KindEnergyWaste, kindSpec{level: LevelWarnung, build: newWasteEval, check: func(p string, r RuleConfig) []error {
		var errs []error
		if r.Share < 0 || r.Share >= 2 {
			errs = append(errs, fmt.Errorf("%s.share: %g is not in (0, 2)", p, r.Share))
		}
		if r.Factor != 0 && r.Factor <= 1 {
			errs = append(errs, fmt.Errorf("%s.factor: %g must be above 1", p, r.Factor))
		}
		if r.MinKW < 0 {
			errs = append(errs, fmt.Errorf("%s.min_kw: must not be negative", p))
		}
		if r.HotWaterPerDay < 0 || math.IsNaN(r.HotWaterPerDay) {
			errs = append(errs, fmt.Errorf("%s.hot_water_per_day: must not be negative", p))
		}
		if r.NightFrom < 0 || r.NightFrom > 23 || r.NightTo < 0 || r.NightTo > 24 || (r.NightTo != 0 && r.NightTo <= r.NightFrom) {
			errs = append(errs, fmt.Errorf("%s: night_from/night_to must be hours with from < to", p))
		}
		return errs
	}})
}

// Defaults of energy_waste.
const (
	wasteShare    = 0.8 // heating on a day without use: share of the recent use days
	wasteFactor   = 1.3 // night base load: factor over the median of past nights
	wasteMinKW    = 0.5 // night base load: least rise that counts
	wasteUseDays  = 5   // use days the heating base averages
	wasteNights   = 14  // nights the night base takes the median of
	wasteMinHist  = 3   // use days (nights: 7) needed before judging
	wasteGapLimit = 6 * time.Hour
	// wasteBaseTemp is the heating limit of the degree days the heating
	// check normalises with (G20/15's 15 degC), wasteMinHDD the degree
	// days a day without use needs to be judged: in mild weather the
	// setback saves too little to tell.
	wasteBaseTemp = 15.0
	wasteMinHDD   = 7.0
)

func newWasteEval(x env, r *rule) (evaluator, error) {
	nf, nt := r.cfg.NightFrom, r.cfg.NightTo
	if nf == 0 && nt == 0 {
		nf, nt = 0, 4
	}
	return &wasteEval{env: x, r: r, share: cmpF(r.cfg.Share, wasteShare), factor: cmpF(r.cfg.Factor, wasteFactor),
		minKW: cmpF(r.cfg.MinKW, wasteMinKW), hotWater: r.cfg.HotWaterPerDay, nightFrom: nf, nightTo: nt, state: map[string]*wasteState{}, temps: map[string]*siteTemps{}}, nil
}

// wasteEval judges each finished local day of a meter.
//
// Heating (heat_energy, gas_volume): a day without use in the building's
// calendar (weekend, public holiday, closure, a school's holidays) whose
// consumption exceeds Share (0.8) times what the last five use days drew
// per degree day (G15: 15 degC minus the daily mean of the site's outdoor
// sensor, Options.OutdoorSensors) at that day's degree days means the
// heating ran without its setback; the next use day, or a day without use
// below the share, resolves it. Days below 5 Kd, and sites without an
// outdoor sensor (it must be in the rule's selection), are not judged.
// In summer the heating is also held against its hot-water base
// (waste_summer.go).
//
// Electricity (energy_active_import): the mean power of the night window
// (NightFrom-NightTo, default 0-4 h) above Factor (1.3) times the median
// of the last 14 normal nights and at least MinKW (0.5 kW) above it; a
// night back below resolves it. Nights that raise the alert do not enter
// the history, so a lasting rise stays visible until acknowledged.
type wasteEval struct {
	env                env
	r                  *rule
	share, factor      float64
	minKW              float64
	hotWater           float64 // configured hot-water base per day, 0: learned
	nightFrom, nightTo int
	state              map[string]*wasteState
	temps              map[string]*siteTemps
	chg                bool
}

// wasteState is one meter's open day and its history.
type wasteState struct {
	Q       measurement.Quantity `json:"q"`
	LastT   time.Time            `json:"last_t"`
	LastV   float64              `json:"last_v"`
	Day     time.Time            `json:"day"`      // local start of the open day
	DayE    float64              `json:"day_e"`    // consumption so far
	DayCov  float64              `json:"day_cov"`  // hours covered
	NightE  float64              `json:"night_e"`  // consumption in the night window
	NightCv float64              `json:"night_cv"` // hours of it covered
	UseDays []useDay             `json:"use_days"`
	Nights  []float64            `json:"nights"` // kW
	// SummerUse and SummerFree are past summer days' consumption, with
	// and without use (waste_summer.go).
	SummerUse  []float64 `json:"summer_use,omitempty"`
	SummerFree []float64 `json:"summer_free,omitempty"`
}

// useDay is a use day's consumption and heating degree days.
type useDay struct {
	E   float64 `json:"e"`
	HDD float64 `json:"hdd"`
}

// siteTemps holds a sensor's daily means (last week) and the open
// day's sum.
type siteTemps struct {
	Day   time.Time          `json:"day"`
	Sum   float64            `json:"sum"`
	N     int                `json:"n"`
	Means map[string]float64 `json:"means"` // 2006-01-02 -> degC
}

// wasteSaved is what a waste rule persists.
type wasteSaved struct {
	Meters map[string]*wasteState `json:"meters"`
	Temps  map[string]*siteTemps  `json:"temps"` // by sensor DevEUI
}

func (w *wasteEval) observe(d devInfo, ms []measurement.Measurement) []condition {
	var out []condition
	for _, m := range ms {
		switch m.Quantity {
		case measurement.HeatEnergy, measurement.GasVolume, measurement.EnergyActiveImport:
		case measurement.AirTemperature:
			w.addTemp(d, m)
			continue
		default:
			continue
		}
		key := d.EUI + ":" + string(m.Quantity)
		st := w.state[key]
		if st == nil || rewound(st.LastT, m.Time) {
			st = &wasteState{Q: m.Quantity}
			w.state[key] = st
		}
		if !st.LastT.IsZero() && !m.Time.After(st.LastT) {
			continue
		}
		w.chg = true
		out = append(out, w.step(d, st, m)...)
	}
	return out
}

func (w *wasteEval) dayOf(t time.Time) time.Time {
	l := t.In(w.env.location())
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, l.Location())
}

// step spreads the interval since the last reading evenly over the days
// (and night windows) it covers and judges the days it closes.
func (w *wasteEval) step(d devInfo, st *wasteState, m measurement.Measurement) []condition {
	var out []condition
	prevT, prevV := st.LastT, st.LastV
	st.LastT, st.LastV = m.Time, m.Value
	if st.Day.IsZero() {
		st.Day = w.dayOf(m.Time)
	}
	spread := !prevT.IsZero() && m.Value >= prevV && m.Time.Sub(prevT) <= wasteGapLimit
	a := prevT
	if !spread {
		a = m.Time
	}
	rate := 0.0
	if spread {
		rate = (m.Value - prevV) / m.Time.Sub(prevT).Hours()
	}
	for {
		next := st.Day.AddDate(0, 0, 1)
		b := m.Time
		if next.Before(b) {
			b = next
		}
		if a.Before(b) {
			w.add(st, a, b, rate)
		}
		if m.Time.Before(next) {
			return out
		}
		out = append(out, w.finishDay(d, st)...)
		st.Day, st.DayE, st.DayCov, st.NightE, st.NightCv = next, 0, 0, 0, 0
		if m.Time.Sub(next) > 48*time.Hour {
			st.Day = w.dayOf(m.Time) // a long outage: skip ahead
		}
		if st.Day.After(a) {
			a = st.Day
		}
	}
}

// add books [a, b) at rate (per hour) into the open day and its night.
func (w *wasteEval) add(st *wasteState, a, b time.Time, rate float64) {
	h := b.Sub(a).Hours()
	st.DayE += rate * h
	st.DayCov += h
	nf := st.Day.Add(time.Duration(w.nightFrom) * time.Hour)
	nt := st.Day.Add(time.Duration(w.nightTo) * time.Hour)
	x, y := a, b
	if nf.After(x) {
		x = nf
	}
	if nt.Before(y) {
		y = nt
	}
	if x.Before(y) {
		st.NightE += rate * y.Sub(x).Hours()
		st.NightCv += y.Sub(x).Hours()
	}
}

// finishDay judges the closed day of st.
func (w *wasteEval) finishDay(d devInfo, st *wasteState) []condition {
	if st.Q == measurement.EnergyActiveImport {
		return w.judgeNight(d, st)
	}
	if d.Site == nil || st.DayCov < 20 {
		return nil // no calendar without a site; a day mostly missing is no evidence
	}
	date := calendar.NewDate(st.Day.Year(), st.Day.Month(), st.Day.Day())
	day := w.env.calendar().Day(d.Site.ID, date)
	tm, ok := w.dayTemp(d.Site.ID, date)
	summer := w.judgeSummer(d, st, date, day.UseHours > 0, tm, ok)
	if !ok {
		return summer // no outdoor temperature: consumption cannot be compared
	}
	hdd := math.Max(0, wasteBaseTemp-tm)
	if day.UseHours > 0 {
		st.UseDays = append(st.UseDays, useDay{E: st.DayE, HDD: hdd})
		if len(st.UseDays) > wasteUseDays {
			st.UseDays = st.UseDays[len(st.UseDays)-wasteUseDays:]
		}
		return append(summer, w.cond(d, st, "heating_without_use", false, 0, nil))
	}
	var sumE, sumH float64
	for _, u := range st.UseDays {
		sumE += u.E
		sumH += u.HDD
	}
	if len(st.UseDays) < wasteMinHist || hdd < wasteMinHDD || sumH < 3*wasteMinHDD || sumE <= 0 {
		return summer
	}
	// What a use day would have drawn in this day's weather.
	expected := sumE / sumH * hdd
	ratio := st.DayE / expected
	info := map[string]string{"day": date.String(), "day_type": string(day.Type), "day_name": day.Name}
	return append(summer, w.cond(d, st, "heating_without_use", ratio > w.share, ratio, map[string]float64{
		"day_consumption": st.DayE, "use_day_consumption": expected, "ratio": ratio, "share": w.share,
		"outdoor_c": tm}, info))
}

// addTemp books the air temperature of any device into its day; only
// the sites' outdoor sensors are ever asked for.
func (w *wasteEval) addTemp(d devInfo, m measurement.Measurement) {
	if math.IsNaN(m.Value) {
		return
	}
	key := strings.ToLower(d.EUI)
	ts := w.temps[key]
	if ts == nil {
		ts = &siteTemps{Means: map[string]float64{}}
		w.temps[key] = ts
	}
	day := w.dayOf(m.Time)
	if !day.Equal(ts.Day) {
		if ts.N >= 12 { // a day with readings in at least half of it (2-hourly)
			ts.Means[ts.Day.Format(time.DateOnly)] = ts.Sum / float64(ts.N)
		}
		for k := range ts.Means {
			if kd, err := time.ParseInLocation(time.DateOnly, k, day.Location()); err != nil || day.Sub(kd) > 7*24*time.Hour {
				delete(ts.Means, k)
			}
		}
		ts.Day, ts.Sum, ts.N = day, 0, 0
	}
	ts.Sum += m.Value
	ts.N++
	w.chg = true
}

// dayTemp is the outdoor daily mean of site on date: a finished day, or
// the open one when it has enough readings (the meter may close the day
// before the sensor does).
func (w *wasteEval) dayTemp(site string, date calendar.Date) (float64, bool) {
	ts := w.temps[w.env.outdoorSensor(site)]
	if ts == nil {
		return 0, false
	}
	if v, ok := ts.Means[date.String()]; ok {
		return v, true
	}
	if calendar.DateOf(ts.Day) == date && ts.N >= 12 {
		return ts.Sum / float64(ts.N), true
	}
	return 0, false
}

// judgeNight compares the closed day's night window with past nights.
func (w *wasteEval) judgeNight(d devInfo, st *wasteState) []condition {
	span := float64(w.nightTo - w.nightFrom)
	if st.NightCv < 0.8*span {
		return nil
	}
	kw := st.NightE / st.NightCv
	if len(st.Nights) < 7 {
		st.Nights = append(st.Nights, kw)
		return nil
	}
	sorted := slices.Clone(st.Nights)
	slices.Sort(sorted)
	med := sorted[len(sorted)/2]
	active := kw > w.factor*med && kw-med >= w.minKW
	if !active {
		st.Nights = append(st.Nights, kw)
		if len(st.Nights) > wasteNights {
			st.Nights = st.Nights[len(st.Nights)-wasteNights:]
		}
	}
	date := calendar.NewDate(st.Day.Year(), st.Day.Month(), st.Day.Day())
	return []condition{w.cond(d, st, "night_base_load", active, kw, map[string]float64{
		"night_kw": kw, "median_kw": med, "factor": w.factor}, map[string]string{"day": date.String(),
		"night": fmt.Sprintf("%02d-%02d", w.nightFrom, w.nightTo)})}
}

func (w *wasteEval) cond(d devInfo, st *wasteState, check string, active bool, v float64, vals map[string]float64, info ...map[string]string) condition {
	c := condition{Subject: d.EUI + ":" + check, Labels: w.env.labels(w.r, &d, ""), At: st.Day.AddDate(0, 0, 1),
		Active: active, Level: w.r.level, Value: v, Values: vals, Info: map[string]string{"check": check}}
	c.Labels["quantity"] = string(st.Q)
	for _, in := range info {
		for k, x := range in {
			c.Info[k] = x
		}
	}
	return c
}

func (w *wasteEval) tick(time.Time) []condition { return nil }

func (w *wasteEval) save() ([]byte, error) {
	w.chg = false
	return json.Marshal(wasteSaved{Meters: w.state, Temps: w.temps})
}

func (w *wasteEval) load(b []byte) error {
	var s wasteSaved
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	w.state, w.temps = s.Meters, s.Temps
	if w.state == nil {
		w.state = map[string]*wasteState{}
	}
	if w.temps == nil {
		w.temps = map[string]*siteTemps{}
	}
	return nil
}
func (w *wasteEval) dirty() bool { return w.chg }
