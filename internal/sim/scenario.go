package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"github.com/brocaar/lorawan"

	"github.com/loraedge/loraedge/internal/device"
	"github.com/loraedge/loraedge/internal/site"
)

// Profile ids of the simulated devices (firmware profiles of the daemon).
const (
	ProfileRoadStation = "generic/road-station"
	ProfileElsysCO2    = "elsys/ers-co2"
	ProfileEM300DI     = "milesight/em300-di"
	ProfileCMi4140     = "elvaco/cmi4140"
	ProfileKLAX        = "alphaomega/klax"
	ProfileValve       = "generic/valve-actuator"
)

// Site is a place the simulated devices are mounted at.
type Site struct {
	ID    string
	Name  string
	Kind  string // "road" or "building"
	Lat   float64
	Lon   float64
	Road  string  // road sections only, e.g. "K 23"
	Km    float64 // road sections only
	Route string  // road sections only: the gritting route (Streuroute)
	Team  string  // who is warned: "winterdienst" or "facility"
	// MosmixStation is the point-forecast station of a road section
	// (MosmixStation, served by Weather).
	MosmixStation string
	// Gauge is where a gauge's sensor sits; Capacity an area's persons.
	Gauge    site.GaugeSite
	Capacity int
	Tags     []string // "opendata": a gauge's level is public
}

// Scenario is a named set of sites and devices with a default virtual
// start and length.
type Scenario struct {
	Name        string
	Description string
	Start       time.Time     // default virtual start
	Duration    time.Duration // virtual
	Sites       []Site
	// Instances, when set, make the scenario a county network: one loraedge
	// per instance, each fed by the gateway of the same index.
	Instances []Instance
	// build returns fresh devices with fresh models for a run starting at
	// start (models are stateful).
	build func(start time.Time) []*simDevice
}

// simDevice is a device definition plus its value model.
type simDevice struct {
	dev       device.Device
	sensor    sensor
	interval  time.Duration // virtual
	confirmed bool
	// dataRate is where an ABP device starts; OTAA devices start at
	// joinDR (EU868 DR0, SF12) after every join and let ADR move them.
	dataRate string
	joinDR   int
	// noADR turns the device's ADR bit off; refuseChMask makes it NACK
	// every channel mask, as some firmware does.
	noADR, refuseChMask bool
	// battery is DevStatusAns's level when the model keeps none:
	// 0 external power, 1..254 charge, 255 not measured.
	battery uint8
	// home is the instance a county scenario's device is homed at; links
	// its mean SNR at full power towards each gateway (outOfReach: never
	// heard), instead of the link model's draw.
	home  string
	links []float64
}

var (
	roadSites = []Site{
		{ID: "k23-bridge", Name: "K 23 Talbach bridge", Kind: "road", Lat: 49.8421, Lon: 8.9513, Road: "K 23", Km: 4.2, Route: "Streuroute Nord", Team: "winterdienst", MosmixStation: MosmixStation},
		{ID: "b27-forest", Name: "B 27 Hohe Warte forest section", Kind: "road", Lat: 49.8712, Lon: 8.9977, Road: "B 27", Km: 12.8, Route: "Streuroute Ost", Team: "winterdienst", MosmixStation: MosmixStation},
		{ID: "k23-valley", Name: "K 23 Muehlgrund valley", Kind: "road", Lat: 49.8365, Lon: 8.9702, Road: "K 23", Km: 7.5, Route: "Streuroute Nord", Team: "winterdienst", MosmixStation: MosmixStation},
	}
	schoolSite = Site{ID: "school-am-park", Name: "Gesamtschule am Park", Kind: "building", Lat: 49.8688, Lon: 8.9234, Team: "facility"}
)

// Scenario codes become the fifth byte of the DevEUIs so that scenarios
// combined in "all" never share an identity.
const (
	codeWinter   = 0x01
	codeSchool   = 0x02
	codeBuilding = 0x03
)

var scenarios = map[string]Scenario{
	"winter-night": {
		Name:        "winter-night",
		Description: "three road stations from 18:00 to 08:00 in January: the surface freezes, humidity rises",
		Start:       time.Date(2026, 1, 12, 18, 0, 0, 0, cet),
		Duration:    14 * time.Hour,
		Sites:       roadSites,
		build:       buildWinterNight,
	},
	"school-day": {
		Name:        "school-day",
		Description: "classroom CO2 from 07:30 to 16:00; room 7b is poorly ventilated and passes 2000 ppm",
		Start:       time.Date(2026, 1, 13, 7, 30, 0, 0, cet),
		Duration:    8*time.Hour + 30*time.Minute,
		Sites:       []Site{schoolSite},
		build:       buildSchoolDay,
	},
	"building-meters": {
		Name:        "building-meters",
		Description: "electricity, heat and water meters over 48 h; a 30 l/h leak starts in the second night; main valve actuator",
		Start:       time.Date(2026, 1, 12, 6, 0, 0, 0, cet),
		Duration:    48 * time.Hour,
		Sites:       []Site{schoolSite},
		build:       buildBuildingMeters,
	},
	"flood": {
		Name:        "flood",
		Description: "two river gauges rise through IW1..IW3 and fall again over a day; an emergency shelter fills and empties",
		Start:       time.Date(2026, 1, 13, 0, 0, 0, 0, cet),
		Duration:    24 * time.Hour,
		Sites:       floodSites,
		build:       buildFlood,
	},
	"county": countyScenario,
	"all": {
		Name:        "all",
		Description: "all scenarios at once from Monday 18:00 to Wednesday 08:00",
		Start:       time.Date(2026, 1, 12, 18, 0, 0, 0, cet),
		Duration:    38 * time.Hour,
		Sites:       append(append(append([]Site{}, roadSites...), schoolSite), floodSites...),
		build: func(start time.Time) []*simDevice {
			var out []*simDevice
			out = append(out, buildWinterNight(start)...)
			out = append(out, buildSchoolDay(start)...)
			out = append(out, buildBuildingMeters(start)...)
			return append(out, buildFlood(start)...)
		},
	},
}

// Scenarios returns the names of the built-in scenarios, sorted.
func Scenarios() []string {
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupScenario returns the scenario with the given name.
func LookupScenario(name string) (Scenario, bool) {
	s, ok := scenarios[name]
	return s, ok
}

// Devices returns the devices of a scenario with their keys, so that a
// daemon configuration can list them; nil for an unknown scenario.
func Devices(scenario string) []device.Device {
	s, ok := scenarios[scenario]
	if !ok {
		return nil
	}
	sds := s.build(s.Start)
	out := make([]device.Device, len(sds))
	for i, sd := range sds {
		out[i] = sd.dev
	}
	return out
}

// Sites returns the sites of a scenario; nil for an unknown scenario.
func Sites(scenario string) []Site {
	s, ok := scenarios[scenario]
	if !ok {
		return nil
	}
	return append([]Site(nil), s.Sites...)
}

// JoinEUI is the JoinEUI (AppEUI) of every simulated OTAA device.
var JoinEUI = lorawan.EUI64{0x4c, 0x45, 0x53, 0x49, 0x4d, 0x00, 0x00, 0x01}

// devEUI returns "LESIM" + scenario code + index, e.g. 4c4553494d010001.
func devEUI(code byte, idx uint16) lorawan.EUI64 {
	e := lorawan.EUI64{0x4c, 0x45, 0x53, 0x49, 0x4d, code}
	binary.BigEndian.PutUint16(e[6:], idx)
	return e
}

// simKey derives a per-device key from the DevEUI and a label, so that keys
// are stable across runs without being a visible pattern. These are test
// keys for simulated devices only.
func simKey(label string, eui lorawan.EUI64) lorawan.AES128Key {
	h := sha256.Sum256([]byte(fmt.Sprintf("loraedge-sim/%s/%s", label, eui)))
	var k lorawan.AES128Key
	copy(k[:], h[:16])
	return k
}

func otaaDevice(code byte, idx uint16, name, profile, site, macVersion string) device.Device {
	eui := devEUI(code, idx)
	return device.Device{
		DevEUI: eui, Name: name, Activation: device.OTAA, Class: device.ClassA,
		MACVersion: macVersion, Profile: profile, Site: site, Tags: []string{"simulated"},
		JoinEUI: JoinEUI, AppKey: simKey("app_key", eui),
	}
}

func abpDevice(code byte, idx uint16, name, profile, site, macVersion string) device.Device {
	eui := devEUI(code, idx)
	return device.Device{
		DevEUI: eui, Name: name, Activation: device.ABP, Class: device.ClassA,
		MACVersion: macVersion, Profile: profile, Site: site, Tags: []string{"simulated"},
		DevAddr: lorawan.DevAddr{0x01, 0xfe, code, byte(idx)},
		NwkSKey: simKey("nwk_s_key", eui), AppSKey: simKey("app_s_key", eui),
		// The simulator starts every ABP session at FCnt 0, like a device
		// that resets its counter on power-up.
		SkipFCntCheck: true,
	}
}

func buildWinterNight(time.Time) []*simDevice {
	sitesModels := []roadSite{
		{airOffset: 0, surfaceOffset: -0.8, rhOffset: 0, seed: 1},  // bridge: cools from below
		{airOffset: 0.3, surfaceOffset: 0.5, rhOffset: 1, seed: 2}, // forest: canopy shelters
		// valley: cold-air pool, known for early ice: spread preventively
		// at dusk and watched by a freezing-point sensor.
		{airOffset: -0.8, surfaceOffset: -0.6, rhOffset: 2, seed: 3, freezingSensor: true, saltGM2: 10},
	}
	var out []*simDevice
	for i, rs := range roadSites {
		out = append(out, &simDevice{
			dev:      otaaDevice(codeWinter, uint16(i+1), "Road station "+rs.Name, ProfileRoadStation, rs.ID, "1.0.4"),
			sensor:   newRoadModel(sitesModels[i]),
			interval: 10 * time.Minute,
			dataRate: "SF9BW125",
		})
	}
	return out
}

// Rooms of the school-day scenario; index 1 (7b) is the poorly ventilated one.
var schoolRooms = []struct {
	name string
	room classroom
}{
	{"Room 104 (class 5a)", classroom{volumeM3: 200, pupils: 26, achLesson: 3.0, achBreak: 12, achEmpty: 1.5, lastLesson: 15.4, seed: 11}},
	{"Room 212 (class 7b)", classroom{volumeM3: 165, pupils: 29, achLesson: 1.0, achBreak: 3.0, achEmpty: 0.4, lastLesson: 15.4, seed: 12}},
	{"Room 018 (music)", classroom{volumeM3: 180, pupils: 24, achLesson: 1.2, achBreak: 8, achEmpty: 0.6, lastLesson: 13.1, seed: 13}},
}

func buildSchoolDay(time.Time) []*simDevice {
	var out []*simDevice
	for i, r := range schoolRooms {
		var d device.Device
		if i == 2 {
			// One room sensor is personalised (ABP) so both activations run.
			d = abpDevice(codeSchool, uint16(i+1), "CO2 "+r.name, ProfileElsysCO2, schoolSite.ID, "1.0.3")
		} else {
			d = otaaDevice(codeSchool, uint16(i+1), "CO2 "+r.name, ProfileElsysCO2, schoolSite.ID, "1.0.3")
		}
		out = append(out, &simDevice{dev: d, sensor: newCO2Model(r.room), interval: 10 * time.Minute, dataRate: "SF7BW125",
			battery: batteryLevel(0.8)})
	}
	return out
}

func buildBuildingMeters(start time.Time) []*simDevice {
	b := newBuilding(secondNightStart(start))
	return []*simDevice{
		{
			dev:      abpDevice(codeBuilding, 1, "Electricity main meter (KLAX)", ProfileKLAX, schoolSite.ID, "1.0.2"),
			sensor:   newElectricityMeter(412_836),
			interval: 15 * time.Minute, dataRate: "SF8BW125", battery: batteryLevel(0.9),
		},
		{
			dev:    otaaDevice(codeBuilding, 2, "Heat meter district heating (MULTICAL 603)", ProfileCMi4140, schoolSite.ID, "1.0.3"),
			sensor: &heatMeter{kwh: 1_286_412.3, m3: 41_877.512, serial: 67_103_418},
			// Powered from the M-Bus of the plant room.
			interval: 15 * time.Minute, dataRate: "SF8BW125", battery: BatteryExternal,
		},
		{
			dev:      otaaDevice(codeBuilding, 3, "Water main meter (EM300-DI, 1 l/pulse)", ProfileEM300DI, schoolSite.ID, "1.0.3"),
			sensor:   &waterMeter{b: b, litres: 2_481_337},
			interval: 15 * time.Minute, dataRate: "SF9BW125", battery: batteryLevel(0.97),
		},
		{
			dev:       otaaDevice(codeBuilding, 4, "Main water valve actuator", ProfileValve, schoolSite.ID, "1.0.4"),
			sensor:    &valveActuator{b: b, batteryMV: 3610},
			interval:  15 * time.Minute,
			confirmed: true,
			dataRate:  "SF9BW125",
		},
	}
}
