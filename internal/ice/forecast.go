package ice

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// ForecastOptions configure the trend forecast. Zero fields take the
// defaults named in their comments.
//
// SWE 4.14 fits the last 10 one-minute values and needs 7 of them. Our
// stations send every 5-15 min, so the window is a duration: 60 min holds
// 4-12 readings, and 4 valid readings spanning >= 20 min still tolerate one
// lost uplink at a 15-min interval.
type ForecastOptions struct {
	// Window is how far back readings enter the fit (default 60 min).
	Window time.Duration `json:"window,omitempty"`
	// MinSamples is the least number of valid readings in the window
	// (default 4, at least 2).
	MinSamples int `json:"min_samples,omitempty"`
	// MinSpan is the least time between the oldest and newest reading used;
	// a line through readings a minute apart extrapolates noise (default 20 min).
	MinSpan time.Duration `json:"min_span,omitempty"`
	// MaxAge is how old the newest reading may be at now (default 30 min).
	MaxAge time.Duration `json:"max_age,omitempty"`
	// Horizons are the forecast steps (default 5, 15, 30, 60, 90 min).
	Horizons []time.Duration `json:"horizons,omitempty"`
	// Lead is how far beyond each horizon the tree's "predicted" FBT/TPT
	// are taken (default 60 min).
	Lead time.Duration `json:"lead,omitempty"`
}

// DefaultHorizons are the SWE 4.14 forecast steps.
var DefaultHorizons = []time.Duration{5 * time.Minute, 15 * time.Minute, 30 * time.Minute, 60 * time.Minute, 90 * time.Minute}

// ErrOptions reports invalid ForecastOptions or TrackerConfig.
var ErrOptions = errors.New("invalid options")

func (o ForecastOptions) withDefaults() (ForecastOptions, error) {
	if o.Window == 0 {
		o.Window = 60 * time.Minute
	}
	if o.MinSamples == 0 {
		o.MinSamples = 4
	}
	if o.MinSpan == 0 {
		o.MinSpan = 20 * time.Minute
	}
	if o.MaxAge == 0 {
		o.MaxAge = 30 * time.Minute
	}
	if len(o.Horizons) == 0 {
		o.Horizons = DefaultHorizons
	}
	if o.Lead == 0 {
		o.Lead = defaultLead
	}
	var errs []error
	if o.Window < 0 || o.MinSpan < 0 || o.MaxAge < 0 || o.Lead < 0 {
		errs = append(errs, fmt.Errorf("negative duration: %w", ErrOptions))
	}
	if o.MinSamples < 2 {
		errs = append(errs, fmt.Errorf("min_samples %d < 2: %w", o.MinSamples, ErrOptions))
	}
	if o.MinSpan > o.Window {
		errs = append(errs, fmt.Errorf("min_span %v > window %v: %w", o.MinSpan, o.Window, ErrOptions))
	}
	for _, h := range o.Horizons {
		if h <= 0 || h > 24*time.Hour {
			errs = append(errs, fmt.Errorf("horizon %v not in (0, 24h]: %w", h, ErrOptions))
		}
	}
	return o, errors.Join(errs...)
}

// Line is a least-squares trend line of one quantity.
type Line struct {
	// Value is the fitted value at the reference time (now), degC.
	Value float64 `json:"value"`
	// SlopePerHour is the fitted change in K per hour.
	SlopePerHour float64 `json:"slope_per_hour"`
	// N is the number of readings in the fit.
	N int `json:"n"`
}

// At returns the line's value d after the reference time, clamped to
// MinTemperature..MaxTemperature so that a steep trend far out cannot
// produce absurd or infinite values.
func (l Line) At(d time.Duration) float64 {
	v := l.Value + l.SlopePerHour*d.Hours()
	return math.Max(MinTemperature, math.Min(MaxTemperature, v))
}

type point struct{ x, y float64 } // x: minutes relative to now

// fitLine returns the least-squares line through pts:
// slope = sum((x-mx)(y-my)) / sum((x-mx)^2), value(0) = my - slope*mx.
func fitLine(pts []point) (Line, bool) {
	n := float64(len(pts))
	if len(pts) < 2 {
		return Line{}, false
	}
	var mx, my float64
	for _, p := range pts {
		mx += p.x
		my += p.y
	}
	mx /= n
	my /= n
	var sxy, sxx float64
	for _, p := range pts {
		dx := p.x - mx
		sxy += dx * (p.y - my)
		sxx += dx * dx
	}
	if sxx <= 0 || !finite(sxx) || !finite(sxy) {
		return Line{}, false
	}
	slope := sxy / sxx // K per minute
	l := Line{Value: my - slope*mx, SlopePerHour: slope * 60, N: len(pts)}
	if !finite(l.Value) || !finite(l.SlopePerHour) {
		return Line{}, false
	}
	return l, true
}

// HorizonAssessment is the tree's result for one forecast horizon.
type HorizonAssessment struct {
	Horizon time.Duration `json:"horizon"`
	At      time.Time     `json:"at"`
	// FBT, TPT and LT are the extrapolated values at At; nil when that
	// quantity had no usable trend.
	FBT *float64 `json:"fbt,omitempty"`
	TPT *float64 `json:"tpt,omitempty"`
	LT  *float64 `json:"lt,omitempty"`
	// FBTTrend is the road surface temperature trend in K/h (same for every
	// horizon of one forecast); nil when no trend.
	FBTTrend   *float64   `json:"fbt_trend,omitempty"`
	Assessment Assessment `json:"assessment"`
}

// Forecast fits least-squares lines through the readings of the last
// opts.Window before now (FBT, dew point, air temperature; each from the
// readings where it is valid) and runs the decision tree at now+h for each
// horizon h. The tree's current values are the lines at h, its predicted
// values the lines at h+opts.Lead; surface state and freezing temperature
// are the latest known (a state derived from the water film is re-derived
// with the extrapolated FBT).
//
// When FBT has fewer than opts.MinSamples valid readings in the window, they
// span less than opts.MinSpan, or the newest is older than opts.MaxAge, every
// horizon is TrendNotPossible. Readings after now are ignored. The error is
// only for invalid options.
func Forecast(history []Sample, now time.Time, opts ForecastOptions) ([]HorizonAssessment, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("forecast: %w", err)
	}
	from := now.Add(-o.Window)
	var fbtPts, tdPts, ltPts []point
	var last resolved // latest reading's state and freezing temp
	var lastStateAt, lastTgAt, newest time.Time
	var lastFilm *float64
	for _, s := range history {
		if s.Time.Before(from) || s.Time.After(now) {
			continue
		}
		rs := resolve(s)
		x := s.Time.Sub(now).Minutes()
		if rs.hasFBT {
			fbtPts = append(fbtPts, point{x, rs.fbt})
			if s.Time.After(newest) {
				newest = s.Time
			}
		}
		if rs.hasTd {
			tdPts = append(tdPts, point{x, rs.td})
		}
		if rs.hasLT {
			ltPts = append(ltPts, point{x, rs.lt})
		}
		if rs.hasState && !s.Time.Before(lastStateAt) {
			lastStateAt = s.Time
			last.state, last.hasState, last.derived = rs.state, true, rs.derived
			lastFilm = s.WaterFilm
		}
		if rs.hasTg && !s.Time.Before(lastTgAt) {
			lastTgAt = s.Time
			last.tg, last.hasTg = rs.tg, true
		}
	}

	out := make([]HorizonAssessment, len(o.Horizons))
	for i, h := range o.Horizons {
		out[i] = HorizonAssessment{Horizon: h, At: now.Add(h)}
	}
	fbtLine, ok := fitLine(fbtPts)
	if !ok || len(fbtPts) < o.MinSamples || now.Sub(newest) > o.MaxAge || span(fbtPts) < o.MinSpan.Minutes() {
		for i := range out {
			out[i].Assessment = Assessment{Condition: TrendNotPossible, Missing: []string{"fbt_trend"}}
		}
		return out, nil
	}
	tdLine, hasTd := fitTrend(tdPts, o)
	ltLine, hasLT := fitTrend(ltPts, o)
	slope := fbtLine.SlopePerHour

	for i, h := range o.Horizons {
		ha := &out[i]
		rs := last
		rs.fbt, rs.hasFBT = fbtLine.At(h), true
		ha.FBT, ha.FBTTrend = new(rs.fbt), new(slope)
		if hasTd {
			rs.td, rs.hasTd = tdLine.At(h), true
			ha.TPT = new(rs.td)
			if tf, err := FrostPointFromDewPoint(rs.td); err == nil {
				rs.tf, rs.hasTf = tf, true
			}
		}
		if hasLT {
			rs.lt, rs.hasLT = ltLine.At(h), true
			ha.LT = new(rs.lt)
		}
		if rs.derived {
			var tg *float64
			if rs.hasTg {
				tg = new(rs.tg)
			}
			rs.state, rs.hasState = DeriveSurfaceState(lastFilm, new(rs.fbt), tg)
		}
		a := rs.assessment()
		predTd := 0.0
		if hasTd {
			predTd = tdLine.At(h + o.Lead)
		}
		a.Condition = rs.tree(fbtLine.At(h+o.Lead), true, predTd, hasTd, &a)
		ha.Assessment = a
	}
	return out, nil
}

// fitTrend fits a secondary quantity under the same quality rules as FBT.
func fitTrend(pts []point, o ForecastOptions) (Line, bool) {
	if len(pts) < o.MinSamples || span(pts) < o.MinSpan.Minutes() {
		return Line{}, false
	}
	return fitLine(pts)
}

func span(pts []point) float64 {
	if len(pts) == 0 {
		return 0
	}
	lo, hi := pts[0].x, pts[0].x
	for _, p := range pts[1:] {
		lo, hi = math.Min(lo, p.x), math.Max(hi, p.x)
	}
	return hi - lo
}

// FitFBT returns the least-squares line of the road surface temperature
// under the same rules as Forecast (for display and tests); ok is false when
// Forecast would say TrendNotPossible.
func FitFBT(history []Sample, now time.Time, opts ForecastOptions) (l Line, ok bool, err error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Line{}, false, fmt.Errorf("fit fbt: %w", err)
	}
	var pts []point
	var newest time.Time
	for _, s := range history {
		if s.Time.Before(now.Add(-o.Window)) || s.Time.After(now) {
			continue
		}
		if v, ok := optTemp(s.FBT); ok {
			pts = append(pts, point{s.Time.Sub(now).Minutes(), v})
			if s.Time.After(newest) {
				newest = s.Time
			}
		}
	}
	if len(pts) < o.MinSamples || now.Sub(newest) > o.MaxAge || span(pts) < o.MinSpan.Minutes() {
		return Line{}, false, nil
	}
	l, ok = fitLine(pts)
	return l, ok, nil
}

// WithForecast returns r with PredictedFBT/PredictedTPT set from the forecast
// horizon nearest to lead (use ForecastOptions.Lead, default 60 min), so that
// Assess sees the same prediction as the horizons did. Horizons without a
// trend leave r unchanged.
func (r Reading) WithForecast(fc []HorizonAssessment, lead time.Duration) Reading {
	best := -1
	for i, h := range fc {
		if h.FBT == nil {
			continue
		}
		if best < 0 || absDur(h.Horizon-lead) < absDur(fc[best].Horizon-lead) {
			best = i
		}
	}
	if best >= 0 {
		r.PredictedFBT = fc[best].FBT
		r.PredictedTPT = fc[best].TPT
	}
	return r
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// sortedHorizons returns fc sorted by horizon without changing fc.
func sortedHorizons(fc []HorizonAssessment) []HorizonAssessment {
	s := append([]HorizonAssessment(nil), fc...)
	sort.Slice(s, func(i, j int) bool { return s[i].Horizon < s[j].Horizon })
	return s
}

// defaultLead is ForecastOptions.Lead's default; the Tracker uses it to pick
// the predicted values when the caller did not set them.
const defaultLead = 60 * time.Minute
