package device

import (
	"bytes"
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
	AppKey  *lorawan.AES128Key `json:"app_key,omitempty"`
	NwkSKey *lorawan.AES128Key `json:"nwk_s_key,omitempty"`
	AppSKey *lorawan.AES128Key `json:"app_s_key,omitempty"`
	// SealedKeys holds the three keys sealed with the key-encryption key
	// instead, when one is configured.
	SealedKeys []byte `json:"sealed_keys,omitempty"`
}

// Sealer encrypts key material at rest (internal/secret.KEK).
type Sealer interface {
	Seal(plain, aad []byte) []byte
	Open(sealed, aad []byte) ([]byte, error)
}

func (r *Registry) encode(d Device) ([]byte, error) {
	sd := storedDevice{Device: d}
	if r.kek != nil {
		keys := append(append(append([]byte(nil), d.AppKey[:]...), d.NwkSKey[:]...), d.AppSKey[:]...)
		sd.SealedKeys = r.kek.Seal(keys, d.DevEUI[:])
	} else {
		sd.AppKey, sd.NwkSKey, sd.AppSKey = &d.AppKey, &d.NwkSKey, &d.AppSKey
	}
	return json.Marshal(sd)
}

func (r *Registry) decode(v []byte) (Device, error) {
	var sd storedDevice
	if err := json.Unmarshal(v, &sd); err != nil {
		return Device{}, err
	}
	d := sd.Device
	for _, k := range []struct{ dst, src *lorawan.AES128Key }{{&d.AppKey, sd.AppKey}, {&d.NwkSKey, sd.NwkSKey}, {&d.AppSKey, sd.AppSKey}} {
		if k.src != nil {
			*k.dst = *k.src
		}
	}
	if len(sd.SealedKeys) > 0 {
		if r.kek == nil {
			return Device{}, errors.New("keys are encrypted at rest: configure the key-encryption key")
		}
		keys, err := r.kek.Open(sd.SealedKeys, d.DevEUI[:])
		if err != nil {
			return Device{}, err
		}
		if len(keys) != 48 {
			return Device{}, errors.New("bad sealed keys")
		}
		copy(d.AppKey[:], keys[:16])
		copy(d.NwkSKey[:], keys[16:32])
		copy(d.AppSKey[:], keys[32:])
	}
	return d, nil
}

// Persist loads the devices kept in kv into r (devices from the
// configuration file win over a stored one with the same DevEUI) and makes
// Add and Remove write through to kv.
func (r *Registry) Persist(kv KV) error { return r.PersistSealed(kv, nil) }

// PersistSealed is Persist with the keys sealed by kek at rest (nil: plain).
// Devices stored in plain before are sealed when a kek is given.
func (r *Registry) PersistSealed(kv KV, kek Sealer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kek = kek
	if r.managed == nil {
		r.managed = make(map[lorawan.EUI64]bool, len(r.devices))
		for eui := range r.devices {
			r.managed[eui] = true
		}
	}
	var errs []error
	var reseal []Device
	err := kv.ForEach(func(k, v []byte) error {
		d, err := r.decode(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("stored device %x: %w", k, err))
			return nil
		}
		if kek != nil && !bytes.Contains(v, []byte(`"sealed_keys"`)) {
			reseal = append(reseal, d)
		}
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
	for _, d := range reseal {
		b, err := r.encode(d)
		if err == nil {
			err = kv.Put(d.DevEUI[:], b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("seal keys of %s: %w", d.DevEUI, err))
		}
	}
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
		b, err := r.encode(d)
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
