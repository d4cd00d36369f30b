package sim

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// building is the state shared by the meters and the valve of one
// building: the main water valve and the leak behind it.
type building struct {
	mu        sync.Mutex
	valveOpen bool
	leakStart time.Time // zero: no leak
	leakLH    float64
}

func newBuilding(leakStart time.Time) *building {
	return &building{valveOpen: true, leakStart: leakStart, leakLH: 30}
}

// ValveOpen reports whether the main water valve is open.
func (b *building) ValveOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.valveOpen
}

func (b *building) setValve(open bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.valveOpen = open
}

// secondNightStart returns the start (22:00) of the second night of a
// scenario that starts at start: a night already running at the start
// counts as the first.
func secondNightStart(start time.Time) time.Time {
	l := start.In(cet)
	first := time.Date(l.Year(), l.Month(), l.Day(), 22, 0, 0, 0, cet)
	if l.Hour() < 6 {
		first = first.AddDate(0, 0, -1)
	}
	return first.AddDate(0, 0, 1)
}

// FlowLH returns the water flow through the main meter at t, litres per
// hour: demand plus the leak, nothing when the valve is closed.
func (b *building) FlowLH(t time.Time) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.valveOpen {
		return 0
	}
	f := schoolDemand.water.at(cetDay(t))
	if !b.leakStart.IsZero() && !t.Before(b.leakStart) {
		f += b.leakLH
	}
	return f
}

// waterMeter is a water meter with a reed contact read by a Milesight
// EM300-DI: one pulse per litre, reported as a running total.
type waterMeter struct {
	b      *building
	step   stepper
	litres float64
}

// Sample advances the meter to t and returns the EM300-DI reading.
func (m *waterMeter) Sample(t time.Time) EM300Reading {
	m.step.advance(t, func(ts time.Time, dt float64) {
		m.litres += m.b.FlowLH(ts) * dt
	})
	return EM300Reading{
		Battery:     97,
		WithClimate: true,
		Temperature: 13.5 + wobble(t, 7, 0.3), // basement meter room
		Humidity:    58,
		Pulses:      uint32(m.litres),
	}
}

func (m *waterMeter) reading(t time.Time) (uint8, []byte, error) {
	return FPortEM300, EncodeEM300DI(m.Sample(t)), nil
}

// electricityMeter is an SML meter read by a KLAX optical head: the energy
// register in Wh, four readings per uplink (newest first).
type electricityMeter struct {
	step    stepper
	wh      float64
	history [4]int32 // newest first
	msgIdx  uint8
	serial  [10]byte
}

func newElectricityMeter(startKWh float64) *electricityMeter {
	m := &electricityMeter{wh: startKWh * 1000}
	// An EMH meter server ID: 0x09, 0x01, "EMH", serial.
	copy(m.serial[:], []byte{0x09, 0x01, 'E', 'M', 'H', 0x00, 0x00, 0x4c, 0x45, 0x01})
	return m
}

// Sample advances the meter to t and returns the KLAX frame.
func (m *electricityMeter) Sample(t time.Time) KLAXFrame {
	first := !m.step.started
	m.step.advance(t, func(ts time.Time, dt float64) {
		m.wh += schoolDemand.electricity.at(cetDay(ts)) * 1000 * dt
	})
	now := int32(m.wh)
	if first {
		// Before the first uplink the head already has older readings.
		p := schoolDemand.electricity.at(cetDay(t)) * 1000 / 4
		for i := range m.history {
			m.history[i] = now - int32(p*float64(i))
		}
	} else {
		copy(m.history[1:], m.history[:3])
		m.history[0] = now
	}
	m.msgIdx++
	return KLAXFrame{
		BatteryPercent: 90,
		Configured:     true,
		MsgIdx:         m.msgIdx,
		MsgCnt:         1,
		MsgNum:         1,
		ServerID:       m.serial,
		Registers: []KLAXRegister{
			{Active: true, FilterID: 0, Valid: true, Unit: KLAXUnitWh, Values: m.history},
			{},
		},
	}
}

// EnergyKWh returns the meter reading after the last Sample.
func (m *electricityMeter) EnergyKWh() float64 { return m.wh / 1000 }

func (m *electricityMeter) reading(t time.Time) (uint8, []byte, error) {
	b, err := EncodeKLAX(m.Sample(t))
	return FPortKLAX, b, err
}

// heatMeter is a Kamstrup MULTICAL heat meter behind an Elvaco CMi4140:
// heat load follows the outdoor temperature and the heating schedule.
type heatMeter struct {
	step   stepper
	kwh    float64
	m3     float64
	serial uint32
}

// heatLoad returns the heating power (kW), flow and return temperatures
// (degC) at t for the school (schoolDemand).
func heatLoad(t time.Time) (powerKW, flowC, returnC float64) {
	d := cetDay(t)
	out := airTempCurve.at(d.h)
	powerKW = schoolDemand.heating.kw(d, out)
	flowC = 45 + 1.2*(schoolDemand.heating.setpoint.at(d)-out) // heating curve
	returnC = flowC - 15*powerKW/100
	return powerKW, flowC, returnC
}

// Sample advances the meter to t and returns the CMi4140 reading.
func (m *heatMeter) Sample(t time.Time) CMi4140Reading {
	m.step.advance(t, func(ts time.Time, dt float64) {
		p, fc, rc := heatLoad(ts)
		m.kwh += p * dt
		if fc > rc {
			m.m3 += p / (1.163 * (fc - rc)) * dt
		}
	})
	p, fc, rc := heatLoad(t)
	flow := 0.0
	if fc > rc {
		flow = p / (1.163 * (fc - rc))
	}
	return CMi4140Reading{
		EnergyKWh:  m.kwh,
		VolumeM3:   m.m3,
		PowerKW:    p,
		FlowM3h:    flow,
		FlowTemp:   fc,
		ReturnTemp: rc,
		Serial:     m.serial,
	}
}

func (m *heatMeter) reading(t time.Time) (uint8, []byte, error) {
	return FPortCMi4140, EncodeCMi4140(m.Sample(t)), nil
}

// valveActuator is the generic motorised main valve: it reports its state
// and closes or opens on downlink commands.
type valveActuator struct {
	b         *building
	batteryMV float64
}

// Sample returns the valve's uplink reading at t.
func (v *valveActuator) Sample(time.Time) ValveReading {
	v.batteryMV = math.Max(3000, v.batteryMV-0.05)
	return ValveReading{Open: v.b.ValveOpen(), BatteryMV: uint16(v.batteryMV)}
}

func (v *valveActuator) reading(t time.Time) (uint8, []byte, error) {
	return FPortValve, EncodeValve(v.Sample(t)), nil
}

// command handles a downlink: fPort 20, first byte 0x00 close, 0x01 open.
func (v *valveActuator) command(fport uint8, data []byte) error {
	if fport != FPortValve {
		return fmt.Errorf("valve: fport %d: not a valve command", fport)
	}
	if len(data) < 1 {
		return fmt.Errorf("valve: empty command")
	}
	switch data[0] {
	case ValveCmdClose:
		v.b.setValve(false)
	case ValveCmdOpen:
		v.b.setValve(true)
	default:
		return fmt.Errorf("valve: unknown command 0x%02x", data[0])
	}
	return nil
}

// batteryLevel reads the cell's voltage as charge: 3.0 V empty, 3.65 V
// full.
func (v *valveActuator) batteryLevel() uint8 { return batteryLevel((v.batteryMV - 3000) / 650) }
