package device

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/brocaar/lorawan"
)

// KV is the durable key-value space API-managed devices are kept in (the
// store's bbolt file).
type KV interface {
	Put(key, value []byte) error
	Delete(key []byte) error
	ForEach(fn func(key, value []byte) error) error
}

// ErrManaged is returned when the API tries to change or remove a device
// that the configuration file lists: the file stays the one truth for its
// devices, or a restart would silently undo the change.
var ErrManaged = errors.New("device is managed by the configuration file")

// ErrNotFound is returned for an unknown DevEUI.
var ErrNotFound = errors.New("device not found")

// storedDevice carries the keys too: Device hides them from JSON so that
// the API never returns them.
type storedDevice struct {
	Device
	AppKey  lorawan.AES128Key `json:"app_key"`
	NwkSKey lorawan.AES128Key `json:"nwk_s_key"`
	AppSKey lorawan.AES128Key `json:"app_s_key"`
}

// Persist loads the devices kept in kv into r (devices from the
// configuration file win over a stored one with the same DevEUI) and makes
// Add and Remove write through to kv.
func (r *Registry) Persist(kv KV) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.managed == nil {
		r.managed = make(map[lorawan.EUI64]bool, len(r.devices))
		for eui := range r.devices {
			r.managed[eui] = true
		}
	}
	var errs []error
	err := kv.ForEach(func(k, v []byte) error {
		var sd storedDevice
		if err := json.Unmarshal(v, &sd); err != nil {
			errs = append(errs, fmt.Errorf("stored device %x: %w", k, err))
			return nil
		}
		d := sd.Device
		d.AppKey, d.NwkSKey, d.AppSKey = sd.AppKey, sd.NwkSKey, sd.AppSKey
		if r.managed[d.DevEUI] {
			return nil
		}
		if err := d.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("stored device %s: %w", d.DevEUI, err))
			return nil
		}
		r.devices[d.DevEUI] = d
		return nil
	})
	if err != nil {
		return fmt.Errorf("load devices: %w", err)
	}
	r.kv = kv
	return errors.Join(errs...)
}

// Managed reports whether the configuration file lists eui.
func (r *Registry) Managed(eui lorawan.EUI64) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.managed[eui]
}

// Add validates d, stores it durably (when persisted) and adds or replaces
// it. Devices from the configuration file cannot be replaced.
func (r *Registry) Add(d Device) error {
	if err := d.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.managed[d.DevEUI] {
		return ErrManaged
	}
	if r.kv != nil {
		b, err := json.Marshal(storedDevice{Device: d, AppKey: d.AppKey, NwkSKey: d.NwkSKey, AppSKey: d.AppSKey})
		if err != nil {
			return err
		}
		if err := r.kv.Put(d.DevEUI[:], b); err != nil {
			return fmt.Errorf("store device %s: %w", d.DevEUI, err)
		}
	}
	r.devices[d.DevEUI] = d
	return nil
}

// Remove deletes an API-managed device.
func (r *Registry) Remove(eui lorawan.EUI64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.managed[eui] {
		return ErrManaged
	}
	if _, ok := r.devices[eui]; !ok {
		return ErrNotFound
	}
	if r.kv != nil {
		if err := r.kv.Delete(eui[:]); err != nil {
			return fmt.Errorf("delete device %s: %w", eui, err)
		}
	}
	delete(r.devices, eui)
	return nil
}

// Reload replaces the devices of the configuration file with devs (a
// SIGHUP after the file changed): new ones are added, changed ones
// replaced, dropped ones removed. API-managed devices stay unless the file
// now lists them. Nothing changes when devs has an invalid entry.
func (r *Registry) Reload(devs []Device) error {
	next, err := NewRegistry(devs)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for eui := range r.managed {
		if _, still := next.devices[eui]; !still {
			delete(r.devices, eui)
		}
	}
	r.managed = make(map[lorawan.EUI64]bool, len(next.devices))
	for eui, d := range next.devices {
		r.devices[eui] = d
		r.managed[eui] = true
	}
	return nil
}
