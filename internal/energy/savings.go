package energy

import (
	"fmt"
	"math"

	"github.com/loraedge/loraedge/internal/calendar"
)

// SavingsConfidence is the confidence level of the savings uncertainty.
const SavingsConfidence = 0.90

// ashraeFSUFactor is the empirical factor of the fractional savings
// uncertainty in ASHRAE Guideline 14-2014 Annex B (Reddy and Claridge
// 2000) that approximates the prediction variance of a regression model.
const ashraeFSUFactor = 1.26

// SavingsDay is one day of the reporting period.
type SavingsDay struct {
	Date calendar.Date    `json:"date"`
	Type calendar.DayType `json:"type"`
	// Predicted is the baseline's consumption for the day's weather and
	// calendar; Lower and Upper bound the 90 % prediction band of a
	// single day (Predicted -/+ t RMSE).
	Predicted float64 `json:"predicted"`
	Lower     float64 `json:"lower"`
	Upper     float64 `json:"upper"`
	// Measured is nil on days without a measured value; such days add
	// nothing to the cumulative figures.
	Measured *float64 `json:"measured"`
	// Avoided = Predicted - Measured.
	Avoided float64 `json:"avoided"`
	// Cumulative is the avoided consumption since the measure and
	// Uncertainty its half-width at 90 % (ASHRAE 14 formula).
	Cumulative  float64 `json:"cumulative"`
	Uncertainty float64 `json:"uncertainty"`
}

// Savings is the avoided consumption after a measure (IPMVP option C):
// baseline prediction for the actual weather and calendar minus the
// measured consumption.
type Savings struct {
	Baseline *Baseline `json:"baseline"`
	// Start is the measure's first day; BaselineFrom..BaselineTo the
	// days the baseline was fitted on.
	Start        calendar.Date `json:"start"`
	BaselineFrom calendar.Date `json:"baseline_from"`
	BaselineTo   calendar.Date `json:"baseline_to"`
	Days         []SavingsDay  `json:"days"`
	// ReportingDays counts the measured days after the measure.
	ReportingDays int `json:"reporting_days"`
	// BaselineKWh and MeasuredKWh sum the measured reporting days (unit
	// of the medium: kWh, m3 for water).
	BaselineKWh float64 `json:"baseline_kwh"`
	MeasuredKWh float64 `json:"measured_kwh"`
	// AvoidedKWh = BaselineKWh - MeasuredKWh; UncertaintyKWh is its
	// half-width at 90 %; Fraction = AvoidedKWh / BaselineKWh; FSU =
	// UncertaintyKWh / |AvoidedKWh|.
	AvoidedKWh     float64 `json:"avoided_kwh"`
	UncertaintyKWh float64 `json:"uncertainty_kwh"`
	Fraction       float64 `json:"fraction"`
	FSU            float64 `json:"fsu"`
	// SignificantFrom is the first day from which on the cumulative
	// saving (or increase) stays outside its 90 % uncertainty until the
	// last day; nil while it is not significant.
	SignificantFrom *calendar.Date `json:"significant_from"`
}

// ComputeSavings fits the baseline on the up to baselineDays days before
// start and evaluates every later day of obs (sorted by date).
func ComputeSavings(obs []DayObs, start calendar.Date, baselineDays int) (*Savings, error) {
	var base, post []DayObs
	for _, o := range obs {
		switch {
		case !o.Date.Before(start):
			post = append(post, o)
		case start.Sub(o.Date) <= baselineDays:
			base = append(base, o)
		}
	}
	if len(post) == 0 {
		return nil, fmt.Errorf("savings: no days after %s", start)
	}
	b, err := FitBaseline(base, len(post))
	if err != nil {
		return nil, err
	}
	s := &Savings{Baseline: b, Start: start, BaselineFrom: base[0].Date, BaselineTo: base[len(base)-1].Date}
	rmse := b.CVRMSE * b.Mean
	dof := math.Max(1, b.NEff-float64(b.P))
	t := studentTQuantile(1-(1-SavingsConfidence)/2, dof)
	n := float64(b.N)
	// ASHRAE Guideline 14-2014 Annex B: Delta E_save = t 1.26 CV
	// sqrt((n/n') (1 + 2/n) / m) E_base(m), with n' the effective
	// number of baseline days under lag-1 autocorrelation.
	k := t * ashraeFSUFactor * b.CVRMSE * math.Sqrt(n/b.NEff*(1+2/n))
	var sig *calendar.Date
	for _, o := range post {
		if b.d.hasTemp() && math.IsNaN(o.Temp) {
			continue // no prediction without the day's weather
		}
		pred := b.Predict(o)
		d := SavingsDay{Date: o.Date, Type: o.Type, Predicted: pred, Lower: pred - t*rmse, Upper: pred + t*rmse}
		if !math.IsNaN(o.Value) && !math.IsInf(o.Value, 0) {
			v := o.Value
			d.Measured = &v
			d.Avoided = pred - v
			s.ReportingDays++
			s.BaselineKWh += pred
			s.MeasuredKWh += v
		}
		s.AvoidedKWh = s.BaselineKWh - s.MeasuredKWh
		if s.ReportingDays > 0 {
			s.UncertaintyKWh = k * math.Sqrt(1/float64(s.ReportingDays)) * math.Abs(s.BaselineKWh)
		}
		d.Cumulative, d.Uncertainty = s.AvoidedKWh, s.UncertaintyKWh
		switch {
		case s.ReportingDays == 0 || math.Abs(s.AvoidedKWh) <= s.UncertaintyKWh:
			sig = nil
		case sig == nil || (len(s.Days) > 0 && math.Signbit(s.Days[len(s.Days)-1].Cumulative) != math.Signbit(s.AvoidedKWh)):
			date := o.Date
			sig = &date
		}
		s.Days = append(s.Days, d)
	}
	s.SignificantFrom = sig
	if s.BaselineKWh != 0 {
		s.Fraction = s.AvoidedKWh / s.BaselineKWh
	}
	if s.AvoidedKWh != 0 {
		s.FSU = s.UncertaintyKWh / math.Abs(s.AvoidedKWh)
	}
	return s, nil
}

// normalQuantile is the inverse standard normal distribution (Acklam's
// rational approximation, relative error below 1.2e-9).
func normalQuantile(p float64) float64 {
	a := [6]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := [5]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := [6]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	d := [4]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	const low = 0.02425
	switch {
	case p < low:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	case p > 1-low:
		return -normalQuantile(1 - p)
	}
	q := p - 0.5
	r := q * q
	return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
}

// studentTQuantile approximates the quantile of Student's t with dof
// degrees of freedom by the Cornish-Fisher expansion around the normal
// quantile (Abramowitz and Stegun 26.7.5); within 0.2 % for dof >= 5,
// which a baseline of MinBaselineDays days always has.
func studentTQuantile(p, dof float64) float64 {
	z := normalQuantile(p)
	z3, z5, z7, z9 := z*z*z, math.Pow(z, 5), math.Pow(z, 7), math.Pow(z, 9)
	g1 := (z3 + z) / 4
	g2 := (5*z5 + 16*z3 + 3*z) / 96
	g3 := (3*z7 + 19*z5 + 17*z3 - 15*z) / 384
	g4 := (79*z9 + 776*z7 + 1482*z5 - 1920*z3 - 945*z) / 92160
	d2 := dof * dof
	return z + g1/dof + g2/d2 + g3/(d2*dof) + g4/(d2*d2)
}
