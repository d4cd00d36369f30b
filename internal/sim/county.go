package sim

import (
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
)

// Instance is one loraedge of a federated scenario: a building with one
// gateway (the scenario's gateway of the same index) and the DevAddr block
// the county peer table gives it.
type Instance struct {
	// Name is the instance's name in the peer table.
	Name string
	// Site is the building the gateway is mounted on.
	Site string
	// DevAddrBlock is its block of the county NetID 000000, "prefix/bits".
	DevAddrBlock string
}

// codeCounty is the county scenario's DevEUI code.
const codeCounty = 0x05

// outOfReach is the mean SNR of a device-gateway pair that never hears each
// other: far below every data rate's floor, whatever the fading.
const outOfReach = -100

var (
	countyInstances = []Instance{
		{Name: "rathaus", Site: "rathaus", DevAddrBlock: "00000000/10"},
		{Name: "schule", Site: schoolSite.ID, DevAddrBlock: "00400000/10"},
		{Name: "bauhof", Site: "bauhof", DevAddrBlock: "00800000/10"},
	}
	countySites = []Site{
		{ID: "rathaus", Name: "Rathaus", Kind: "building", Lat: 49.8601, Lon: 8.9405, Team: "facility"},
		schoolSite,
		{ID: "bauhof", Name: "Bauhof Talbach (road depot)", Kind: "building", Lat: 49.8452, Lon: 8.9631, Team: "winterdienst"},
		roadSites[0], roadSites[1],
	}
	countyScenario = Scenario{
		Name: "county",
		Description: "three loraedge instances (Rathaus, school, road depot) with overlapping gateways: " +
			"8 devices heard by one, two or three of them, homed at different instances (run with `loraedge county init`)",
		Start:     time.Date(2026, 1, 12, 6, 0, 0, 0, cet),
		Duration:  24 * time.Hour,
		Sites:     countySites,
		Instances: countyInstances,
		build:     buildCounty,
	}
)

// buildCounty places each device at one home and gives it a mean SNR
// towards each instance's gateway, in countyInstances' order (rathaus,
// schule, bauhof). Every case of a county network occurs: a device heard
// only by its home, only by a peer, by two with the peer best (the valve's
// ACKs go through the peer's gateway), and by all three.
func buildCounty(start time.Time) []*simDevice {
	const out = outOfReach
	b := newBuilding(secondNightStart(start))
	withAddr := func(d device.Device, addr lorawan.DevAddr) device.Device {
		d.DevAddr = addr
		return d
	}
	return []*simDevice{
		{
			// On the depot's own route; the depot's mast hears it best.
			dev:      otaaDevice(codeCounty, 1, "Road station K 23 Talbach bridge", ProfileRoadStation, roadSites[0].ID, "1.0.4"),
			sensor:   newRoadModel(roadSite{surfaceOffset: -0.8, seed: 21}),
			interval: 10 * time.Minute, dataRate: "SF9BW125",
			home: "bauhof", links: []float64{out, 1.5, 7.5},
		},
		{
			// Behind the hill: only the Rathaus hears it, so every frame
			// and its join go to the depot over the peer link.
			dev:      otaaDevice(codeCounty, 2, "Road station B 27 Hohe Warte forest", ProfileRoadStation, roadSites[1].ID, "1.0.4"),
			sensor:   newRoadModel(roadSite{airOffset: 0.3, surfaceOffset: 0.5, rhOffset: 1, seed: 22}),
			interval: 10 * time.Minute, dataRate: "SF9BW125",
			home: "bauhof", links: []float64{3.5, out, out},
		},
		{
			dev:      otaaDevice(codeCounty, 3, "CO2 Room 212 (class 7b)", ProfileElsysCO2, schoolSite.ID, "1.0.3"),
			sensor:   newCO2Model(schoolRooms[1].room),
			interval: 10 * time.Minute, dataRate: "SF7BW125", battery: batteryLevel(0.8),
			home: "schule", links: []float64{2, 8, -3},
		},
		{
			dev:      withAddr(abpDevice(codeCounty, 4, "CO2 Room 018 (music)", ProfileElsysCO2, schoolSite.ID, "1.0.3"), lorawan.DevAddr{0x00, 0x46, 0x00, 0x04}),
			sensor:   newCO2Model(schoolRooms[2].room),
			interval: 10 * time.Minute, dataRate: "SF7BW125", battery: batteryLevel(0.75),
			home: "schule", links: []float64{1, 4, out},
		},
		{
			dev:      otaaDevice(codeCounty, 5, "Water main meter (EM300-DI, 1 l/pulse)", ProfileEM300DI, schoolSite.ID, "1.0.3"),
			sensor:   &waterMeter{b: b, litres: 2_481_337},
			interval: 15 * time.Minute, dataRate: "SF9BW125", battery: batteryLevel(0.97),
			home: "schule", links: []float64{out, 5, 3},
		},
		{
			// In the plant room by the depot's fence: the depot hears it
			// better than its home, the school.
			dev:       otaaDevice(codeCounty, 6, "Main water valve actuator", ProfileValve, schoolSite.ID, "1.0.4"),
			sensor:    &valveActuator{b: b, batteryMV: 3610},
			interval:  15 * time.Minute,
			confirmed: true, dataRate: "SF9BW125",
			home: "schule", links: []float64{out, -1, 6},
		},
		{
			// Powered from the M-Bus of the plant room.
			dev:      otaaDevice(codeCounty, 7, "Heat meter Rathaus district heating (MULTICAL 603)", ProfileCMi4140, "rathaus", "1.0.3"),
			sensor:   &heatMeter{kwh: 842_113.7, m3: 27_402.118, serial: 67_103_502},
			interval: 15 * time.Minute, dataRate: "SF8BW125", battery: BatteryExternal,
			home: "rathaus", links: []float64{8, out, out},
		},
		{
			// In the basement; the school's gateway across the square
			// hears it, the Rathaus roof does not.
			dev:      withAddr(abpDevice(codeCounty, 8, "Electricity main meter Rathaus (KLAX)", ProfileKLAX, "rathaus", "1.0.2"), lorawan.DevAddr{0x00, 0x06, 0x00, 0x08}),
			sensor:   newElectricityMeter(208_451),
			interval: 15 * time.Minute, dataRate: "SF8BW125", battery: batteryLevel(0.9),
			home: "rathaus", links: []float64{out, 2, out},
		},
	}
}

// Instances returns the loraedge instances of a federated scenario, in the
// order of its gateways; nil for a scenario played against one daemon.
func Instances(scenario string) []Instance {
	s, ok := scenarios[scenario]
	if !ok {
		return nil
	}
	return append([]Instance(nil), s.Instances...)
}

// Homes returns the home instance of each device of a federated scenario.
func Homes(scenario string) map[lorawan.EUI64]string {
	s, ok := scenarios[scenario]
	if !ok || len(s.Instances) == 0 {
		return nil
	}
	out := map[lorawan.EUI64]string{}
	for _, sd := range s.build(s.Start) {
		out[sd.dev.DevEUI] = sd.home
	}
	return out
}

// placeGateway puts a county scenario's gateway on its instance's
// building, so the stat messages show where it is.
func (s Scenario) placeGateway(g *gateway) {
	if g.idx >= len(s.Instances) {
		return
	}
	for _, site := range s.Sites {
		if site.ID == s.Instances[g.idx].Site {
			g.lat, g.lon = site.Lat, site.Lon
			return
		}
	}
}
