// Package devrepo turns a device of a checkout of the public LoRaWAN device
// repository (vendor/<vendor>/<model>.yaml, its codec file and JavaScript
// decoder, its examples) into a loraedge firmware profile that runs the
// vendor's decoder (codec js) and carries the examples as its self-test.
package devrepo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/loraedge/loraedge/internal/measurement"
)

// DefaultRegion is the regional profile taken from a device's firmware
// versions: the county's gateways are EU868.
const DefaultRegion = "EU863-870"

// Options say which device to import and how.
type Options struct {
	// Repo is the checkout's root, the directory holding vendor/.
	Repo string
	// ID is "vendor/model", the ids the repository's index files use.
	ID string
	// Region is the firmware version's profile key (DefaultRegion).
	Region string
	// Map maps decoder fields to quantities, over the built-in guesses.
	Map map[string]string
}

// Profile is the imported firmware profile, ready to be written as
// <dir>/<Vendor>/<Model>.yaml with its script beside it.
type Profile struct {
	Vendor, Model string // the path parts, i.e. the profile id
	YAML          []byte
	ScriptName    string
	Script        []byte
	// Tests is the number of examples turned into tests; Skipped those
	// without decoded data (examples of errors).
	Tests, Skipped int
	// Unmapped are the example's numeric fields no quantity was found for.
	Unmapped []string
}

var (
	idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*$`)
	// versionRE is the firmware version form profiles take.
	versionRE = regexp.MustCompile(`^v?\d+(\.\d+){0,3}$`)
)

// macVersions are the repository's MAC versions that loraedge serves, as
// profiles write them (1.1 devices are a non-goal).
var macVersions = map[string]string{"1.0": "1.0.0", "1.0.0": "1.0.0", "1.0.1": "1.0.1", "1.0.2": "1.0.2", "1.0.3": "1.0.3", "1.0.4": "1.0.4"}

// guesses maps the field names vendors commonly use to quantities, with
// the scale to the quantity's unit.
var guesses = map[string]struct {
	q     measurement.Quantity
	scale float64
}{
	"temperature": {measurement.AirTemperature, 1}, "humidity": {measurement.RelativeHumidity, 1},
	"co2": {measurement.CO2, 1}, "tvoc": {measurement.TVOC, 1}, "light": {measurement.Illuminance, 1},
	"lux": {measurement.Illuminance, 1}, "illuminance": {measurement.Illuminance, 1}, "motion": {measurement.MotionCount, 1},
	"pressure": {measurement.BarometricPressure, 1}, "pm10": {measurement.PM10, 1}, "pm25": {measurement.PM2_5, 1},
	"pm2_5": {measurement.PM2_5, 1}, "vdd": {measurement.BatteryVoltage, 0.001}, "battery_voltage": {measurement.BatteryVoltage, 1},
	"batteryVoltage": {measurement.BatteryVoltage, 1}, "battery": {measurement.BatteryPercent, 1},
}

type deviceFile struct {
	Name             string `yaml:"name"`
	Description      string `yaml:"description"`
	FirmwareVersions []struct {
		Version  string `yaml:"version"`
		Profiles map[string]struct {
			ID    string `yaml:"id"`
			Codec string `yaml:"codec"`
		} `yaml:"profiles"`
	} `yaml:"firmwareVersions"`
}

type codecFile struct {
	UplinkDecoder struct {
		FileName string `yaml:"fileName"`
		Examples []struct {
			Description string `yaml:"description"`
			Input       struct {
				FPort int   `yaml:"fPort"`
				Bytes []int `yaml:"bytes"`
			} `yaml:"input"`
			Output struct {
				Data map[string]any `yaml:"data"`
			} `yaml:"output"`
		} `yaml:"examples"`
	} `yaml:"uplinkDecoder"`
}

type regionProfile struct {
	MACVersion     string `yaml:"macVersion"`
	SupportsClassC bool   `yaml:"supportsClassC"`
}

// Import reads the device and writes nothing; see Profile.
func Import(o Options) (Profile, error) {
	if !idRE.MatchString(o.ID) {
		return Profile{}, fmt.Errorf("device %q: expected vendor/model as in the repository's index files, e.g. elsys/ers-co2", o.ID)
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	vendor, model, _ := strings.Cut(o.ID, "/")
	dir := filepath.Join(o.Repo, "vendor", vendor)
	var dev deviceFile
	if err := readYAML(filepath.Join(dir, model+".yaml"), &dev); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Profile{}, fmt.Errorf("device %s: %w%s", o.ID, err, known(o.Repo, vendor, model))
		}
		return Profile{}, err
	}
	fw, prof, err := pickFirmware(dev, o)
	if err != nil {
		return Profile{}, err
	}
	var cf codecFile
	if err := readYAML(filepath.Join(dir, prof.Codec+".yaml"), &cf); err != nil {
		return Profile{}, err
	}
	dec := cf.UplinkDecoder
	if dec.FileName == "" {
		return Profile{}, fmt.Errorf("%s: no uplinkDecoder.fileName: the codec has no JavaScript decoder", prof.Codec+".yaml")
	}
	script, err := os.ReadFile(filepath.Join(dir, filepath.Clean("/" + dec.FileName)[1:]))
	if err != nil {
		return Profile{}, fmt.Errorf("decoder of %s: %w", o.ID, err)
	}
	out := Profile{Vendor: vendor, Model: model, ScriptName: filepath.Base(dec.FileName), Script: script}
	var rp regionProfile
	if prof.ID != "" {
		// Optional: without it the profile keeps loraedge's defaults.
		_ = readYAML(filepath.Join(dir, prof.ID+".yaml"), &rp)
	}
	f := profileFile{
		Vendor: vendorName(o.Repo, vendor), Model: dev.Name, Description: strings.TrimSpace(dev.Description),
		Codec: codecRef{ID: "js", Options: map[string]string{"script": out.ScriptName}},
	}
	if f.Model == "" {
		f.Model = model
	}
	if versionRE.MatchString(fw) {
		f.Firmware = &firmware{Min: fw, Max: fw}
	}
	if v := macVersions[rp.MACVersion]; v != "" {
		f.LoRaWAN = &lorawan{Version: v, Class: "A"}
		if rp.SupportsClassC {
			f.LoRaWAN.Class = "C"
		}
	}
	numeric := map[string]bool{}
	for _, ex := range dec.Examples {
		if len(ex.Output.Data) == 0 {
			out.Skipped++
			continue
		}
		t := fileTest{Description: ex.Description, FPort: ex.Input.FPort, Fields: ex.Output.Data}
		for _, b := range ex.Input.Bytes {
			if b < 0 || b > 255 {
				return Profile{}, fmt.Errorf("%s: example %q: byte %d is not 0..255", prof.Codec+".yaml", ex.Description, b)
			}
			t.Hex += fmt.Sprintf("%02x", b)
		}
		f.Tests = append(f.Tests, t)
		for k, v := range ex.Output.Data {
			switch v.(type) {
			case int, float64:
				numeric[k] = true
			}
		}
	}
	out.Tests = len(f.Tests)
	f.Measurements, out.Unmapped, err = mappings(numeric, o.Map)
	if err != nil {
		return Profile{}, err
	}
	if len(f.Measurements) == 0 {
		return Profile{}, fmt.Errorf("device %s: no decoder field maps to a quantity (fields %s): give --map FIELD=QUANTITY", o.ID, strings.Join(out.Unmapped, ", "))
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		return Profile{}, err
	}
	head := fmt.Sprintf("# Imported from a LoRaWAN device repository: vendor/%s/%s.yaml, codec %s (%s).\n", vendor, model, prof.Codec, o.Region)
	out.YAML = append([]byte(head), b...)
	return out, nil
}

// pickFirmware takes the newest firmware version with a profile for the
// region that names a codec.
func pickFirmware(dev deviceFile, o Options) (string, struct{ ID, Codec string }, error) {
	var regions []string
	for i := len(dev.FirmwareVersions) - 1; i >= 0; i-- {
		fw := dev.FirmwareVersions[i]
		for r := range fw.Profiles {
			regions = append(regions, r)
		}
		if p, ok := fw.Profiles[o.Region]; ok && p.Codec != "" {
			return fw.Version, struct{ ID, Codec string }{p.ID, p.Codec}, nil
		}
	}
	slices.Sort(regions)
	return "", struct{ ID, Codec string }{}, fmt.Errorf("device %s: no firmware version has a %s profile with a codec (regions: %s)",
		o.ID, o.Region, strings.Join(slices.Compact(regions), ", "))
}

// mappings maps the numeric fields of the examples: the caller's map
// first, then the guesses.
func mappings(numeric map[string]bool, user map[string]string) ([]fileMapping, []string, error) {
	var out []fileMapping
	var unmapped []string
	fields := make([]string, 0, len(numeric))
	for k := range numeric {
		fields = append(fields, k)
	}
	for k := range user {
		if !numeric[k] {
			fields = append(fields, k)
		}
	}
	sort.Strings(fields)
	for _, k := range fields {
		if q, ok := user[k]; ok {
			if !measurement.Known(measurement.Quantity(q)) {
				return nil, nil, fmt.Errorf("--map %s=%s: unknown quantity %q", k, q, q)
			}
			out = append(out, fileMapping{Field: k, Quantity: q})
			continue
		}
		g, ok := guesses[k]
		if !ok {
			unmapped = append(unmapped, k)
			continue
		}
		m := fileMapping{Field: k, Quantity: string(g.q)}
		if g.scale != 1 {
			s := g.scale
			m.Scale = &s
		}
		out = append(out, m)
	}
	return out, unmapped, nil
}

func readYAML(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// vendorName is the vendor's name from vendor/index.yaml, else its id.
func vendorName(repo, id string) string {
	var idx struct {
		Vendors []struct{ ID, Name string } `yaml:"vendors"`
	}
	if readYAML(filepath.Join(repo, "vendor", "index.yaml"), &idx) == nil {
		for _, v := range idx.Vendors {
			if v.ID == id && v.Name != "" {
				return v.Name
			}
		}
	}
	return id
}

// known names the vendor's devices (vendor/<vendor>/index.yaml) for a
// model that is not there.
func known(repo, vendor, model string) string {
	var idx struct {
		EndDevices []string `yaml:"endDevices"`
	}
	if readYAML(filepath.Join(repo, "vendor", vendor, "index.yaml"), &idx) != nil || len(idx.EndDevices) == 0 {
		return " (no vendor " + vendor + " in " + filepath.Join(repo, "vendor") + ")"
	}
	ids := make([]string, len(idx.EndDevices))
	for i, d := range idx.EndDevices {
		ids[i] = vendor + "/" + d
	}
	return " (" + vendor + " has: " + strings.Join(ids, ", ") + ")"
}

// The profile file as written; keys as internal/profile reads them.
type profileFile struct {
	Vendor       string        `yaml:"vendor"`
	Model        string        `yaml:"model"`
	Description  string        `yaml:"description,omitempty"`
	Firmware     *firmware     `yaml:"firmware,omitempty"`
	LoRaWAN      *lorawan      `yaml:"lorawan,omitempty"`
	Codec        codecRef      `yaml:"codec"`
	Measurements []fileMapping `yaml:"measurements"`
	Tests        []fileTest    `yaml:"tests,omitempty"`
}

type firmware struct {
	Min string `yaml:"min"`
	Max string `yaml:"max"`
}

type lorawan struct {
	Version string `yaml:"version"`
	Class   string `yaml:"class"`
}

type codecRef struct {
	ID      string            `yaml:"id"`
	Options map[string]string `yaml:"options"`
}

type fileMapping struct {
	Field    string   `yaml:"field"`
	Quantity string   `yaml:"quantity"`
	Scale    *float64 `yaml:"scale,omitempty"`
}

type fileTest struct {
	Description string         `yaml:"description,omitempty"`
	FPort       int            `yaml:"fport"`
	Hex         string         `yaml:"hex"`
	Fields      map[string]any `yaml:"fields"`
}
