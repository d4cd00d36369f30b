package energy

import (
	"errors"
	"fmt"
	"math"

	"github.com/loraedge/loraedge/internal/calendar"
)

// DayObs is one day of a site and medium: the consumption, the outdoor
// daily mean temperature and the calendar's day type.
type DayObs struct {
	Date calendar.Date    `json:"date"`
	Type calendar.DayType `json:"type"`
	// Value is the day's consumption in kWh (m3 for water); NaN when the
	// day has no measured value (gap), then it is left out of fits and
	// savings.
	Value float64 `json:"value"`
	// Temp is the daily mean outdoor temperature in degC; NaN when
	// unknown (the model then drops its degree-day terms).
	Temp float64 `json:"temp"`
}

// The ASHRAE Guideline 14-2014 limits a whole-building baseline model
// must meet before savings are reported from it (section 5.2.2.4, the
// whole-building approach): CV(RMSE) at most 20 % while the savings rest
// on less than 12 months of reporting data, 25 % for 12 to 60 months, 30 %
// beyond; the net mean bias within 0.5 %. They are stated for the model's
// own resolution; a daily model meets them with more scatter per point
// than a monthly one, so they are the stricter reading.
const (
	MaxCVRMSEShort = 0.20
	MaxCVRMSEMid   = 0.25
	MaxCVRMSELong  = 0.30
	MaxNMBE        = 0.005
)

// Baseline is a daily regression model of a site's consumption fitted on a
// baseline period (IPMVP option C, ISO 50006 energy baseline):
//
//	E = b0 + b1 HDD + sum over day types k of (c_k + d_k HDD) [type = k]
//
// with HDD = max(0, Tb - T) and the balance temperature Tb chosen from
// 10..20 degC by least squares (a three-parameter change-point heating
// model per ASHRAE RP-1050), and day types weekend, holiday (public
// holiday or closure) and school holiday against the working day. Terms
// the baseline cannot support (no temperature, a day type with fewer than
// MinTypeDays days) are dropped.
type Baseline struct {
	// BalanceTemp is Tb in degC; 0 without temperature terms.
	BalanceTemp float64 `json:"balance_temp_c"`
	// Terms names the model's columns; Coef are their coefficients.
	Terms []string  `json:"terms"`
	Coef  []float64 `json:"coef"`
	// N is the number of baseline days, P the number of parameters
	// (columns plus the balance temperature when searched).
	N int `json:"n"`
	P int `json:"p"`
	// Mean is the mean daily consumption of the baseline days.
	Mean float64 `json:"mean"`
	// R2 is the coefficient of determination, CVRMSE = sqrt(SSE/(n-p))
	// / mean, NMBE = sum of residuals / ((n-p) mean).
	R2     float64 `json:"r2"`
	CVRMSE float64 `json:"cv_rmse"`
	NMBE   float64 `json:"nmbe"`
	// Rho is the lag-1 autocorrelation of the residuals; NEff = N (1 -
	// Rho) / (1 + Rho) the effective number of independent days.
	Rho  float64 `json:"rho"`
	NEff float64 `json:"n_eff"`
	// MeetsASHRAE14 is set when CVRMSE and NMBE meet the limits for the
	// reporting period's length (see MaxCVRMSEShort).
	MeetsASHRAE14 bool `json:"meets_ashrae14"`
	// CVLimit is the CV(RMSE) limit applied.
	CVLimit float64 `json:"cv_limit"`

	d   design
	sse float64
}

// MinBaselineDays is the fewest measured days a baseline is fitted on;
// MinTypeDays the fewest days a day type needs for its own terms.
const (
	MinBaselineDays = 60
	MinTypeDays     = 5
)

// ErrShortBaseline is returned when the baseline period has too few
// measured days.
var ErrShortBaseline = errors.New("baseline: too few measured days")

// dayTypes are the day types with their own terms, against the working
// day; a closure counts as a holiday.
var dayTypes = []calendar.DayType{calendar.Weekend, calendar.PublicHoliday, calendar.SchoolHoliday}

func typeOf(t calendar.DayType) calendar.DayType {
	if t == calendar.Closed {
		return calendar.PublicHoliday
	}
	return t
}

// design describes which columns a baseline uses.
type design struct {
	tb    float64 // NaN: no temperature terms
	types []calendar.DayType
}

func (d design) hasTemp() bool { return !math.IsNaN(d.tb) }

// row writes the regressors of o into x and returns it.
func (d design) row(o DayObs, x []float64) []float64 {
	x = x[:0]
	x = append(x, 1)
	hdd := 0.0
	if d.hasTemp() {
		hdd = math.Max(0, d.tb-o.Temp)
		x = append(x, hdd)
	}
	t := typeOf(o.Type)
	for _, k := range d.types {
		in := 0.0
		if t == k {
			in = 1
		}
		x = append(x, in)
		if d.hasTemp() {
			x = append(x, in*hdd)
		}
	}
	return x
}

func (d design) terms() []string {
	ts := []string{"intercept"}
	if d.hasTemp() {
		ts = append(ts, "hdd")
	}
	for _, k := range d.types {
		ts = append(ts, string(k))
		if d.hasTemp() {
			ts = append(ts, string(k)+"*hdd")
		}
	}
	return ts
}

// FitBaseline fits the baseline model on the measured days of obs;
// reportingDays (the length of the period savings are computed for)
// selects the CV(RMSE) limit.
func FitBaseline(obs []DayObs, reportingDays int) (*Baseline, error) {
	var days []DayObs
	withTemp := 0
	for _, o := range obs {
		if math.IsNaN(o.Value) || math.IsInf(o.Value, 0) {
			continue
		}
		days = append(days, o)
		if !math.IsNaN(o.Temp) {
			withTemp++
		}
	}
	// Temperature terms need the temperature of (almost) every day: a
	// model on a subset would not predict the others.
	useTemp := withTemp > 0 && withTemp >= len(days)*9/10
	if useTemp {
		kept := make([]DayObs, 0, withTemp)
		for _, o := range days {
			if !math.IsNaN(o.Temp) {
				kept = append(kept, o)
			}
		}
		days = kept
	}
	if len(days) < MinBaselineDays {
		return nil, fmt.Errorf("%w: %d, need %d", ErrShortBaseline, len(days), MinBaselineDays)
	}
	count := map[calendar.DayType]int{}
	for _, o := range days {
		count[typeOf(o.Type)]++
	}
	d := design{tb: math.NaN()}
	for _, k := range dayTypes {
		if count[k] >= MinTypeDays {
			d.types = append(d.types, k)
		}
	}
	var best *Baseline
	try := func(d design) {
		if b := fitDesign(days, d); b != nil && (best == nil || b.sse < best.sse) {
			best = b
		}
	}
	if useTemp {
		for i := 0; i <= 20; i++ {
			d.tb = 10 + 0.5*float64(i)
			try(d)
		}
	} else {
		try(d)
	}
	if best == nil {
		return nil, errors.New("baseline: the model cannot be fitted (degenerate data)")
	}
	best.finish(days, reportingDays)
	return best, nil
}

// fitDesign solves the least-squares problem of design d on days; nil
// when it is degenerate.
func fitDesign(days []DayObs, d design) *Baseline {
	n := len(days)
	terms := d.terms()
	p := len(terms)
	cols := make([][]float64, p)
	for j := range cols {
		cols[j] = make([]float64, n)
	}
	y := make([]float64, n)
	x := make([]float64, 0, p)
	for i, o := range days {
		x = d.row(o, x)
		for j, v := range x {
			cols[j][i] = v
		}
		y[i] = o.Value
	}
	coef, rank := leastSquares(cols, y)
	if rank == 0 {
		return nil
	}
	b := &Baseline{d: d, Terms: terms, Coef: coef, N: n, P: rank}
	if d.hasTemp() {
		b.BalanceTemp = d.tb
		b.P++ // the searched balance temperature is a parameter too
	}
	for i, o := range days {
		r := y[i] - b.Predict(o)
		b.sse += r * r
	}
	return b
}

// leastSquares solves min |X b - y| for the columns of X by modified
// Gram-Schmidt; a column (nearly) dependent on the ones before it gets a
// zero coefficient. It returns the coefficients and the rank.
func leastSquares(cols [][]float64, y []float64) ([]float64, int) {
	p, n := len(cols), len(y)
	q := make([][]float64, 0, p)
	idx := make([]int, 0, p)
	r := make([][]float64, p) // r[k][j]: row k of R over all p columns
	for j := range r {
		r[j] = make([]float64, p)
	}
	for j := 0; j < p; j++ {
		v := append([]float64(nil), cols[j]...)
		norm0 := math.Sqrt(dot(v, v))
		for k, qk := range q {
			c := dot(qk, v)
			r[k][j] = c
			for i := range v {
				v[i] -= c * qk[i]
			}
		}
		norm := math.Sqrt(dot(v, v))
		if norm0 == 0 || norm < 1e-9*norm0 || norm < 1e-12 {
			continue
		}
		for i := range v {
			v[i] /= norm
		}
		r[len(q)][j] = norm
		q = append(q, v)
		idx = append(idx, j)
	}
	if len(q) == 0 || n < len(q) {
		return nil, 0
	}
	// Back substitution on the kept columns.
	qty := make([]float64, len(q))
	for k, qk := range q {
		qty[k] = dot(qk, y)
	}
	coef := make([]float64, p)
	for k := len(q) - 1; k >= 0; k-- {
		s := qty[k]
		for m := k + 1; m < len(q); m++ {
			s -= r[k][idx[m]] * coef[idx[m]]
		}
		coef[idx[k]] = s / r[k][idx[k]]
	}
	return coef, len(q)
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// Predict returns the baseline's consumption for day o.
func (b *Baseline) Predict(o DayObs) float64 {
	x := b.d.row(o, make([]float64, 0, len(b.Coef)))
	return dot(x, b.Coef)
}

// finish computes the fit statistics on the baseline days.
func (b *Baseline) finish(days []DayObs, reportingDays int) {
	n := float64(b.N)
	var sum float64
	for _, o := range days {
		sum += o.Value
	}
	b.Mean = sum / n
	var sst, res, prev, num, den float64
	for i, o := range days {
		e := o.Value - b.Predict(o)
		res += e
		sst += (o.Value - b.Mean) * (o.Value - b.Mean)
		den += e * e
		if i > 0 && days[i].Date.Sub(days[i-1].Date) == 1 {
			num += e * prev
		}
		prev = e
	}
	if sst > 0 {
		b.R2 = 1 - b.sse/sst
	}
	dof := n - float64(b.P)
	if dof < 1 {
		dof = 1
	}
	if b.Mean != 0 {
		b.CVRMSE = math.Sqrt(b.sse/dof) / b.Mean
		b.NMBE = res / (dof * b.Mean)
	}
	if den > 0 {
		b.Rho = math.Max(0, math.Min(num/den, 0.99))
	}
	b.NEff = n * (1 - b.Rho) / (1 + b.Rho)
	switch {
	case reportingDays < 365:
		b.CVLimit = MaxCVRMSEShort
	case reportingDays < 5*365:
		b.CVLimit = MaxCVRMSEMid
	default:
		b.CVLimit = MaxCVRMSELong
	}
	b.MeetsASHRAE14 = b.Mean > 0 && b.CVRMSE <= b.CVLimit && math.Abs(b.NMBE) <= MaxNMBE
}
