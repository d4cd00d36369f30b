package sim

import (
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
)

func TestScenariosListAndDevices(t *testing.T) {
	assert.Equal(t, []string{"all", "building-meters", "county", "flood", "school-day", "winter-night"}, Scenarios())
	assert.Nil(t, Devices("nope"))
	assert.Nil(t, Sites("nope"))
	profiles := map[string]bool{ProfileRoadStation: true, ProfileElsysCO2: true, ProfileEM300DI: true,
		ProfileCMi4140: true, ProfileKLAX: true, ProfileValve: true, ProfileLDDS75: true, ProfileVS133: true}
	total := 0
	for _, name := range Scenarios() {
		t.Run(name, func(t *testing.T) {
			devs := Devices(name)
			require.NotEmpty(t, devs)
			_, err := device.NewRegistry(devs)
			require.NoError(t, err, "valid devices with unique EUIs")
			assert.Equal(t, devs, Devices(name), "deterministic identities and keys")
			sites := map[string]bool{}
			for _, s := range Sites(name) {
				sites[s.ID] = true
				assert.Contains(t, []string{"road", "building", "gauge", "area"}, s.Kind)
				if s.Kind == "road" {
					assert.NotEmpty(t, s.Road)
					assert.Positive(t, s.Km)
				}
			}
			for _, d := range devs {
				assert.True(t, profiles[d.Profile], d.Profile)
				assert.True(t, sites[d.Site], "site %q of %s listed", d.Site, d.Name)
			}
			if name != "all" && name != "county" {
				total += len(devs)
			}
		})
	}
	assert.Len(t, Devices("all"), total, "all = union of the others")
}

func TestDeviceKeysDiffer(t *testing.T) {
	seen := map[lorawan.AES128Key]string{}
	for _, d := range Devices("all") {
		for _, k := range []lorawan.AES128Key{d.AppKey, d.NwkSKey, d.AppSKey} {
			if k == (lorawan.AES128Key{}) {
				continue
			}
			prev, dup := seen[k]
			assert.False(t, dup, "%s shares a key with %s", d.Name, prev)
			seen[k] = d.Name
		}
	}
	assert.Len(t, seen, 12+2*2) // 12 OTAA AppKeys + 2 ABP devices x 2 session keys
}
