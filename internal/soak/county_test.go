package soak

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/loadtest"
	"github.com/loraedge/loraedge/internal/testserver"
)

// A county network of two daemons, each a child process: the forwarder
// hears the home's devices only. The home is killed with SIGKILL while
// idle and the forwarder keeps sending; the frames wait in the forwarder's
// durable queue, and after the home's restart every uplink is stored
// exactly once (replays of delivered frames are rejected) and the queue is
// empty.
func TestCountyHomeKilled(t *testing.T) {
	const devices = 4
	devs := loadtest.MakeDevices(devices) // DevAddrs 26000000+i: NetID 000013
	dir := t.TempDir()
	ca := testserver.NewNodeCA(t, dir, "county-ca")
	euis := make([]string, devices)
	for i, d := range devs {
		euis[i] = fmt.Sprintf("%q", d.EUI.String())
	}
	ports := map[string]int{"fwd": testserver.FreePort(t), "home": testserver.FreePort(t)}
	nsid := map[string]string{"fwd": "0016c001ff100001", "home": "0016c001ff100002"}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	table := filepath.Join(dir, "peers.yaml")
	require.NoError(t, os.WriteFile(table, []byte(fmt.Sprintf(`net_id: "000013"
peers:
  - {nsid: %q, name: fwd, url: "https://127.0.0.1:%d", dev_addr_blocks: ["27000000/8"], auth: {token_sha256: %q, ca_file: county-ca.pem}}
  - {nsid: %q, name: home, url: "https://127.0.0.1:%d", dev_addr_blocks: ["26000000/8"], devices: [%s], auth: {token_sha256: %q, ca_file: county-ca.pem}}
`, nsid["fwd"], ports["fwd"], sum("token-fwd"), nsid["home"], ports["home"], strings.Join(euis, ", "), sum("token-home"))), 0o600))
	roamingYAML := func(name string) string {
		_, cert, key := ca.Issue(t, nsid[name])
		return fmt.Sprintf("network:\n  net_id: \"000013\"\nroaming:\n  enabled: true\n  nsid: %q\n  peers_file: %s\n  listen: \"127.0.0.1:%d\"\n  cert_file: %s\n  key_file: %s\n  token: %q\n",
			nsid[name], table, ports[name], cert, key, "token-"+name)
	}
	home := newHarness(t, harnessOptions{devices: devices, extra: roamingYAML("home")})
	fwd := newHarness(t, harnessOptions{devices: 0, extra: roamingYAML("fwd")})
	fwd.start()
	home.start()
	radio := newForwarder(t, fwd.udpPort, 1)
	const queued = `loraedge_roaming_queue_depth{peer="home"}`

	send := func(n int) {
		for range n {
			u := home.fleet.nextUplink(time.Time{})
			radio.push(u.phy, u.at)
			time.Sleep(5 * time.Millisecond)
		}
	}
	send(20)
	home.waitMetric(mStored, 20*time.Second, func(v float64) bool { return v == 20 }, "the first 20 uplinks stored at the home")
	require.Equal(t, 20.0, fwd.metric(`loraedge_network_uplinks_total{result="forwarded"}`))
	require.Zero(t, fwd.metric(mNetOK), "nothing processed at the forwarder")

	home.kill()
	send(20)
	fwd.waitMetric(queued, 20*time.Second, func(v float64) bool { return v == 20 }, "20 frames queued for the dead home")
	home.start()
	home.waitMetric(mNetOK, 30*time.Second, func(v float64) bool { return v == 20 }, "the queued frames stored after the restart")
	fwd.waitMetric(queued, 10*time.Second, func(v float64) bool { return v == 0 }, "the queue drained")
	home.waitMetric(mStored, 10*time.Second, func(v float64) bool { return v == 20 }, "stored")

	// Replays of frames the home already has: rejected, none stored twice.
	for i := range 10 {
		u, ok := home.fleet.sentAt(i)
		require.True(t, ok)
		radio.push(u.phy, u.at)
	}
	home.waitMetric(mReplay, 10*time.Second, func(v float64) bool { return v == 10 }, "replays rejected")
	require.Equal(t, 20.0, home.metric(mStored))
	require.Zero(t, home.metric(mMIC))
}
