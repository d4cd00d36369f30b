package profile

import (
	"fmt"
	"io/fs"
	"math"
	"os"

	firmwareprofiles "github.com/loraedge/loraedge/firmware-profiles"
	"github.com/loraedge/loraedge/internal/codec"
	"github.com/loraedge/loraedge/internal/inputerr"
	"github.com/loraedge/loraedge/internal/measurement"
)

func dirFS(dir string) fs.FS { return os.DirFS(dir) }

// Decode runs the codec of profile id on in and maps the decoded values to
// measurements of device dev. See Profile.Decode.
func (s *Set) Decode(id string, in codec.Input, dev string) ([]measurement.Measurement, codec.Result, error) {
	p, ok := s.profiles[id]
	if !ok {
		return nil, codec.Result{}, s.unknown(id)
	}
	return p.Decode(in, dev)
}

// Decode runs the profile's codec on in and maps every decoded value that
// has a mapping to a measurement of device dev. A value is dated by its own
// time when the payload states one (history, backward deltas), else by
// in.RecvTime. Values without a mapping stay in the Result only. A value
// the codec flags Invalid becomes a measurement marked
// measurement.MetaQuality=QualityInvalid. On a codec error the measurements
// are nil and the Result holds what the codec returned with the error.
func (p *Profile) Decode(in codec.Input, dev string) ([]measurement.Measurement, codec.Result, error) {
	res, err := p.decoder.Decode(in)
	if err != nil {
		return nil, res, fmt.Errorf("profile %s: %w", p.ID, err)
	}
	ms := make([]measurement.Measurement, 0, len(res.Values))
	for _, v := range res.Values {
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			// A non-finite number would poison aggregates downstream.
			res.Warnings = append(res.Warnings, fmt.Sprintf("field %s: non-finite value dropped", v.Field))
			continue
		}
		for _, i := range p.byField[v.Field] {
			m := &p.Mappings[i]
			if m.HasChannel && m.Channel != v.Channel {
				continue
			}
			t := v.Time
			if t.IsZero() {
				t = in.RecvTime
			}
			meas := measurement.Measurement{
				Device:   dev,
				Quantity: m.Quantity,
				Channel:  v.Channel,
				Value:    v.Value*m.Scale + m.Offset,
				Unit:     measurement.Units[m.Quantity],
				Time:     t,
			}
			if v.Invalid {
				meas.Meta = map[string]string{measurement.MetaQuality: measurement.QualityInvalid}
			}
			ms = append(ms, meas)
		}
	}
	return ms, res, nil
}

// Decoder returns the profile's codec instance.
func (p *Profile) Decoder() codec.Decoder { return p.decoder }

// Command returns the downlink command called name.
func (p *Profile) Command(name string) (Command, bool) {
	for _, c := range p.Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// Downlink builds the payload of command name of profile id; see
// Profile.Downlink.
func (s *Set) Downlink(id, name string, args map[string]float64) (Downlink, error) {
	p, ok := s.profiles[id]
	if !ok {
		return Downlink{}, s.unknown(id)
	}
	return p.Downlink(name, args)
}

// Downlink builds the payload of command name with the given parameter
// values (by parameter name). Missing, unknown and out-of-range arguments
// are ErrBadArgument.
func (p *Profile) Downlink(name string, args map[string]float64) (Downlink, error) {
	c, ok := p.Command(name)
	if !ok {
		return Downlink{}, fmt.Errorf("%w %q for profile %s", ErrUnknownCommand, name, p.ID)
	}
	payload, err := c.Build(args)
	if err != nil {
		return Downlink{}, err
	}
	return Downlink{FPort: c.FPort, Payload: payload, Confirmed: c.Confirmed}, nil
}

// Embedded is the source of the profiles shipped inside the binary
// (firmware-profiles/ at the repository root).
func Embedded() Source {
	return Source{FS: firmwareprofiles.FS, Name: "firmware-profiles"}
}

// LoadDefault loads the embedded profiles and then, if dir is not empty, the
// profiles below dir, which replace embedded ones of the same id; this is
// what the daemon runs with.
func LoadDefault(reg *codec.Registry, dir string) (*Set, error) {
	srcs := []Source{Embedded()}
	if dir != "" {
		srcs = append(srcs, Source{FS: dirFS(dir), Name: dir})
	}
	return Load(reg, srcs...)
}

// unknown is the error for a profile id the set lacks: it says the form of
// ids and names the closest ones, as an operator who typed
// "elsys-ers-co2" needs to hear.
func (s *Set) unknown(id string) error {
	return fmt.Errorf("%w %q%s", ErrUnknownProfile, id, inputerr.Suggest(id, s.IDs(), "vendor/model"))
}
