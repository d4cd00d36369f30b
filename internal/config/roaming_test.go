package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
    auth: {token_sha256: "`+"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"+`"}
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

	c.Roaming.NSID[7] = 9
	err = c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "roaming.peers_file: peer table "+table+": peers: this instance (roaming.nsid 0016c001ff100009) is not in the table")
}
