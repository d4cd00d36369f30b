package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenUDPListenerNeedsGatewayList(t *testing.T) {
	_, err := Load(Source{Env: []string{"LORAEDGE_UDP_LISTEN=:1700"}})
	require.ErrorContains(t, err, `udp.listen: ":1700" is not a loopback address`)
	require.ErrorContains(t, err, "gateways list")

	file := filepath.Join(t.TempDir(), "loraedge.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`udp:
  listen: "0.0.0.0:1700"
gateways:
  - id: "b827ebfffe000001"
    name: Feuerwache Nord
    allowed_from: ["10.20.0.7/32", "fd00::/64"]
    location: {lat: 52.1234, lon: 8.5678}
`), 0o600))
	c, err := Load(Source{File: file})
	require.NoError(t, err)
	require.Len(t, c.Gateways, 1)
	g := c.Gateways[0]
	assert.Equal(t, "b827ebfffe000001", g.ID.String())
	assert.Equal(t, "Feuerwache Nord", g.Name)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.20.0.7/32"), netip.MustParsePrefix("fd00::/64")}, g.AllowedFrom)
	assert.InDelta(t, 8.5678, g.Location.Lon, 1e-9)

}

func TestBadGatewayCIDRNamesTheKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "loraedge.yaml")
	require.NoError(t, os.WriteFile(file, []byte("gateways:\n  - id: \"b827ebfffe000001\"\n    allowed_from: [\"10.20.0.300/32\"]\n"), 0o600))
	_, err := Load(Source{File: file})
	require.ErrorContains(t, err, "gateways[0].allowed_from[0]")
	require.ErrorContains(t, err, "10.20.0.300")
}
