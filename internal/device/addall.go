package device

import (
	"errors"
	"fmt"
)

// batchKV is a KV that can store many keys in one transaction
// (*store.KV); with a plain KV, AddAll undoes its own writes on failure.
type batchKV interface {
	PutAll(pairs [][2][]byte) error
}

// AddAll adds or replaces every device of devs, or none: each is validated
// first, none may be listed in the configuration file, and they are
// written in one transaction (when persisted).
func (r *Registry) AddAll(devs []Device) error {
	var errs []error
	for _, d := range devs {
		if err := d.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.DevEUI, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range devs {
		if r.managed[d.DevEUI] {
			return fmt.Errorf("%s: %w", d.DevEUI, ErrManaged)
		}
	}
	if r.kv != nil {
		if err := r.writeAll(devs); err != nil {
			return err
		}
	}
	for _, d := range devs {
		r.devices[d.DevEUI] = d
	}
	return nil
}

// writeAll stores devs durably, all or none; r.mu is held.
func (r *Registry) writeAll(devs []Device) error {
	pairs := make([][2][]byte, 0, len(devs))
	for _, d := range devs {
		b, err := r.encode(d)
		if err != nil {
			return err
		}
		pairs = append(pairs, [2][]byte{d.DevEUI[:], b})
	}
	if bkv, ok := r.kv.(batchKV); ok {
		if err := bkv.PutAll(pairs); err != nil {
			return fmt.Errorf("store devices: %w", err)
		}
		return nil
	}
	for i, p := range pairs {
		if err := r.kv.Put(p[0], p[1]); err != nil {
			r.undo(devs[:i])
			return fmt.Errorf("store device %s: %w", devs[i].DevEUI, err)
		}
	}
	return nil
}

// undo puts back what the devices written before a failure replaced.
func (r *Registry) undo(written []Device) {
	for _, d := range written {
		key := d.DevEUI
		if old, ok := r.devices[key]; ok {
			if b, err := r.encode(old); err == nil {
				_ = r.kv.Put(key[:], b)
			}
			continue
		}
		_ = r.kv.Delete(key[:])
	}
}
