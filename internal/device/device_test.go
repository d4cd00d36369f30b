package device

import (
	"errors"
	"sort"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/secret"
)

type memKV map[string][]byte

func (m memKV) Put(k, v []byte) error { m[string(k)] = append([]byte(nil), v...); return nil }
func (m memKV) Delete(k []byte) error { delete(m, string(k)); return nil }
func (m memKV) ForEach(fn func(k, v []byte) error) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn([]byte(k), m[k]); err != nil {
			return err
		}
	}
	return nil
}

func otaa(b byte) Device {
	return Device{DevEUI: lorawan.EUI64{b}, Activation: OTAA, AppKey: lorawan.AES128Key{b, 1}, Profile: "elsys/ers-co2"}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		d    Device
		want string
	}{
		{"ok otaa", otaa(1), ""},
		{"no eui", Device{Activation: OTAA, AppKey: lorawan.AES128Key{1}}, "dev_eui: required"},
		{"otaa without key", Device{DevEUI: lorawan.EUI64{1}, Activation: OTAA}, "app_key"},
		{"abp without keys", Device{DevEUI: lorawan.EUI64{1}, Activation: ABP}, "dev_addr"},
		{"external needs no keys", Device{DevEUI: lorawan.EUI64{1}, Activation: External}, ""},
		{"bad class", Device{DevEUI: lorawan.EUI64{1}, Activation: External, Class: "B"}, "class"},
		{"bad version", Device{DevEUI: lorawan.EUI64{1}, Activation: External, MACVersion: "1.1"}, "mac_version"},
		{"bad activation", Device{DevEUI: lorawan.EUI64{1}, Activation: "magic"}, "activation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestRegistryRejectsDuplicatesAndInvalid(t *testing.T) {
	_, err := NewRegistry([]Device{otaa(1), otaa(1), {DevEUI: lorawan.EUI64{2}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "devices[1]: dev_eui 0100000000000000 listed twice")
	assert.Contains(t, err.Error(), "devices[2]")
}

// API-managed devices survive a restart with their keys; devices of the
// configuration file cannot be changed or removed through the API.
func TestPersist(t *testing.T) {
	kv := memKV{}
	r, err := NewRegistry([]Device{otaa(1)})
	require.NoError(t, err)
	require.NoError(t, r.Persist(kv))
	require.ErrorIs(t, r.Add(otaa(1)), ErrManaged)
	require.ErrorIs(t, r.Remove(lorawan.EUI64{1}), ErrManaged)
	require.NoError(t, r.Add(otaa(2)))
	require.NoError(t, r.Add(otaa(3)))
	require.NoError(t, r.Remove(lorawan.EUI64{3}))
	require.ErrorIs(t, r.Remove(lorawan.EUI64{3}), ErrNotFound)
	require.Error(t, r.Add(Device{DevEUI: lorawan.EUI64{4}, Activation: OTAA}), "invalid device refused")

	r2, err := NewRegistry([]Device{otaa(1)})
	require.NoError(t, err)
	require.NoError(t, r2.Persist(kv))
	d, ok := r2.Get(lorawan.EUI64{2})
	require.True(t, ok)
	assert.Equal(t, lorawan.AES128Key{2, 1}, d.AppKey, "keys are kept at rest")
	_, ok = r2.Get(lorawan.EUI64{3})
	assert.False(t, ok)
	assert.Len(t, r2.List(), 2)
	assert.True(t, r2.Managed(lorawan.EUI64{1}))
	assert.False(t, r2.Managed(lorawan.EUI64{2}))
}

type failKV struct{ memKV }

func (failKV) Put([]byte, []byte) error { return errors.New("disk gone") }

func TestAddFailsWhenStoreFails(t *testing.T) {
	r, err := NewRegistry(nil)
	require.NoError(t, err)
	require.NoError(t, r.Persist(failKV{memKV{}}))
	require.ErrorContains(t, r.Add(otaa(5)), "disk gone")
	_, ok := r.Get(lorawan.EUI64{5})
	assert.False(t, ok, "not added when it could not be stored")
}

func TestReload(t *testing.T) {
	kv := memKV{}
	r, err := NewRegistry([]Device{otaa(1), otaa(2)})
	require.NoError(t, err)
	require.NoError(t, r.Persist(kv))
	require.NoError(t, r.Add(otaa(7)))

	changed := otaa(2)
	changed.Name = "renamed"
	require.NoError(t, r.Reload([]Device{changed, otaa(3)}))
	_, ok := r.Get(lorawan.EUI64{1})
	assert.False(t, ok, "dropped from the file")
	d, _ := r.Get(lorawan.EUI64{2})
	assert.Equal(t, "renamed", d.Name)
	assert.True(t, r.Managed(lorawan.EUI64{3}))
	_, ok = r.Get(lorawan.EUI64{7})
	assert.True(t, ok, "API-managed device kept")

	require.Error(t, r.Reload([]Device{{DevEUI: lorawan.EUI64{9}}}))
	_, ok = r.Get(lorawan.EUI64{3})
	assert.True(t, ok, "an invalid file changes nothing")
}

func TestPersistSealed(t *testing.T) {
	kek, err := secret.Parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	require.NoError(t, err)
	kv := memKV{}
	r, _ := NewRegistry(nil)
	require.NoError(t, r.Persist(kv))
	require.NoError(t, r.Add(otaa(2))) // stored in plain, before the KEK

	r, _ = NewRegistry(nil)
	require.NoError(t, r.PersistSealed(kv, kek))
	require.NoError(t, r.Add(otaa(3)))
	for k, v := range kv {
		assert.NotContains(t, string(v), "app_key", "device %x: plain key on disk", k)
		assert.NotContains(t, string(v), "0201000000", "device %x: plain key on disk", k)
		assert.Contains(t, string(v), "sealed_keys")
	}
	r, _ = NewRegistry(nil)
	require.NoError(t, r.PersistSealed(kv, kek))
	d, ok := r.Get(lorawan.EUI64{2})
	require.True(t, ok)
	assert.Equal(t, lorawan.AES128Key{2, 1}, d.AppKey)

	r, _ = NewRegistry(nil)
	require.ErrorContains(t, r.Persist(kv), "key-encryption key", "without the KEK the keys stay closed")
}
