package soak

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/loraedge/loraedge/internal/loadtest"
	"github.com/loraedge/loraedge/internal/testserver"
)

const (
	mForwardedOK     = `loraedge_roaming_frames_forwarded_total{peer="home",result="Success"}`
	mForwardedReplay = `loraedge_roaming_frames_forwarded_total{peer="home",result="FrameReplayed"}`
	mQueued          = `loraedge_roaming_queue_depth{peer="home"}`
	mCollapsedDup    = `loraedge_store_points_collapsed_total{reason="duplicate"}`
	mTooOld          = `loraedge_network_uplinks_total{result="too_old"}`
)

// county is a forwarder and a home, each a child process; the home's
// peer link goes through a proxy the test can cut.
type county struct {
	fwd, home *harness
	link      *cutProxy
}

// newCounty writes the peer table (the home's URL is the proxy's) and
// starts both daemons. homeExtra is added to the home's configuration.
func newCounty(t *testing.T, devices int, homeExtra string) *county {
	devs := loadtest.MakeDevices(devices)
	dir := t.TempDir()
	ca := testserver.NewNodeCA(t, dir, "county-ca")
	euis := make([]string, devices)
	for i, d := range devs {
		euis[i] = fmt.Sprintf("%q", d.EUI.String())
	}
	listen := map[string]int{"fwd": testserver.FreePort(t), "home": testserver.FreePort(t)}
	link := newCutProxy(t, listen["home"])
	nsid := map[string]string{"fwd": "0016c001ff100001", "home": "0016c001ff100002"}
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	table := filepath.Join(dir, "peers.yaml")
	require.NoError(t, os.WriteFile(table, []byte(fmt.Sprintf(`net_id: "000013"
peers:
  - {nsid: %q, name: fwd, url: "https://127.0.0.1:%d", dev_addr_blocks: ["27000000/8"], auth: {token_sha256: %q, ca_file: county-ca.pem}}
  - {nsid: %q, name: home, url: "https://%s", dev_addr_blocks: ["26000000/8"], devices: [%s], auth: {token_sha256: %q, ca_file: county-ca.pem}}
`, nsid["fwd"], listen["fwd"], sum("token-fwd"), nsid["home"], link.addr, strings.Join(euis, ", "), sum("token-home"))), 0o600))
	yaml := func(name, network string) string {
		_, cert, key := ca.Issue(t, nsid[name])
		return fmt.Sprintf("network:\n  net_id: \"000013\"\n%sroaming:\n  enabled: true\n  nsid: %q\n  peers_file: %s\n  listen: \"127.0.0.1:%d\"\n  cert_file: %s\n  key_file: %s\n  token: %q\n",
			network, nsid[name], table, listen[name], cert, key, "token-"+name)
	}
	c := &county{link: link}
	c.home = newHarness(t, harnessOptions{devices: devices, extra: yaml("home", homeExtra)})
	c.fwd = newHarness(t, harnessOptions{devices: 0, extra: yaml("fwd", "")})
	c.fwd.start()
	c.home.start()
	return c
}

// storedOnce stops the home and checks its store: every uplink the fleet
// sent, each with its own time and data, and no other.
func (c *county) storedOnce(t *testing.T, want int) {
	t.Helper()
	c.home.stop()
	got, _ := readStore(t, c.home.dataDir)
	c.home.fleet.checkAgainstSent(t, got, "home store")
	assert.Equal(t, want, got.uplinks(), "every uplink stored")
	assert.Equal(t, want*measurementsPerUplink, got.points())
}

// The home is killed with SIGKILL while the forwarder's frames sit in its
// dedup window (1 s here) and its store's commit, with the forwarder's
// requests waiting for their answers; more frames come while it is down.
// After the restart every uplink is stored exactly once at the home (store
// content by device and frame counter, no point stored twice) and the
// forwarder's queue is empty.
func TestCountyHomeKilledInWindow(t *testing.T) {
	c := newCounty(t, 4, "  dedup_window: 1s\n")
	radio := newForwarder(t, c.fwd.udpPort, 1)
	send := func(n int, gap time.Duration) {
		for range n {
			u := c.home.fleet.nextUplink(time.Time{})
			radio.push(u.phy, u.at)
			time.Sleep(gap)
		}
	}
	send(8, 5*time.Millisecond)
	c.home.waitMetric(mStored, 20*time.Second, func(v float64) bool { return v == 8 }, "the first uplinks stored")

	send(12, 20*time.Millisecond) // the last ones are in the window when it dies
	c.home.kill()
	send(8, 5*time.Millisecond)
	c.fwd.waitMetric(mQueued, 20*time.Second, func(v float64) bool { return v >= 8 }, "frames queued for the dead home")
	c.home.start()
	c.fwd.waitMetric(mQueued, 30*time.Second, func(v float64) bool { return v == 0 }, "the queue drained")
	c.fwd.waitMetric(mForwardedOK, 10*time.Second, func(v float64) bool { return v == 28 }, "each frame answered Success once")
	assert.Zero(t, c.home.metric(mCollapsedDup), "no uplink stored a second time")
	c.storedOnce(t, 28)
}

// A device heard by the home's own gateway and by the forwarder, whose
// link to the home is cut for a while: the frames the forwarder kept are
// older than those the home heard meanwhile; when the link returns they
// are stored with their own times, nothing twice. A replay of a stored
// frame through the peer link is refused (FrameReplayed) and counted, and
// a kept frame more than the window below is refused as too old.
func TestCountyLinkCutLateFrames(t *testing.T) {
	c := newCounty(t, 1, "")
	fwdRadio := newForwarder(t, c.fwd.udpPort, 1)
	homeRadio := newForwarder(t, c.home.udpPort, 2)
	fleet := c.home.fleet
	both := func(n int) {
		for range n {
			u := fleet.nextUplink(time.Time{})
			fwdRadio.push(u.phy, u.at)
			homeRadio.push(u.phy, u.at)
			time.Sleep(5 * time.Millisecond)
		}
	}
	both(3)
	c.home.waitMetric(mStored, 20*time.Second, func(v float64) bool { return v == 3 }, "heard by both: stored once each")
	held := fleet.nextUplink(time.Time{}) // heard by no gateway now
	const alone = 1030                    // the home hears more than the window's newer ones alone
	for range alone {
		u := fleet.nextUplink(time.Time{})
		homeRadio.push(u.phy, u.at)
		time.Sleep(time.Millisecond)
	}
	c.home.waitMetric(mStored, 60*time.Second, func(v float64) bool { return v == 3+alone }, "heard by the home alone")

	c.link.cut()
	fwdRadio.push(held.phy, held.at) // 1,031 below the latest when it arrives
	for range 5 {                    // only the forwarder hears these
		u := fleet.nextUplink(time.Time{})
		fwdRadio.push(u.phy, u.at)
		time.Sleep(5 * time.Millisecond)
	}
	c.fwd.waitMetric(mQueued, 20*time.Second, func(v float64) bool { return v == 6 }, "kept while the link is cut")
	for range 2 { // and the home hears newer ones directly meanwhile
		u := fleet.nextUplink(time.Time{})
		homeRadio.push(u.phy, u.at)
		time.Sleep(5 * time.Millisecond)
	}
	c.home.waitMetric(mStored, 20*time.Second, func(v float64) bool { return v == 3+alone+2 }, "heard directly during the cut")

	c.link.restore()
	c.fwd.waitMetric(mQueued, 30*time.Second, func(v float64) bool { return v == 0 }, "the queue drained")
	c.home.waitMetric(mStored, 20*time.Second, func(v float64) bool { return v == 3+alone+7 }, "the kept frames stored late")
	assert.Equal(t, 1.0, c.home.metric(mTooOld), "the held frame is below the window")
	assert.Equal(t, 1.0, c.home.metric(`loraedge_roaming_frames_received_total{peer="fwd",result="too_old"}`))

	// A genuine replay of a stored frame inside the window (one further
	// back is too old, counted as that).
	u, ok := fleet.sentAt(3 + alone + 2) // one the forwarder kept
	require.True(t, ok)
	fwdRadio.push(u.phy, u.at)
	c.fwd.waitMetric(mForwardedReplay, 10*time.Second, func(v float64) bool { return v == 2 }, "replay and too old refused, final")
	assert.Equal(t, 1.0, c.home.metric(`loraedge_roaming_frames_received_total{peer="fwd",result="replay"}`))
	assert.Zero(t, c.home.metric(mCollapsedDup), "no uplink stored a second time")
	assert.Zero(t, c.fwd.metric(mQueued))

	// The store: everything but the too old frame, each once.
	c.home.stop()
	got, _ := readStore(t, c.home.dataDir)
	assert.Equal(t, 3+alone+7, got.uplinks())
	_, present := got[fleet.devs[0].EUI.String()][held.at.UnixNano()]
	assert.False(t, present, "the too old frame is not stored")
}

// cutProxy is the TCP path from the forwarder to the home's peer link;
// cut closes it (refusing new connections, dropping open ones) and
// restore opens it again on the same address.
type cutProxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newCutProxy(t *testing.T, targetPort int) *cutProxy {
	p := &cutProxy{t: t, addr: fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)),
		target: fmt.Sprintf("127.0.0.1:%d", targetPort), conns: map[net.Conn]bool{}}
	p.restore()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(p.t, err)
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go p.serve(ln)
}

func (p *cutProxy) serve(ln net.Listener) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = true, true
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
		go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}
