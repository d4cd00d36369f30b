// Package device holds the registry of the LoRaWAN devices this gateway
// serves: identity, keys, firmware profile and site.
package device

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/brocaar/lorawan"
)

// Activation is how a device obtains its session.
type Activation string

// Activation modes.
const (
	OTAA Activation = "otaa"
	ABP  Activation = "abp"
	// External devices have their session in another network server
	// (ChirpStack, The Things Stack) and reach loraedge through MQTT
	// (internal/mqttin): no keys here.
	External Activation = "external"
)

// Class is the LoRaWAN device class; Class B is a non-goal.
type Class string

// Device classes.
const (
	ClassA Class = "A"
	ClassC Class = "C"
)

// Device is one end device. Keys are secrets: never log them.
type Device struct {
	DevEUI     lorawan.EUI64 `mapstructure:"dev_eui" yaml:"dev_eui" json:"dev_eui"`
	Name       string        `mapstructure:"name" yaml:"name" json:"name"`
	Activation Activation    `mapstructure:"activation" yaml:"activation" json:"activation"`
	Class      Class         `mapstructure:"class" yaml:"class" json:"class"`
	// MACVersion is "1.0.2", "1.0.3" or "1.0.4"; it selects DevNonce rules.
	MACVersion string `mapstructure:"mac_version" yaml:"mac_version" json:"mac_version"`
	// Profile is the firmware profile id, e.g. "elsys/ers-co2".
	Profile string   `mapstructure:"profile" yaml:"profile" json:"profile"`
	Site    string   `mapstructure:"site" yaml:"site" json:"site"`
	Tags    []string `mapstructure:"tags" yaml:"tags" json:"tags,omitempty"`

	// OTAA
	JoinEUI lorawan.EUI64     `mapstructure:"join_eui" yaml:"join_eui" json:"join_eui"`
	AppKey  lorawan.AES128Key `mapstructure:"app_key" yaml:"app_key" json:"-"`

	// ABP
	DevAddr lorawan.DevAddr   `mapstructure:"dev_addr" yaml:"dev_addr" json:"dev_addr"`
	NwkSKey lorawan.AES128Key `mapstructure:"nwk_s_key" yaml:"nwk_s_key" json:"-"`
	AppSKey lorawan.AES128Key `mapstructure:"app_s_key" yaml:"app_s_key" json:"-"`
	// SkipFCntCheck disables the replay check for ABP devices that reset
	// their counter on power-up. Off by default: it reopens replay attacks.
	SkipFCntCheck bool `mapstructure:"skip_fcnt_check" yaml:"skip_fcnt_check" json:"skip_fcnt_check"`
}

// Validate reports every problem of d at once.
func (d Device) Validate() error {
	var errs []error
	var zeroEUI lorawan.EUI64
	var zeroKey lorawan.AES128Key
	if d.DevEUI == zeroEUI {
		errs = append(errs, errors.New("dev_eui: required"))
	}
	switch d.Activation {
	case OTAA:
		if d.AppKey == zeroKey {
			errs = append(errs, errors.New("app_key: required for otaa"))
		}
	case ABP:
		var zeroAddr lorawan.DevAddr
		if d.DevAddr == zeroAddr {
			errs = append(errs, errors.New("dev_addr: required for abp"))
		}
		if d.NwkSKey == zeroKey || d.AppSKey == zeroKey {
			errs = append(errs, errors.New("nwk_s_key, app_s_key: required for abp"))
		}
	case External:
	default:
		errs = append(errs, fmt.Errorf("activation: %q is not otaa, abp or external", d.Activation))
	}
	switch d.Class {
	case ClassA, ClassC, "":
	default:
		errs = append(errs, fmt.Errorf("class: %q is not A or C", d.Class))
	}
	switch d.MACVersion {
	case "1.0.2", "1.0.3", "1.0.4", "":
	default:
		errs = append(errs, fmt.Errorf("mac_version: %q is not 1.0.2, 1.0.3 or 1.0.4", d.MACVersion))
	}
	return errors.Join(errs...)
}

// Registry is the set of known devices, safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	devices map[lorawan.EUI64]Device
	// managed are the devices of the configuration file; kv keeps the
	// others (see Persist).
	managed map[lorawan.EUI64]bool
	kv      KV
	kek     Sealer
}

// NewRegistry returns a registry holding devs; it fails on duplicates or
// invalid devices, naming each.
func NewRegistry(devs []Device) (*Registry, error) {
	r := &Registry{devices: make(map[lorawan.EUI64]Device, len(devs))}
	var errs []error
	for i, d := range devs {
		if err := d.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("devices[%d] (%s): %w", i, d.DevEUI, err))
			continue
		}
		if _, dup := r.devices[d.DevEUI]; dup {
			errs = append(errs, fmt.Errorf("devices[%d]: dev_eui %s listed twice", i, d.DevEUI))
			continue
		}
		r.devices[d.DevEUI] = d
	}
	return r, errors.Join(errs...)
}

// Get returns the device with the given DevEUI.
func (r *Registry) Get(eui lorawan.EUI64) (Device, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.devices[eui]
	return d, ok
}

// List returns all devices sorted by DevEUI.
func (r *Registry) List() []Device {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Device, 0, len(r.devices))
	for _, d := range r.devices {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DevEUI.String() < out[j].DevEUI.String() })
	return out
}
