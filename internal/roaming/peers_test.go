package roaming

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	nsidA = lorawan.EUI64{0x00, 0x16, 0xc0, 0x01, 0xff, 0x10, 0x00, 0x01}
	nsidB = lorawan.EUI64{0x00, 0x16, 0xc0, 0x01, 0xff, 0x10, 0x00, 0x02}
)

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

const goodTable = `net_id: "000000"
peers:
  - nsid: "0016c001ff100001"
    name: rathaus
    url: https://127.0.0.1:8441
    dev_addr_blocks: ["00000000/10"]
    devices: ["70b3d57ed0000001"]
    dev_eui_ranges: ["70b3d57ed0001000-70b3d57ed00010ff"]
    auth: {token_sha256: "TOKA"}
  - nsid: "0016c001ff100002"
    name: bauhof
    url: https://127.0.0.1:8442/
    dev_addr_blocks: ["00400000/10", "01000000/12"]
    join_eui_ranges: ["70b3d57ed0ff0000-70b3d57ed0ffffff"]
    auth: {token_sha256: "TOKB"}
`

func writeTable(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "peers.yaml")
	body = replaceAll(body, "TOKA", tokenHash("token-a"), "TOKB", tokenHash("token-b"))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func replaceAll(s string, kv ...string) string { return strings.NewReplacer(kv...).Replace(s) }

func TestLoadTableHomes(t *testing.T) {
	tab, err := LoadTable(writeTable(t, goodTable), nsidA)
	require.NoError(t, err)
	home := func(p *Peer, ok bool) string {
		if !ok {
			return ""
		}
		return p.Name
	}
	assert.Equal(t, "rathaus", home(tab.HomeOfDevAddr(lorawan.DevAddr{0x00, 0x3f, 0xff, 0xff})))
	assert.Equal(t, "bauhof", home(tab.HomeOfDevAddr(lorawan.DevAddr{0x00, 0x40, 0x00, 0x00})))
	assert.Equal(t, "bauhof", home(tab.HomeOfDevAddr(lorawan.DevAddr{0x01, 0x0a, 0x00, 0x00})))
	assert.Empty(t, home(tab.HomeOfDevAddr(lorawan.DevAddr{0x00, 0x80, 0x00, 0x00})), "no block")

	join := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0xff, 0x00, 0x10}
	assert.Equal(t, "rathaus", home(tab.HomeOfDevice(lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0, 1}, join)), "listed beats the JoinEUI range")
	assert.Equal(t, "rathaus", home(tab.HomeOfDevice(lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x10, 0x80}, join)), "DevEUI range beats the JoinEUI range")
	assert.Equal(t, "bauhof", home(tab.HomeOfDevice(lorawan.EUI64{1}, join)))
	assert.Empty(t, home(tab.HomeOfDevice(lorawan.EUI64{1}, lorawan.EUI64{2})))

	a, _ := tab.Peer(nsidA)
	b, _ := tab.Peer(nsidB)
	assert.True(t, a.Auth.TokenMatches("token-a"))
	assert.False(t, a.Auth.TokenMatches("token-b"))
	assert.False(t, b.Auth.TokenMatches(""))
}

func TestLoadTableRejects(t *testing.T) {
	tests := map[string]struct {
		edit func(string) string
		errs []string
	}{
		"this instance missing": {func(s string) string { return replaceAll(s, "0016c001ff100001", "0016c001ff100009") },
			[]string{"this instance (roaming.nsid 0016c001ff100001) is not in the table"}},
		"duplicate nsid": {func(s string) string { return replaceAll(s, "0016c001ff100002", "0016c001ff100001") },
			[]string{"peers[1].nsid: 0016c001ff100001 is also peers[0]"}},
		"overlapping blocks": {func(s string) string { return replaceAll(s, `"00400000/10"`, `"00200000/11"`) },
			[]string{"peers[1].dev_addr_blocks[0]: 00200000/11 overlaps peers[0].dev_addr_blocks[0] 00000000/10"}},
		"block outside the NetID": {func(s string) string { return replaceAll(s, `"01000000/12"`, `"02000000/12"`) },
			[]string{"peers[1].dev_addr_blocks[1]: 02000000/12 is not inside NetID 000000"}},
		"bad urls": {func(s string) string {
			return replaceAll(s, "https://127.0.0.1:8441", "http://127.0.0.1:8441", "https://127.0.0.1:8442/", "https://h/x")
		}, []string{`peers[0].url: "http://127.0.0.1:8441" is not an https://host:port URL`, `peers[1].url: "https://h/x"`}},
		"device homed twice": {func(s string) string {
			return replaceAll(s, `join_eui_ranges: ["70b3d57ed0ff0000-70b3d57ed0ffffff"]`, `devices: ["70b3d57ed0000001"]`)
		}, []string{"peers[1].devices[0]: 70b3d57ed0000001 is already homed at rathaus"}},
		"overlapping ranges": {func(s string) string {
			return replaceAll(s, `join_eui_ranges: ["70b3d57ed0ff0000-70b3d57ed0ffffff"]`, `dev_eui_ranges: ["70b3d57ed00010f0-70b3d57ed00011ff"]`)
		}, []string{"peers[1].dev_eui_ranges[0]: overlaps peers[0] range 70b3d57ed0001000-70b3d57ed00010ff"}},
		"no auth": {func(s string) string { return replaceAll(s, `auth: {token_sha256: "TOKB"}`, `auth: {}`) },
			[]string{"peers[1].auth: token_sha256 or ca_file is required"}},
		"bad hash and missing CA": {func(s string) string {
			return replaceAll(s, `auth: {token_sha256: "TOKB"}`, `auth: {token_sha256: "abc", ca_file: ca.pem}`)
		},
			[]string{"peers[1].auth: token_sha256: expected 64 hex digits"}},
		"unknown key": {func(s string) string { return replaceAll(s, "    name: bauhof", "    nmae: bauhof") },
			[]string{"field nmae not found"}},
		"bad block": {func(s string) string { return replaceAll(s, `"01000000/12"`, `"01000000"`) },
			[]string{"is not <devaddr>/<bits>"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := LoadTable(writeTable(t, tt.edit(goodTable)), nsidA)
			require.Error(t, err)
			for _, e := range tt.errs {
				assert.Contains(t, err.Error(), e)
			}
		})
	}
	_, err := LoadTable(filepath.Join(t.TempDir(), "none.yaml"), nsidA)
	assert.ErrorContains(t, err, "peer table")
}
