// Package profile loads firmware profiles: one YAML file per device model
// (firmware-profiles/<vendor>/<model>.yaml) naming the payload codec, how its
// decoded fields map to canonical quantities, the expected uplink interval
// and the downlink commands the device understands.
//
// A profile is checked completely when it is loaded, so that a typo in a
// quantity name or codec id fails at start with file and line instead of
// silently dropping measurements later.
package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/measurement"
)

// Errors returned by Set lookups, checked with errors.Is.
var (
	ErrUnknownProfile = errors.New("unknown profile")
	ErrUnknownCommand = errors.New("unknown downlink command")
	ErrBadArgument    = errors.New("bad downlink argument")
)

// FieldNamer is implemented by decoders that know every Value.Field they
// can return; a profile mapping any other field is rejected at load, so a
// misspelt field fails at start instead of never producing a measurement.
type FieldNamer interface {
	FieldNames() []string
}

// Profile is one loaded and validated firmware profile.
type Profile struct {
	// ID is "<vendor>/<model>" taken from the file path, e.g. "elsys/ers-co2".
	ID string
	// File is the file the profile came from, as named in error messages.
	File        string
	Vendor      string
	Model       string
	Description string
	Firmware    FirmwareRange
	LoRaWAN     LoRaWAN
	Codec       CodecRef
	Mappings    []Mapping
	// UplinkInterval is the interval the device sends at in its default
	// configuration; 0 if the profile does not state one.
	UplinkInterval time.Duration
	Commands       []Command
	// Tests are the profile's example payloads (see SelfTest).
	Tests []Test

	decoder codec.Decoder
	byField map[string][]int // field -> indexes into Mappings
}

// FirmwareRange is the inclusive range of firmware versions the profile was
// written for; an empty bound is open.
type FirmwareRange struct {
	Min string
	Max string
}

// LoRaWAN states the MAC version and device class.
type LoRaWAN struct {
	Version string // "1.0.2", "1.0.3", ...
	Class   string // "A", "B" or "C"
	ADR     ADR
}

// ADR is the profile's adaptive data rate setting (lorawan.adr: on|off,
// adr_min_dr, adr_max_dr, adr_margin_db); a nil bound leaves the network's.
type ADR struct {
	// Off keeps the network from steering the device's data rate and power,
	// e.g. for a mobile device.
	Off          bool
	MinDR, MaxDR *int
	MarginDB     *float64
}

// CodecRef names a registered codec and the options its constructor gets.
type CodecRef struct {
	ID      string
	Options map[string]any
}

// Mapping maps one decoded field (codec.Value.Field, optionally only one
// channel) to a canonical quantity: quantity = value*Scale + Offset.
type Mapping struct {
	Field string
	// Channel restricts the mapping to values of this channel when HasChannel.
	Channel    int
	HasChannel bool
	Quantity   measurement.Quantity
	Scale      float64
	Offset     float64
}

// Command is a downlink the device understands.
type Command struct {
	Name        string
	Description string
	FPort       uint8
	Confirmed   bool
	Params      []Param
	// Hex is the fixed payload of a command without parameters; Template
	// the payload pattern of one with parameters (see template.go).
	Hex      string
	Template string

	parts []part
}

// Param is one named parameter of a templated command. The raw integer
// written into the payload is round(value*Scale); Min and Max bound value.
type Param struct {
	Name        string
	Description string
	Unit        string
	Min, Max    *float64
	Scale       float64
}

// Downlink is a built downlink payload for the network layer's queue.
type Downlink struct {
	FPort     uint8
	Payload   []byte
	Confirmed bool
}

// Source is one tree of profile files. Name prefixes file names in error
// messages (a directory path, or "embedded").
type Source struct {
	FS   fs.FS
	Name string
}

// Set is an immutable collection of profiles by id; safe for concurrent use.
type Set struct {
	profiles map[string]*Profile
}

// LoadDir loads every profile below dir.
func LoadDir(dir string, reg *codec.Registry) (*Set, error) {
	return Load(reg, Source{FS: dirFS(dir), Name: dir})
}

// LoadFS loads every profile in fsys; name prefixes file names in errors.
func LoadFS(fsys fs.FS, name string, reg *codec.Registry) (*Set, error) {
	return Load(reg, Source{FS: fsys, Name: name})
}

// Load loads the profiles of all sources. A profile id found in a later
// source replaces the one of an earlier source, so a directory given after
// the embedded defaults overrides them file by file. Every problem in every
// file is reported at once.
func Load(reg *codec.Registry, sources ...Source) (*Set, error) {
	if reg == nil {
		return nil, errors.New("load profiles: nil codec registry")
	}
	s := &Set{profiles: map[string]*Profile{}}
	var errs []error
	for _, src := range sources {
		err := fs.WalkDir(src.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", joinName(src.Name, p), err))
				return nil
			}
			name := joinName(src.Name, p)
			if !d.IsDir() && path.Ext(p) == ".yml" {
				// Silently skipping it would leave the device without a profile.
				errs = append(errs, fmt.Errorf("%s: profile files end in .yaml", name))
				return nil
			}
			if d.IsDir() || path.Ext(p) != ".yaml" {
				return nil
			}
			data, err := fs.ReadFile(src.FS, p)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return nil
			}
			id, ok := idFromPath(p)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: profile files must be <vendor>/<model>.yaml in lower case (a-z, 0-9, ., _, -)", name))
				return nil
			}
			prof, err := Parse(id, name, data, reg)
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			s.profiles[id] = prof
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("walk %s: %w", src.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

var idPart = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func idFromPath(p string) (string, bool) {
	parts := strings.Split(strings.TrimSuffix(p, ".yaml"), "/")
	if len(parts) != 2 || !idPart.MatchString(parts[0]) || !idPart.MatchString(parts[1]) {
		return "", false
	}
	return parts[0] + "/" + parts[1], true
}

func joinName(root, p string) string {
	if root == "" || root == "." {
		return p
	}
	return strings.TrimSuffix(root, "/") + "/" + p
}

// Get returns the profile with id.
func (s *Set) Get(id string) (*Profile, bool) {
	p, ok := s.profiles[id]
	return p, ok
}

// IDs lists the profile ids, sorted.
func (s *Set) IDs() []string {
	ids := make([]string, 0, len(s.profiles))
	for id := range s.profiles {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Len is the number of profiles.
func (s *Set) Len() int { return len(s.profiles) }

// file is the on-disk schema; see Parse.
type file struct {
	Vendor      string `yaml:"vendor"`
	Model       string `yaml:"model"`
	Description string `yaml:"description"`
	Firmware    struct {
		Min string `yaml:"min"`
		Max string `yaml:"max"`
	} `yaml:"firmware"`
	LoRaWAN struct {
		Version     string   `yaml:"version"`
		Class       string   `yaml:"class"`
		ADR         string   `yaml:"adr"`
		ADRMinDR    *int     `yaml:"adr_min_dr"`
		ADRMaxDR    *int     `yaml:"adr_max_dr"`
		ADRMarginDB *float64 `yaml:"adr_margin_db"`
	} `yaml:"lorawan"`
	Codec struct {
		ID      string         `yaml:"id"`
		Options map[string]any `yaml:"options"`
	} `yaml:"codec"`
	UplinkInterval string        `yaml:"uplink_interval"`
	Measurements   []fileMapping `yaml:"measurements"`
	Downlinks      []fileCommand `yaml:"downlinks"`
	Tests          []fileTest    `yaml:"tests"`
}

type fileMapping struct {
	Field    string   `yaml:"field"`
	Channel  *int     `yaml:"channel"`
	Quantity string   `yaml:"quantity"`
	Scale    *float64 `yaml:"scale"`
	Offset   float64  `yaml:"offset"`
}

type fileCommand struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	FPort       int         `yaml:"fport"`
	Confirmed   bool        `yaml:"confirmed"`
	Hex         string      `yaml:"hex"`
	Template    string      `yaml:"template"`
	Params      []fileParam `yaml:"params"`
}

type fileParam struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Unit        string   `yaml:"unit"`
	Min         *float64 `yaml:"min"`
	Max         *float64 `yaml:"max"`
	Scale       *float64 `yaml:"scale"`
}

// problems collects "file:line: message" errors.
type problems struct {
	file  string
	root  *yaml.Node
	errs  []error
	lines []int
}

func (p *problems) add(line int, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...)))
	p.lines = append(p.lines, line)
}

// sorted returns the problems in line order, as an editor would list them.
func (p *problems) sorted() []error {
	idx := make([]int, len(p.errs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p.lines[idx[a]] < p.lines[idx[b]] })
	out := make([]error, len(idx))
	for i, j := range idx {
		out[i] = p.errs[j]
	}
	return out
}

// line returns the line of the value at path (map keys as strings, sequence
// indexes as ints), or of the deepest node found on the way, so that a
// message about a missing key points at its parent.
func (p *problems) line(keys ...any) int {
	n := p.root
	if n == nil {
		return 1
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		var next *yaml.Node
		switch k := k.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return n.Line
}

var (
	yamlUnknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type`)
	yamlLine         = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlSyntax       = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	versionRE        = regexp.MustCompile(`^v?\d+(\.\d+){0,3}$`)
)

var lorawanVersions = map[string]bool{
	"1.0.0": true, "1.0.1": true, "1.0.2": true, "1.0.3": true, "1.0.4": true, "1.1": true, "1.1.0": true,
}

// Parse decodes and validates one profile file. id is "<vendor>/<model>",
// name is the file name used in errors. All problems are returned joined.
func Parse(id, name string, data []byte, reg *codec.Registry) (*Profile, error) {
	pr := &problems{file: name}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		if m := yamlSyntax.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", name, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	pr.root = &root
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, fmt.Errorf("%s:1: empty profile", name)
	}

	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		// A TypeError leaves the rest of f decoded, so validation below
		// still finds the other problems of the file.
		for _, msg := range te.Errors {
			// A duplicate key or a document that is not a mapping stops
			// the decoder early; checking the half-filled profile would
			// only add misleading "missing ..." messages.
			if strings.Contains(msg, "already defined") || strings.Contains(msg, "into profile.file") {
				return nil, fmt.Errorf("%s:%s", name, strings.TrimPrefix(msg, "line "))
			}
		}
		for _, msg := range te.Errors {
			if m := yamlUnknownField.FindStringSubmatch(msg); m != nil {
				line, _ := strconv.Atoi(m[1])
				pr.add(line, "unknown key %q", m[2])
			} else if m := yamlLine.FindStringSubmatch(msg); m != nil {
				line, _ := strconv.Atoi(m[1])
				pr.add(line, "%s", m[2])
			} else {
				pr.add(1, "%s", msg)
			}
		}
	}

	p := &Profile{
		ID: id, File: name, Vendor: f.Vendor, Model: f.Model, Description: f.Description,
		Firmware: FirmwareRange{Min: f.Firmware.Min, Max: f.Firmware.Max},
		LoRaWAN: LoRaWAN{Version: f.LoRaWAN.Version, Class: f.LoRaWAN.Class, ADR: ADR{
			Off: f.LoRaWAN.ADR == "off", MinDR: f.LoRaWAN.ADRMinDR, MaxDR: f.LoRaWAN.ADRMaxDR, MarginDB: f.LoRaWAN.ADRMarginDB,
		}},
		Codec:   CodecRef{ID: f.Codec.ID, Options: f.Codec.Options},
		byField: map[string][]int{},
	}
	if p.Vendor == "" {
		pr.add(pr.line(), "missing vendor")
	}
	if p.Model == "" {
		pr.add(pr.line(), "missing model")
	}
	for _, b := range []struct{ key, v string }{{"min", p.Firmware.Min}, {"max", p.Firmware.Max}} {
		if b.v != "" && !versionRE.MatchString(b.v) {
			pr.add(pr.line("firmware", b.key), "bad firmware version %q (want e.g. 1.2.3)", b.v)
		}
	}
	if p.Firmware.Min != "" && p.Firmware.Max != "" && versionRE.MatchString(p.Firmware.Min) &&
		versionRE.MatchString(p.Firmware.Max) && compareVersions(p.Firmware.Min, p.Firmware.Max) > 0 {
		pr.add(pr.line("firmware"), "firmware min %s is above max %s", p.Firmware.Min, p.Firmware.Max)
	}
	if p.LoRaWAN.Version != "" && !lorawanVersions[p.LoRaWAN.Version] {
		pr.add(pr.line("lorawan", "version"), "unknown LoRaWAN version %q", p.LoRaWAN.Version)
	}
	switch p.LoRaWAN.Class {
	case "":
		p.LoRaWAN.Class = "A"
	case "A", "B", "C":
	default:
		pr.add(pr.line("lorawan", "class"), "unknown LoRaWAN class %q (want A, B or C)", p.LoRaWAN.Class)
	}
	checkADR(pr, f.LoRaWAN.ADR, p.LoRaWAN.ADR)

	switch p.Codec.ID {
	case "":
		pr.add(pr.line("codec"), "missing codec id")
	default:
		d, err := reg.New(p.Codec.ID, resolveScript(p.Codec.Options, name))
		switch {
		case errors.Is(err, codec.ErrUnknownCodec):
			pr.add(pr.line("codec", "id"), "unknown codec id %q (known: %s)", p.Codec.ID, strings.Join(reg.IDs(), ", "))
		case err != nil:
			pr.add(pr.line("codec", "options"), "codec options: %v", err)
		default:
			p.decoder = d
		}
	}
	var fieldNames map[string]bool
	if fn, ok := p.decoder.(FieldNamer); ok {
		fieldNames = map[string]bool{}
		for _, n := range fn.FieldNames() {
			fieldNames[n] = true
		}
	}

	if f.UplinkInterval != "" {
		d, err := time.ParseDuration(f.UplinkInterval)
		switch {
		case err != nil:
			pr.add(pr.line("uplink_interval"), "bad duration %q (want e.g. 15m, 1h)", f.UplinkInterval)
		case d <= 0:
			pr.add(pr.line("uplink_interval"), "uplink_interval must be positive, got %s", f.UplinkInterval)
		default:
			p.UplinkInterval = d
		}
	}

	if len(f.Measurements) == 0 {
		pr.add(pr.line(), "no measurements mapped")
	}
	for i, fm := range f.Measurements {
		m := Mapping{Field: fm.Field, Quantity: measurement.Quantity(fm.Quantity), Scale: 1, Offset: fm.Offset}
		switch {
		case fm.Field == "":
			pr.add(pr.line("measurements", i), "measurement %d: missing field", i)
		case fieldNames != nil && !fieldNames[fm.Field]:
			pr.add(pr.line("measurements", i, "field"), "codec %s has no field %q", p.Codec.ID, fm.Field)
		}
		if fm.Channel != nil {
			m.Channel, m.HasChannel = *fm.Channel, true
		}
		if !measurement.Known(m.Quantity) {
			pr.add(pr.line("measurements", i, "quantity"), "unknown quantity %q", fm.Quantity)
		}
		if fm.Scale != nil {
			if *fm.Scale == 0 {
				pr.add(pr.line("measurements", i, "scale"), "scale must not be 0")
			}
			m.Scale = *fm.Scale
		}
		p.byField[m.Field] = append(p.byField[m.Field], len(p.Mappings))
		p.Mappings = append(p.Mappings, m)
	}

	seen := map[string]bool{}
	for i, fc := range f.Downlinks {
		c, ok := parseCommand(pr, i, fc)
		if !ok {
			continue
		}
		if seen[c.Name] {
			pr.add(pr.line("downlinks", i, "name"), "duplicate downlink command %q", c.Name)
			continue
		}
		seen[c.Name] = true
		p.Commands = append(p.Commands, c)
	}

	p.Tests = parseTests(pr, f.Tests)

	if err := errors.Join(pr.sorted()...); err != nil {
		return nil, err
	}
	return p, nil
}

// FirmwareMatches reports whether version v lies in the profile's firmware
// range. An empty or unparsable v matches, since many devices never report
// their firmware version.
func (p *Profile) FirmwareMatches(v string) bool {
	if v == "" || !versionRE.MatchString(v) {
		return true
	}
	if p.Firmware.Min != "" && compareVersions(v, p.Firmware.Min) < 0 {
		return false
	}
	if p.Firmware.Max != "" && compareVersions(v, p.Firmware.Max) > 0 {
		return false
	}
	return true
}

// compareVersions compares dotted numeric versions; missing parts count as 0.
func compareVersions(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "v"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// resolveScript makes a relative `script` file option (the JS codec's
// decoder file) relative to the profile file, so that a vendor codec file
// dropped next to its profile works whatever the daemon's working
// directory. Inline sources and absolute paths stay as they are.
func resolveScript(options map[string]any, profileFile string) map[string]any {
	script, ok := options["script"].(string)
	if !ok || !strings.HasSuffix(script, ".js") || strings.ContainsAny(script, "\n(") || filepath.IsAbs(script) {
		return options
	}
	out := make(map[string]any, len(options))
	for k, v := range options {
		out[k] = v
	}
	out["script"] = filepath.Join(filepath.Dir(profileFile), script)
	return out
}

// checkADR reports an adr switch other than on/off and bounds outside the
// LoRaWAN data rate and margin ranges.
func checkADR(pr *problems, sw string, a ADR) {
	if sw != "" && sw != "on" && sw != "off" {
		pr.add(pr.line("lorawan", "adr"), "adr is %q (want on or off)", sw)
	}
	for _, b := range []struct {
		key string
		v   *int
	}{{"adr_min_dr", a.MinDR}, {"adr_max_dr", a.MaxDR}} {
		if b.v != nil && (*b.v < 0 || *b.v > 15) {
			pr.add(pr.line("lorawan", b.key), "%s %d is outside 0..15", b.key, *b.v)
		}
	}
	if a.MinDR != nil && a.MaxDR != nil && *a.MinDR > *a.MaxDR {
		pr.add(pr.line("lorawan", "adr_min_dr"), "adr_min_dr %d is above adr_max_dr %d", *a.MinDR, *a.MaxDR)
	}
	if a.MarginDB != nil && (*a.MarginDB < 0 || *a.MarginDB > 30) {
		pr.add(pr.line("lorawan", "adr_margin_db"), "adr_margin_db %g is outside 0..30", *a.MarginDB)
	}
}
