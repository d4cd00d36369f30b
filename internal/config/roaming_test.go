package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/device"
)

// The roaming section is checked with its peer table: validate finds a
// table that does not fit this instance before the daemon starts.
func TestRoamingPeerTableValidated(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "peers.yaml")
	require.NoError(t, os.WriteFile(table, []byte(`net_id: "000001"
peers:
  - nsid: "0016c001ff100001"
    name: rathaus
    url: https://127.0.0.1:8441
    dev_addr_blocks: ["02000000/10"]
    auth:
      token_sha256: "`+"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"+`"
`), 0o600))
	c := Default()
	c.Roaming.Enabled = true
	c.Roaming.PeersFile = table
	c.Roaming.CertFile, c.Roaming.KeyFile = "cert.pem", "key.pem"
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "roaming.nsid: required")

	c.Roaming.NSID = lorawan.EUI64{0x00, 0x16, 0xc0, 0x01, 0xff, 0x10, 0x00, 0x01}
	err = c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "roaming.peers_file: the table's net_id 000001 is not network.net_id 000000")

	c.Network.NetID = lorawan.NetID{0, 0, 1}
	require.NoError(t, c.Validate())

	// ABP devices: homed in the table, DevAddr in the home's block.
	c.Devices = []device.Device{{DevEUI: lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 1}, Activation: device.ABP,
		Class: device.ClassA, MACVersion: "1.0.3", DevAddr: lorawan.DevAddr{0x02, 0x00, 0x00, 0x01},
		NwkSKey: lorawan.AES128Key{1}, AppSKey: lorawan.AES128Key{2}}}
	err = c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "devices[0].dev_eui: 70b3d57ed0000001 is homed nowhere in the peer table")
	data, err := os.ReadFile(table)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(table, []byte(strings.Replace(string(data),
		"    auth:", "    devices: [\"70b3d57ed0000001\"]\n    auth:", 1)), 0o600))
	require.NoError(t, c.Validate())
	c.Devices[0].DevAddr = lorawan.DevAddr{0x03, 0, 0, 1}
	err = c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "devices[0].dev_addr: 03000001 is not in a block of its home rathaus")
	c.Devices = nil

	c.Roaming.NSID[7] = 9
	err = c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "roaming.peers_file: peer table "+table+": peers: this instance (roaming.nsid 0016c001ff100009) is not in the table")
}
