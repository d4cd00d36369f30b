package energy

// Development is consumption over years: per site heating (degree-day
// normalised kWh), electricity (kWh) and water (m3).
type Development struct {
	Years []int            `json:"years"`
	Rows  []DevelopmentRow `json:"rows"`
}

// DevelopmentRow is one site's quantity over Development.Years.
type DevelopmentRow struct {
	Site     string `json:"site"`
	Name     string `json:"name"`
	Quantity string `json:"quantity"` // heating, electricity, water
	Unit     string `json:"unit"`
	// Values follow Years; nil where the store holds no consumption.
	Values []*float64 `json:"values"`
}

// DevelopmentQuantities are the quantities of a Development, in order.
var DevelopmentQuantities = []string{"heating", "electricity", "water"}

// YearFigure is site s's figure of quantity q in a year report, and
// whether the year has one: heating is the normalised heating energy,
// electricity and water the metered consumption.
func YearFigure(s SiteReport, q string) (float64, bool) {
	if q == "heating" {
		return s.Heating.NormalisedKWh, s.Heating.RawKWh > 0
	}
	var v float64
	for _, m := range s.Media {
		if string(m.Medium) == q {
			v += m.Consumption
		}
	}
	return v, v > 0
}
