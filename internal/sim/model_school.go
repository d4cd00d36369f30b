package sim

import (
	"math"
	"time"
)

// period is a span of the school day in local hours.
type period struct{ from, to float64 }

// The timetable of a German secondary school: double lessons with a short
// change in between, two breaks and a lunch break. Windows are opened in
// breaks, which is what brings CO2 down.
var (
	lessons = []period{
		{8.0, 9.5},           // 1st/2nd lesson 08:00-09:30
		{9 + 50.0/60, 11.33}, // 3rd/4th 09:50-11:20
		{11 + 35.0/60, 13 + 5.0/60},
		{13 + 50.0/60, 15 + 20.0/60},
	}
	breaks = []period{
		{9.5, 9 + 50.0/60},
		{11.33, 11 + 35.0/60},
		{13 + 5.0/60, 13 + 50.0/60},
	}
)

func inPeriods(h float64, ps []period) bool {
	for _, p := range ps {
		if h >= p.from && h < p.to {
			return true
		}
	}
	return false
}

// classroom describes one room of the school-day scenario.
type classroom struct {
	volumeM3    float64
	pupils      int
	achLesson   float64 // air changes per hour with windows shut
	achBreak    float64 // with windows open in breaks
	achEmpty    float64
	lastLesson  float64 // local hour after which the room is empty
	seed        float64
	baselinePPM float64
}

// co2PerPupilLH is the CO2 a seated pupil exhales, litres per hour.
const co2PerPupilLH = 18.0

// co2Model integrates a single-zone CO2 mass balance:
// dC/dt = G/V - n (C - C_out), solved exactly per step.
type co2Model struct {
	room   classroom
	step   stepper
	co2    float64
	motion float64 // PIR counts since last uplink
}

func newCO2Model(r classroom) *co2Model {
	if r.baselinePPM == 0 {
		r.baselinePPM = 420
	}
	return &co2Model{room: r, co2: r.baselinePPM + 30}
}

func (m *co2Model) occupied(t time.Time) bool {
	if isWeekend(t) {
		return false
	}
	h := hourOfDay(t)
	return h < m.room.lastLesson && inPeriods(h, lessons)
}

func (m *co2Model) ach(t time.Time) float64 {
	if isWeekend(t) {
		return m.room.achEmpty
	}
	h := hourOfDay(t)
	switch {
	case inPeriods(h, breaks) && h < m.room.lastLesson:
		return m.room.achBreak
	case m.occupied(t):
		return m.room.achLesson
	}
	return m.room.achEmpty
}

// Sample advances the room to t and returns the sensor reading.
func (m *co2Model) Sample(t time.Time) ElsysReading {
	m.step.advance(t, func(ts time.Time, dt float64) {
		n := m.ach(ts)
		gen := 0.0
		if m.occupied(ts) {
			gen = float64(m.room.pupils) * co2PerPupilLH / (m.room.volumeM3 * 1000) * 1e6 // ppm/h
			m.motion += 120 * dt
		}
		steady := m.room.baselinePPM + gen/n
		m.co2 = steady + (m.co2-steady)*math.Exp(-n*dt)
	})
	h := hourOfDay(t)
	occ := m.occupied(t)
	temp := 19.0 + wobble(t, m.room.seed, 0.2)
	hum := 32.0
	light := 0.0
	if !isWeekend(t) && h >= 7 && h < 16.5 {
		// Heating runs in school hours; pupils add heat and moisture.
		temp += 1.5
		light = 120 + 80*math.Sin(math.Pi*(h-7.5)/9)
	}
	if occ {
		temp += 1.2 * math.Min(1, (m.co2-m.room.baselinePPM)/800)
		hum += 10
		light += 300
	}
	if inPeriods(h, breaks) && !isWeekend(t) {
		temp -= 1.0
	}
	r := ElsysReading{
		Temperature: math.Round(temp*10) / 10,
		Humidity:    uint8(math.Round(hum + wobble(t, m.room.seed+3, 1))),
		Light:       uint16(math.Max(0, light)),
		Motion:      uint8(math.Min(255, m.motion)),
		CO2:         uint16(math.Round(m.co2)),
		VDD:         3650,
	}
	m.motion = 0
	return r
}

func (m *co2Model) reading(t time.Time) (uint8, []byte, error) {
	return FPortElsys, EncodeElsys(m.Sample(t)), nil
}
