package sim

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The encoders below write the uplink formats of the simulated devices.
// They are the inverse of the daemon's decoders and are checked against the
// vendors' published examples (internal/codec/testdata/examples.json).

// FPorts used by the simulated devices.
const (
	FPortRoadStation uint8 = 10 // generic "loraedge road station" layout
	FPortElsys       uint8 = 5  // Elsys devices send data on port 5; the decoder ignores the port
	FPortEM300       uint8 = 85 // Milesight
	FPortCMi4140     uint8 = 2  // Elvaco standard message
	FPortKLAX        uint8 = 3  // KLAX app data
	FPortValve       uint8 = 20 // generic valve actuator, uplink and downlink
)

// Valve actuator downlink commands (fPort 20, one byte).
const (
	ValveCmdClose byte = 0x00
	ValveCmdOpen  byte = 0x01
)

// RoadStationReading is one uplink of the generic road station.
type RoadStationReading struct {
	SurfaceTemp  float64 // degC
	AirTemp      float64 // degC
	RH           float64 // %
	SurfaceState uint8   // TLS code 0/1/32/64/65/66/67
	WaterFilmMM  float64 // mm
	BatteryVolts float64 // V
	// FreezingSensor marks a station with a freezing-point sensor
	// (firmware 1.1); FreezingTemp is its reading in degC, nil when it
	// cannot measure (no film on the road).
	FreezingSensor bool
	FreezingTemp   *float64
}

// noFreezingTemp is the raw freezing temperature "not measured".
const noFreezingTemp = 0x8000

// EncodeRoadStation writes the 12-byte big-endian road station layout:
// int16 surface temperature x0.01 degC, int16 air temperature x0.01 degC,
// uint16 RH x0.01 %, uint8 surface state, uint8 reserved, uint16 water film
// in um, uint16 battery in mV; a station with a freezing-point sensor
// appends int16 freezing temperature x0.01 degC (0x8000: not measured).
func EncodeRoadStation(r RoadStationReading) []byte {
	b := make([]byte, 0, 14)
	b = binary.BigEndian.AppendUint16(b, uint16(clampInt16(math.Round(r.SurfaceTemp*100))))
	b = binary.BigEndian.AppendUint16(b, uint16(clampInt16(math.Round(r.AirTemp*100))))
	b = binary.BigEndian.AppendUint16(b, clampUint16(math.Round(r.RH*100)))
	b = append(b, r.SurfaceState, 0)
	b = binary.BigEndian.AppendUint16(b, clampUint16(math.Round(r.WaterFilmMM*1000)))
	b = binary.BigEndian.AppendUint16(b, clampUint16(math.Round(r.BatteryVolts*1000)))
	switch {
	case r.FreezingTemp != nil:
		// -327.68 would read as "not measured"; no brine gets near it.
		b = binary.BigEndian.AppendUint16(b, uint16(max(clampInt16(math.Round(*r.FreezingTemp*100)), -32767)))
	case r.FreezingSensor:
		b = binary.BigEndian.AppendUint16(b, noFreezingTemp)
	}
	return b
}

// ElsysReading is one Elsys ERS CO2 uplink. VDD 0 leaves the supply
// voltage record out.
type ElsysReading struct {
	Temperature float64 // degC, 0.1 resolution
	Humidity    uint8   // % RH
	Light       uint16  // lux
	Motion      uint8   // PIR count since last uplink
	CO2         uint16  // ppm
	VDD         uint16  // mV
}

// EncodeElsys writes Elsys TLV records in the order the ERS CO2 sends them:
// 0x01 temperature, 0x02 humidity, 0x04 light, 0x05 motion, 0x06 CO2 and,
// if set, 0x07 VDD; values big-endian.
func EncodeElsys(r ElsysReading) []byte {
	b := make([]byte, 0, 16)
	b = append(b, 0x01)
	b = binary.BigEndian.AppendUint16(b, uint16(clampInt16(math.Round(r.Temperature*10))))
	b = append(b, 0x02, r.Humidity)
	b = append(b, 0x04)
	b = binary.BigEndian.AppendUint16(b, r.Light)
	b = append(b, 0x05, r.Motion)
	b = append(b, 0x06)
	b = binary.BigEndian.AppendUint16(b, r.CO2)
	if r.VDD != 0 {
		b = append(b, 0x07)
		b = binary.BigEndian.AppendUint16(b, r.VDD)
	}
	return b
}

// EM300Reading is one Milesight EM300-DI uplink in pulse-counter mode.
type EM300Reading struct {
	Battery     uint8 // %
	WithClimate bool  // include temperature and humidity records
	Temperature float64
	Humidity    float64 // % RH, 0.5 resolution
	Pulses      uint32  // running total
}

// EncodeEM300DI writes Milesight channel records (little-endian): 01 75
// battery, [03 67 temperature, 04 68 humidity], 05 C8 pulse total.
func EncodeEM300DI(r EM300Reading) []byte {
	b := make([]byte, 0, 16)
	b = append(b, 0x01, 0x75, r.Battery)
	if r.WithClimate {
		b = append(b, 0x03, 0x67)
		b = binary.LittleEndian.AppendUint16(b, uint16(clampInt16(math.Round(r.Temperature*10))))
		b = append(b, 0x04, 0x68, uint8(math.Max(0, math.Min(255, math.Round(r.Humidity*2)))))
	}
	b = append(b, 0x05, 0xC8)
	b = binary.LittleEndian.AppendUint32(b, r.Pulses)
	return b
}

// CMi4140Reading is one Elvaco CMi4140 standard message (Kamstrup MULTICAL).
type CMi4140Reading struct {
	EnergyKWh  float64 // cumulative, sent with 0.1 kWh resolution
	VolumeM3   float64 // cumulative, sent in litres
	PowerKW    float64 // sent in whole kW
	FlowM3h    float64 // sent in 10 L/h
	FlowTemp   float64 // degC, 0.01
	ReturnTemp float64 // degC, 0.01
	Serial     uint32  // 8 decimal digits, BCD
	ErrorFlags uint32
}

// EncodeCMi4140 writes message format 0x15 followed by wired M-Bus records
// with the same DIF/VIF choices as the published example: energy 04 05,
// volume 04 13, power 02 2E, flow 02 3C, flow temperature 02 59, return
// temperature 02 5D, serial 0C 78 (BCD) and error flags 04 FD 17.
func EncodeCMi4140(r CMi4140Reading) []byte {
	b := make([]byte, 0, 42)
	b = append(b, 0x15)
	b = append(b, 0x04, 0x05)
	b = binary.LittleEndian.AppendUint32(b, clampUint32(math.Round(r.EnergyKWh*10)))
	b = append(b, 0x04, 0x13)
	b = binary.LittleEndian.AppendUint32(b, clampUint32(math.Round(r.VolumeM3*1000)))
	b = append(b, 0x02, 0x2E)
	b = binary.LittleEndian.AppendUint16(b, clampUint16(math.Round(r.PowerKW)))
	b = append(b, 0x02, 0x3C)
	b = binary.LittleEndian.AppendUint16(b, clampUint16(math.Round(r.FlowM3h*100)))
	b = append(b, 0x02, 0x59)
	b = binary.LittleEndian.AppendUint16(b, uint16(clampInt16(math.Round(r.FlowTemp*100))))
	b = append(b, 0x02, 0x5D)
	b = binary.LittleEndian.AppendUint16(b, uint16(clampInt16(math.Round(r.ReturnTemp*100))))
	b = append(b, 0x0C, 0x78)
	b = append(b, bcd8LE(r.Serial)...)
	b = append(b, 0x04, 0xFD, 0x17)
	b = binary.LittleEndian.AppendUint32(b, r.ErrorFlags)
	return b
}

// bcd8LE writes the last 8 decimal digits of v as packed BCD, least
// significant byte first (M-Bus type A).
func bcd8LE(v uint32) []byte {
	out := make([]byte, 4)
	for i := range 4 {
		lo := v % 10
		v /= 10
		hi := v % 10
		v /= 10
		out[i] = byte(hi<<4 | lo)
	}
	return out
}

// KLAX register units (nibble values of the unit byte).
const (
	KLAXUnitNDEF uint8 = 0
	KLAXUnitWh   uint8 = 1
	KLAXUnitW    uint8 = 2
)

// KLAXRegister is one register of a KLAX "historic" block (format
// version 0): four int32 readings, newest first.
type KLAXRegister struct {
	Active   bool
	FilterID uint8 // 0..3
	Valid    bool
	Unit     uint8
	Values   [4]int32
}

// KLAXFrame is one KLAX app-data uplink (fPort 3) in format version 0 with
// an SML meter: header, message info, a server-ID block and one historic
// block per register pair.
type KLAXFrame struct {
	BatteryPercent int // 0..100, sent in 10 % steps
	Configured     bool
	MsgIdx         uint8
	MsgCnt, MsgNum uint8 // nibbles
	ServerID       [10]byte
	Registers      []KLAXRegister // pairs; an odd last one is padded with an inactive register
}

// EncodeKLAX writes a format-version-0 KLAX app frame.
func EncodeKLAX(f KLAXFrame) ([]byte, error) {
	if f.BatteryPercent < 0 || f.BatteryPercent > 150 {
		return nil, fmt.Errorf("klax: battery %d %% out of range", f.BatteryPercent)
	}
	if f.MsgCnt > 15 || f.MsgNum > 15 {
		return nil, fmt.Errorf("klax: msgCnt/msgNum %d/%d do not fit a nibble", f.MsgCnt, f.MsgNum)
	}
	b := make([]byte, 0, 4+11+35*((len(f.Registers)+1)/2))
	// Byte 0: format version 0, device type 0 (SML Klax).
	b = append(b, 0x00)
	h := byte((f.BatteryPercent + 5) / 10 & 0x0f) // read mode 0 (SML) in bits 5-4
	if f.Configured {
		h |= 0x40
	}
	b = append(b, h, f.MsgIdx, f.MsgNum<<4|f.MsgCnt)
	b = append(b, 0x03)
	b = append(b, f.ServerID[:]...)
	regs := f.Registers
	for i := 0; i < len(regs); i += 2 {
		r1 := regs[i]
		var r2 KLAXRegister
		if i+1 < len(regs) {
			r2 = regs[i+1]
		}
		if r1.FilterID > 3 || r2.FilterID > 3 || r1.Unit > 15 || r2.Unit > 15 {
			return nil, fmt.Errorf("klax: register %d/%d: filter id or unit out of range", i, i+1)
		}
		mask := klaxRegBits(r1) | klaxRegBits(r2)<<4
		b = append(b, 0x01, mask, r2.Unit<<4|r1.Unit)
		for _, v := range r1.Values {
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		}
		for _, v := range r2.Values {
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		}
	}
	return b, nil
}

func klaxRegBits(r KLAXRegister) byte {
	var m byte
	if r.Active {
		m |= 0x01
	}
	m |= r.FilterID << 1
	if r.Valid {
		m |= 0x08
	}
	return m
}

// ValveReading is one uplink of the generic valve actuator.
type ValveReading struct {
	Open      bool
	BatteryMV uint16
}

// EncodeValve writes the generic valve actuator layout (fPort 20, 3 bytes,
// big-endian): uint8 valve_state (0 closed, 1 open), uint16 battery mV.
func EncodeValve(r ValveReading) []byte {
	var state byte
	if r.Open {
		state = 1
	}
	return binary.BigEndian.AppendUint16([]byte{state}, r.BatteryMV)
}

func clampInt16(v float64) int16 {
	return int16(math.Max(math.MinInt16, math.Min(math.MaxInt16, v)))
}

func clampUint16(v float64) uint16 {
	return uint16(math.Max(0, math.Min(math.MaxUint16, v)))
}

func clampUint32(v float64) uint32 {
	return uint32(math.Max(0, math.Min(math.MaxUint32, v)))
}
