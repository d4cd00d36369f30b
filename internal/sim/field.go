package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/loraedge/loraedge/internal/device"
)

// codeField is the DevEUI scenario byte of NewField's devices.
const codeField = 0x04

// FieldConfig describes the emulated field of the MAC-layer issue (issue
// 23): many OTAA EU868 devices that join at SF12 and report at a fixed
// interval through a link model, so an end-to-end test can watch the
// network's ADR steer them. Zero fields take DefaultFieldConfig's.
type FieldConfig struct {
	Devices  int
	Interval time.Duration // virtual time between a device's uplinks
	Duration time.Duration // virtual length of the run
	Start    time.Time     // virtual start
	// Link is the radio model; nil takes FieldLinkModel (-5..+10 dB,
	// 2 dB fading).
	Link *LinkModel
	// RefuseChMask lists device indices (0-based) that NACK every channel
	// mask, so a test can check that the network keeps their old state.
	RefuseChMask []int
	// ADROff lists device indices whose ADR bit is off, which the network
	// must leave alone.
	ADROff []int
}

// DefaultFieldConfig is the field: 40 devices, an uplink every
// 10 minutes for 50 virtual hours.
func DefaultFieldConfig() FieldConfig {
	return FieldConfig{Devices: 40, Interval: 10 * time.Minute, Duration: 50 * time.Hour,
		Start: time.Date(2026, 3, 2, 0, 0, 0, 0, cet)}
}

func (fc FieldConfig) withDefaults() (FieldConfig, error) {
	d := DefaultFieldConfig()
	if fc.Devices == 0 {
		fc.Devices = d.Devices
	}
	if fc.Interval <= 0 {
		fc.Interval = d.Interval
	}
	if fc.Duration <= 0 {
		fc.Duration = d.Duration
	}
	if fc.Start.IsZero() {
		fc.Start = d.Start
	}
	if fc.Link == nil {
		m := FieldLinkModel()
		fc.Link = &m
	}
	var errs []error
	if fc.Devices < 1 || fc.Devices > 0xffff {
		errs = append(errs, fmt.Errorf("field: %d devices outside 1..65535", fc.Devices))
	}
	for _, i := range slices.Concat(fc.RefuseChMask, fc.ADROff) {
		if i < 0 || i >= fc.Devices {
			errs = append(errs, fmt.Errorf("field: %d is not a device index (0..%d)", i, fc.Devices-1))
		}
	}
	if err := fc.Link.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("field: %w", err))
	}
	return fc, errors.Join(errs...)
}

// scenario builds the field's devices: Elsys room sensors of empty rooms,
// OTAA with LoRaWAN 1.0.3, ADR on, battery powered.
func (fc FieldConfig) scenario() Scenario {
	return Scenario{
		Name:        "adr-field",
		Description: fmt.Sprintf("%d OTAA devices joining at SF12 for the network's ADR", fc.Devices),
		Start:       fc.Start,
		Duration:    fc.Duration,
		build: func(time.Time) []*simDevice {
			out := make([]*simDevice, fc.Devices)
			for i := range out {
				d := otaaDevice(codeField, uint16(i+1), fmt.Sprintf("Field device %d", i+1), ProfileElsysCO2, "", "1.0.3")
				out[i] = &simDevice{
					dev: d, sensor: &emptyRoom{seed: float64(i)}, interval: fc.Interval,
					refuseChMask: slices.Contains(fc.RefuseChMask, i),
					noADR:        slices.Contains(fc.ADROff, i),
					battery:      batteryLevel(0.5 + 0.5*float64(i%10)/10),
				}
			}
			return out
		},
	}
}

// FieldDevices returns the field's devices with their keys, for the
// daemon's device list.
func FieldDevices(fc FieldConfig) ([]device.Device, error) {
	fc, err := fc.withDefaults()
	if err != nil {
		return nil, err
	}
	sds := fc.scenario().build(fc.Start)
	out := make([]device.Device, len(sds))
	for i, sd := range sds {
		out[i] = sd.dev
	}
	return out, nil
}

// NewField builds a simulator that plays the field against opts.Target.
// The field replaces opts.Config.Scenario, its link model opts.Link and its
// start and length opts.Start and opts.Duration; the other options (speed,
// gateways, timeouts, seed) are the caller's. Each
// DeviceState carries the device's MeanSNR, so a test can compare where
// the network put it with the fastest rate the link allows
// (adrsim.FastestDR).
func NewField(opts Options, fc FieldConfig) (*Simulator, error) {
	fc, err := fc.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	sc := fc.scenario()
	opts.field = &sc
	opts.Link = fc.Link
	opts.Start, opts.Duration = fc.Start, fc.Duration
	return New(opts)
}

// emptyRoom is a room sensor nobody is in: steady CO2, a slowly wandering
// temperature. The field is about the radio, not the room.
type emptyRoom struct{ seed float64 }

func (r *emptyRoom) reading(t time.Time) (uint8, []byte, error) {
	temp := 19 + wobble(t, r.seed, 0.8)
	return FPortElsys, EncodeElsys(ElsysReading{
		Temperature: temp, Humidity: uint8(math.Round(45 + wobble(t, r.seed+1, 3))), CO2: 430,
	}), nil
}
