package sim

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/loraedge/loraedge/internal/site"
)

// Profile ids of the flood scenario's devices.
const (
	ProfileLDDS75 = "dragino/ldds75"
	ProfileVS133  = "milesight/vs133"
)

// codeFlood is the flood scenario's DevEUI code.
const codeFlood = 0x04

// FloodGauge is one gauge of the flood scenario with the warning stages
// (m above the gauge zero) its county set, NRW style: IW1, IW2, IW3.
type FloodGauge struct {
	Site   string
	Stages [3]float64
}

// The flood wave (relative to the scenario start): the upstream gauge
// rises 30 cm/h from one hour after the start for 11 h, then falls 25
// cm/h; the downstream gauge follows 90 min later, 40 cm higher.
const (
	floodRiseStart = time.Hour
	floodRiseHours = 11.0
	floodRise      = 0.30 // m/h
	floodFall      = 0.25 // m/h
	floodDelay     = 90 * time.Minute
	floodInterval  = 10 * time.Minute
)

var (
	floodSites = []Site{
		{ID: "pegel-obermuehle", Name: "Pegel Obermühle", Kind: "gauge", Lat: 49.8533, Lon: 8.9311, Team: "krisenstab",
			Gauge: site.GaugeSite{River: "Gersprenz", MountingHeight: 6.0}, Tags: []string{"opendata"}},
		{ID: "pegel-altstadt", Name: "Pegel Altstadt", Kind: "gauge", Lat: 49.8667, Lon: 8.9402, Team: "krisenstab",
			Gauge: site.GaugeSite{River: "Gersprenz", MountingHeight: 7.5}, Tags: []string{"opendata"}},
		{ID: "notunterkunft-sporthalle", Name: "Notunterkunft Sporthalle", Kind: "area", Lat: 49.8701, Lon: 8.9288,
			Team: "krisenstab", Capacity: 350},
	}
	// FloodGauges are the stages the demo rules use for the flood gauges.
	FloodGauges = []FloodGauge{
		{Site: "pegel-obermuehle", Stages: [3]float64{2.0, 3.0, 3.8}},
		{Site: "pegel-altstadt", Stages: [3]float64{2.4, 3.4, 4.2}},
	}
)

// FloodLevel is the true water level (m above the gauge zero) of flood
// gauge i at t for a scenario started at start: base level, a linear rise
// and a linear fall, as a flood wave's limbs are over a few hours.
func FloodLevel(i int, start, t time.Time) float64 {
	base, delay := 0.8, time.Duration(0)
	if i == 1 {
		base, delay = 1.2, floodDelay
	}
	tau := t.Sub(start.Add(floodRiseStart + delay)).Hours()
	switch {
	case tau <= 0:
		return base
	case tau <= floodRiseHours:
		return base + floodRise*tau
	default:
		return max(base, base+floodRise*floodRiseHours-floodFall*(tau-floodRiseHours))
	}
}

// riverGauge is an LDDS75 above the river: it reports the distance to the
// water surface with a few millimetres of scatter, and the downstream one
// once a leaf on the sensor (below its range: flagged invalid) and once an
// echo from a branch (a jump the daemon must mark).
type riverGauge struct {
	idx    int
	start  time.Time
	mount  float64
	rng    *rand.Rand
	faults map[int]float64 // uplink number -> distance reported instead (m)
	n      int
}

func (g *riverGauge) reading(t time.Time) (uint8, []byte, error) {
	g.n++
	d := g.mount - FloodLevel(g.idx, g.start, t) + (g.rng.Float64()-0.5)*0.004
	if f, ok := g.faults[g.n]; ok {
		d = f
	}
	mm := uint16(math.Round(max(d, 0) * 1000))
	b := make([]byte, 8)
	binary.BigEndian.PutUint16(b[0:], 3600) // battery mV
	binary.BigEndian.PutUint16(b[2:], mm)
	b[4] = 0
	binary.BigEndian.PutUint16(b[5:], uint16(int16(45))) // water 4.5 degC
	b[7] = 1                                             // ultrasonic sensor detected
	return 2, b, nil
}

// shelter is the emergency shelter of the flood: evacuees arrive while the
// river rises (shuttle buses from the flooded quarter from +8 h for 75
// min), most leave once it falls. Both doors' VS133
// counters share it.
type shelter struct {
	mu      sync.Mutex
	start   time.Time
	step    stepper
	in, out float64 // people through the doors since the start
}

// Shelter flows (relative to the scenario start), persons per minute.
const (
	shelterArrive     = 1.5 // from +6 h to +10 h
	shelterBus        = 3   // +8 h to +9 h 15: shuttle buses from the flooded quarter
	shelterBusHours   = 1.25
	shelterLeave      = 1.3 // from +16 h to +21 h
	shelterDoorAShare = 0.6
)

func (s *shelter) advance(t time.Time) (in, out float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.step.advance(t, func(ts time.Time, dt float64) {
		h := ts.Sub(s.start).Hours()
		if h >= 6 && h < 10 {
			s.in += shelterArrive * 60 * dt
		}
		if h >= 8 && h < 8+shelterBusHours {
			s.in += shelterBus * 60 * dt
		}
		if h >= 16 && h < 21 {
			s.out += shelterLeave * 60 * dt
		}
	})
	return s.in, s.out
}

// shelterDoor is one door's VS133: its share of the people in and out,
// line 1. Door B misses one person in fifty going out, as ToF counters
// do in a crowd: the drift the daily reset removes.
type shelterDoor struct {
	s           *shelter
	share, miss float64
	lastIn      uint32
	lastOut     uint32
}

func (d *shelterDoor) reading(t time.Time) (uint8, []byte, error) {
	in, out := d.s.advance(t)
	ti := uint32(math.Floor(in * d.share))
	to := uint32(math.Floor(out * d.share * (1 - d.miss)))
	b := make([]byte, 0, 18)
	b = append(b, 0x03, 0xD2)
	b = binary.LittleEndian.AppendUint32(b, ti)
	b = append(b, 0x04, 0xD2)
	b = binary.LittleEndian.AppendUint32(b, to)
	b = append(b, 0x05, 0xCC)
	b = binary.LittleEndian.AppendUint16(b, uint16(min(ti-d.lastIn, math.MaxUint16)))
	b = binary.LittleEndian.AppendUint16(b, uint16(min(to-d.lastOut, math.MaxUint16)))
	d.lastIn, d.lastOut = ti, to
	return 85, b, nil
}

func buildFlood(start time.Time) []*simDevice {
	var out []*simDevice
	for i, s := range floodSites[:2] {
		g := &riverGauge{idx: i, start: start, mount: s.Gauge.MountingHeight, rng: rand.New(rand.NewPCG(uint64(i)+41, 7))}
		if i == 1 {
			// Uplinks 19 and 25 (+3 h, +4 h): a leaf 25 cm in front of the
			// sensor, then an echo from a branch 2 m below it.
			g.faults = map[int]float64{19: 0.25, 25: 2.0}
		}
		out = append(out, &simDevice{
			dev:      otaaDevice(codeFlood, uint16(i+1), "Ultrasonic gauge "+s.Name, ProfileLDDS75, s.ID, "1.0.3"),
			sensor:   g,
			interval: floodInterval, dataRate: "SF10BW125", battery: batteryLevel(0.95),
		})
	}
	sh := &shelter{start: start}
	for i, door := range []struct {
		name        string
		share, miss float64
	}{{"door A", shelterDoorAShare, 0}, {"door B", 1 - shelterDoorAShare, 0.02}} {
		out = append(out, &simDevice{
			dev:      otaaDevice(codeFlood, uint16(i+3), "People counter "+door.name+" Sporthalle", ProfileVS133, floodSites[2].ID, "1.0.3"),
			sensor:   &shelterDoor{s: sh, share: door.share, miss: door.miss},
			interval: 5 * time.Minute, dataRate: "SF8BW125", battery: BatteryExternal,
		})
	}
	return out
}
