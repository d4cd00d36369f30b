package roaming

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An action on a device homed at B goes from A to B's handler and B's
// answer comes back; one on a device B is not home of is refused as
// not_home before the handler, and A does not send one for its own or an
// unknown device.
func TestActionToHome(t *testing.T) {
	valve, meter := lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x0b, 1}, lorawan.EUI64{0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0, 0x0a, 1}
	lnA, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lnB, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	table, ca := actionTable(t, lnA.Addr().String(), lnB.Addr().String(), meter, valve)
	var mu sync.Mutex
	var got []ActionReq
	start := func(nsid lorawan.EUI64, token string, ln net.Listener) *Link {
		tab, err := LoadTable(table, nsid)
		require.NoError(t, err)
		cfg := DefaultConfig()
		cfg.Enabled, cfg.NSID, cfg.Token = true, nsid, token
		cert := issue(t, ca, nsid)
		return serveLink(t, LinkOptions{Config: cfg, Table: tab, Certificate: &cert, Registerer: prometheus.NewRegistry(),
			Action: func(_ context.Context, from *Peer, req ActionReq) ActionAns {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, req)
				return ActionAns{Result: ActionQueued, DownlinkID: from.Name + "-1"}
			}}, ln)
	}
	a, b := start(nsidA, "token-a", lnA), start(nsidB, "token-b", lnB)

	_, foreign := a.ForeignDevice(valve)
	assert.True(t, foreign)
	_, foreign = a.ForeignDevice(meter)
	assert.False(t, foreign, "homed here")
	ans, err := a.SendAction(t.Context(), ActionReq{AlertID: "leak/x", DevEUI: valve, Command: "close"})
	require.NoError(t, err)
	assert.Equal(t, ActionAns{Result: ActionQueued, DownlinkID: "a-1"}, ans)
	mu.Lock()
	require.Len(t, got, 1)
	assert.Equal(t, "close", got[0].Command)
	assert.Equal(t, nsidA.String(), got[0].SenderNSID)
	mu.Unlock()

	_, err = a.SendAction(t.Context(), ActionReq{DevEUI: meter, Command: "close"})
	require.ErrorIs(t, err, ErrNotForeign)
	_, err = a.SendAction(t.Context(), ActionReq{DevEUI: lorawan.EUI64{1}, Command: "close"})
	require.ErrorIs(t, err, ErrNotForeign)

	// B asked by A about A's own device: not B's to queue.
	ans, err = a.sendActionTo(t.Context(), b.self, ActionReq{DevEUI: meter, Command: "close"})
	require.NoError(t, err)
	assert.Equal(t, ActionRefused, ans.Result)
	assert.Equal(t, 1.0, testutil.ToFloat64(b.m.refused.WithLabelValues("not_home")))
	mu.Lock()
	assert.Len(t, got, 1, "refused before the handler")
	mu.Unlock()
}

// actionTable writes a peer table of A (home of meter) and B (home of
// valve) at the given addresses, with the CA that issues their
// certificates.
func actionTable(t *testing.T, addrA, addrB string, meter, valve lorawan.EUI64) (string, *pki) {
	t.Helper()
	dir := t.TempDir()
	ca := newPKI(t, dir, "county-ca")
	table := filepath.Join(dir, "peers.yaml")
	require.NoError(t, os.WriteFile(table, []byte(fmt.Sprintf(`net_id: "000000"
peers:
  - {nsid: %q, name: a, url: "https://%s", dev_addr_blocks: ["00000000/10"], devices: [%q], auth: {token_sha256: %q, ca_file: county-ca.pem}}
  - {nsid: %q, name: b, url: "https://%s", dev_addr_blocks: ["00400000/10"], devices: [%q], auth: {token_sha256: %q, ca_file: county-ca.pem}}
`, nsidA, addrA, meter, tokenHash("token-a"), nsidB, addrB, valve, tokenHash("token-b"))), 0o600))
	return table, ca
}
