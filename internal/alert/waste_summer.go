package alert

import (
	"slices"
	"time"

	"github.com/loraedge/loraedge/internal/calendar"
)

// Summer heating (check "summer_heating" of energy_waste): in June, July
// and August a heating meter should draw only its hot-water base (hot
// water, circulation, storage losses). A day whose consumption exceeds
// Factor (1.3) times that base means the space heating runs; the next
// summer day back below, or the first day after August, resolves it.
// Only days whose outdoor daily mean (the site's sensor, as for the
// heating check), and the previous day's, are at least 18 degC are
// judged: above the heating limit of even a poorly insulated building
// (15-17 degC), so a cool summer day that needs heat is no false alarm. The base is HotWaterPerDay when
// configured (meter unit per day), else learned: the lower quartile of
// the last 28 summer days of the same kind (with use, without use) that
// did not alert, once 7 are known, so a school's holidays are compared
// with holidays. A heating that runs from the first summer day on is
// its own base: configure hot_water_per_day for such a building.
const (
	summerHistory = 28
	summerMinHist = 7
	summerMinTemp = 18.0
)

// summerMonth tells the months the check judges.
func summerMonth(m time.Month) bool { return m >= time.June && m <= time.August }

// judgeSummer judges the closed day of a heating meter against its hot
// water base; tm is the day's mean outdoor temperature when ok.
func (w *wasteEval) judgeSummer(d devInfo, st *wasteState, date calendar.Date, use bool, tm float64, ok bool) []condition {
	info := map[string]string{"day": date.String()}
	if !summerMonth(st.Day.Month()) {
		if len(st.SummerUse)+len(st.SummerFree) == 0 && w.hotWater == 0 {
			return nil // never judged: nothing to resolve
		}
		return []condition{w.cond(d, st, "summer_heating", false, 0, nil, info)}
	}
	if !ok || tm < summerMinTemp {
		return nil
	}
	// The day before must be warm too: after a cool spell a controller's
	// summer mode (on a 24-hour mean) may rightly heat for some hours.
	prev := st.Day.AddDate(0, 0, -1)
	if tp, okp := w.dayTemp(d.Site.ID, calendar.NewDate(prev.Year(), prev.Month(), prev.Day())); !okp || tp < summerMinTemp {
		return nil
	}
	hist := &st.SummerFree
	if use {
		hist = &st.SummerUse
	}
	base := w.hotWater
	if base == 0 {
		if len(*hist) < summerMinHist {
			*hist = append(*hist, st.DayE)
			return nil
		}
		sorted := slices.Clone(*hist)
		slices.Sort(sorted)
		base = sorted[len(sorted)/4]
	}
	active := base > 0 && st.DayE > w.factor*base
	if !active {
		*hist = append(*hist, st.DayE)
		if len(*hist) > summerHistory {
			*hist = (*hist)[len(*hist)-summerHistory:]
		}
	}
	vals := map[string]float64{"day_consumption": st.DayE, "hot_water_base": base, "factor": w.factor, "outdoor_c": tm}
	return []condition{w.cond(d, st, "summer_heating", active, st.DayE, vals, info)}
}
