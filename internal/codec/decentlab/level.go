package decentlab

import (
	"fmt"
)

// Level sensors: DL-MBX (ultrasonic distance) and DL-PR26 (piezoresistive
// pressure, liquid level). As for every Decentlab model, a Value is the
// published reading in the vendor's unit (the DL-MBX distance in mm); the
// profile scales it to the quantity's unit.

// PR26 pressure range of the TTN reference decoder (dl-pr26-0-1), used when
// a profile states none. The range is printed on the sensor; the payload
// only carries the position within it.
const (
	defaultPMin = 0.0
	defaultPMax = 1.0
)

// levelModel is what a level sensor needs beyond the sensor table.
type levelModel struct {
	// invalid reports whether a field of the group words w is a reading
	// the sensor itself flags as none, with the reason.
	invalid func(field string, w []float64) (string, bool)
}

// paramModels build their sensor table from the options (the PR26's
// pressure range); levelModels add the sensor's own validity flags.
var (
	paramModels = map[string]func(o Options) ([]group, error){
		"dl-pr26": pr26Groups,
	}
	levelModels = map[string]levelModel{
		"dl-mbx": {
			invalid: func(field string, w []float64) (string, bool) {
				// Without a valid sample the distance word is no echo but
				// whatever the sensor left there.
				if field == "distance" && w[1] == 0 {
					return "no valid sample (no echo)", true
				}
				return "", false
			},
		},
	}
)

func init() {
	models["dl-mbx"] = []group{
		{2, []sensor{
			{"distance", "Distance", "mm", func(w []float64) float64 { return w[0] }},
			{"number_of_valid_samples", "Number of valid samples", "", func(w []float64) float64 { return w[1] }},
		}},
		battery(),
	}
}

func pr26Groups(o Options) ([]group, error) {
	pmin, pmax := defaultPMin, defaultPMax
	if o.PMin != nil {
		pmin = *o.PMin
	}
	if o.PMax != nil {
		pmax = *o.PMax
	}
	if !(pmax > pmin) {
		return nil, fmt.Errorf("options: pmax (%g bar) must be above pmin (%g bar)", pmax, pmin)
	}
	return []group{
		{2, []sensor{
			{"pressure", "Pressure", "bar", func(w []float64) float64 { return (w[0]-16384)/32768*(pmax-pmin) + pmin }},
			{"temperature", "Temperature", degC, func(w []float64) float64 { return (w[1]-384)*0.003125 - 50 }},
		}},
		battery(),
	}, nil
}
