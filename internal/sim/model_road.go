package sim

import (
	"math"
	"time"
)

// TLS road surface state codes used by the road stations.
const (
	SurfaceDry       uint8 = 0
	SurfaceMoist     uint8 = 1
	SurfaceWet       uint8 = 32
	SurfaceIce       uint8 = 66
	SurfaceHoarFrost uint8 = 67
)

// January night profiles (CET). The evening stays above freezing long
// enough for the road to get moist and wet before it freezes around
// midnight; the minimum is just before sunrise (about 08:00 in January).
var (
	airTempCurve = curve{
		{0, 0.6}, {2, -0.8}, {4, -2.0}, {6, -3.0}, {7.5, -3.4}, {8, -3.2}, {9, -2.0},
		{11, 0.8}, {13, 3.5}, {14.5, 4.5}, {16, 4.6}, {18, 4.0}, {20, 2.8}, {22, 1.8},
	}
	rhCurve = curve{
		{0, 94}, {2, 96}, {4, 97}, {6, 98}, {8, 97}, {9, 93}, {10, 86}, {12, 74},
		{14, 70}, {16, 74}, {18, 80}, {20, 86}, {22, 91},
	}
	// surfaceDeltaCurve is surface minus air temperature: radiative cooling
	// at night, solar gain by day.
	surfaceDeltaCurve = curve{
		{0, -1.3}, {6, -1.5}, {8, -1.2}, {9, -0.3}, {10, 0.8}, {12, 2.5},
		{14, 2.0}, {16, 0.5}, {18, -0.6}, {20, -1.0}, {22, -1.2},
	}
)

// roadSite holds what makes one road section different from the others.
type roadSite struct {
	airOffset     float64 // cold-air pools in valleys
	surfaceOffset float64 // bridges cool from below, forest canopy shelters
	rhOffset      float64
	seed          float64
	// freezingSensor: the station measures the freezing temperature of
	// the film; saltGM2 is the residual salt (g/m2 NaCl) of a preventive
	// spreading before the scenario starts.
	freezingSensor bool
	saltGM2        float64
}

// roadModel is a road weather station: air and surface temperature,
// humidity and a water film that condenses when the surface nears the dew
// point and freezes below its freezing temperature: 0 degC, or lower while
// residual salt is dissolved in it.
type roadModel struct {
	site    roadSite
	step    stepper
	filmMM  float64
	saltGM2 float64
	battery float64
	// frozen is the state the film froze into: water that was already a
	// wet film becomes ice, a thin condensate freezes as hoar frost. It is
	// kept until the surface thaws.
	frozen uint8
}

func newRoadModel(s roadSite) *roadModel {
	return &roadModel{site: s, saltGM2: s.saltGM2, battery: 3.62}
}

// saltLife is the time constant (hours) in which traffic carries residual
// salt off the road.
const saltLife = 4.0

// brineCurve is the freezing point (degC) of NaCl brine by concentration
// (mass %), up to the eutectic at 23.3 % (domain.md section 1).
var brineCurve = []struct{ pct, tg float64 }{{0, 0}, {5, -3}, {10, -6.5}, {15, -11}, {20, -16.5}, {23.3, -21.1}}

// freezingPoint returns the freezing temperature of the film: the residual
// salt dissolved in it (1 mm of film is 1000 g/m2 of water). More salt than
// the film can dissolve leaves the eutectic point.
func (m *roadModel) freezingPoint() float64 {
	if m.saltGM2 <= 0 || m.filmMM <= 0 {
		return 0
	}
	pct := 100 * m.saltGM2 / (m.saltGM2 + m.filmMM*1000)
	for i := 1; i < len(brineCurve); i++ {
		a, b := brineCurve[i-1], brineCurve[i]
		if pct <= b.pct {
			return a.tg + (pct-a.pct)/(b.pct-a.pct)*(b.tg-a.tg)
		}
	}
	return brineCurve[len(brineCurve)-1].tg
}

// roadWeather is the weather at a road section, before the water film.
type roadWeather struct {
	air, surface, rh, dew float64
}

func (m *roadModel) weather(t time.Time) roadWeather {
	h := hourOfDay(t)
	air := airTempCurve.at(h) + m.site.airOffset + wobble(t, m.site.seed, 0.15)
	surface := air + surfaceDeltaCurve.at(h) + m.site.surfaceOffset + wobble(t, m.site.seed+1, 0.1)
	rh := math.Min(99.5, rhCurve.at(h)+m.site.rhOffset+wobble(t, m.site.seed+2, 0.4))
	return roadWeather{air: air, surface: surface, rh: rh, dew: dewPoint(air, rh)}
}

// Film thresholds in mm: below dry, the road reads dry; below wet, moist.
const (
	filmDry = 0.005
	filmWet = 0.02
	filmMax = 0.3
)

// Sample advances the model to t and returns the station's reading.
func (m *roadModel) Sample(t time.Time) RoadStationReading {
	m.step.advance(t, func(ts time.Time, dt float64) {
		w := m.weather(ts)
		spread := w.surface - w.dew
		switch {
		case spread < 1.0:
			// Condensation (or deposition) grows with how far the surface
			// is below dew point + 1 K.
			m.filmMM += 0.02 * (1.0 - spread) * dt
		case spread > 1.5 && w.surface > 0:
			// Only liquid water evaporates quickly; ice stays until thaw.
			m.filmMM -= 0.03 * (spread - 1.5) * dt
		}
		m.filmMM = math.Max(0, math.Min(filmMax, m.filmMM))
		m.saltGM2 -= m.saltGM2 * dt / saltLife
		switch {
		case w.surface > m.freezingPoint():
			m.frozen = 0
		case m.frozen == 0 && m.filmMM >= filmWet:
			m.frozen = SurfaceIce
		case m.frozen == 0 && m.filmMM >= filmDry:
			m.frozen = SurfaceHoarFrost
		}
		m.battery -= 0.0005 * dt / 24
	})
	w := m.weather(t)
	r := RoadStationReading{
		SurfaceTemp:    w.surface,
		AirTemp:        w.air,
		RH:             w.rh,
		WaterFilmMM:    m.filmMM,
		BatteryVolts:   m.battery,
		FreezingSensor: m.site.freezingSensor,
	}
	tg := m.freezingPoint()
	if m.site.freezingSensor && m.filmMM >= filmDry {
		// The sensor needs a film to measure; on a dry road it reports none.
		r.FreezingTemp = &tg
	}
	switch {
	case m.filmMM < filmDry:
		r.SurfaceState, r.WaterFilmMM = SurfaceDry, 0
	case w.surface <= tg && m.frozen != 0:
		r.SurfaceState = m.frozen
	case w.surface <= tg:
		r.SurfaceState = SurfaceHoarFrost
	case m.filmMM < filmWet:
		r.SurfaceState = SurfaceMoist
	default:
		r.SurfaceState = SurfaceWet
	}
	return r
}

func (m *roadModel) reading(t time.Time) (uint8, []byte, error) {
	return FPortRoadStation, EncodeRoadStation(m.Sample(t)), nil
}

// batteryLevel reads the lithium cell's voltage as charge: 3.0 V empty,
// 3.65 V full.
func (m *roadModel) batteryLevel() uint8 { return batteryLevel((m.battery - 3.0) / 0.65) }
