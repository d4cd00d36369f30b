package basicstation

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brocaar/lorawan"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lines reads a test data file, one entry per line.
func lines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "station", name))
	require.NoError(t, err)
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// The messages Basics Station 2.0.6 itself sent in a session with loraedge
// (testdata/station/README.md) are replayed through the LNS: every one is
// accepted, each uplink is the very frame the simulated radio put on air,
// each downlink the LNS schedules lands where Basics Station transmitted
// it (its dntxed), and the dntxed confirm them.
func TestCapturedStationSession(t *testing.T) {
	router := lorawan.EUI64{7: 1} // the capture's routerid "::1"
	f := newFixture(t, func(c *Config) {
		c.Routers = append(c.Routers, RouterConfig{ID: router, Name: "basicstation-testsim"})
	})
	cert, _, _ := f.pki.ClientCert(t, "::1")
	r := f.connect(t, router, f.withCert(cert))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	radio := lines(t, "radio-frames.txt")
	transmitted := lines(t, "radio-transmitted.txt")
	upXTimes := map[int64]bool{}
	var ups, dns int
	for _, l := range lines(t, "router-messages.jsonl") {
		var m struct {
			MsgType string `json:"msgtype"`
			DIID    uint64 `json:"diid"`
			DR      int    `json:"DR"`
			Freq    uint32 `json:"Freq"`
			XTime   int64  `json:"xtime"`
			DevEUI  string `json:"DevEui"`
			UpInfo  struct {
				XTime int64 `json:"xtime"`
			} `json:"upinfo"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		if m.MsgType == msgDntxed {
			// Schedule what Basics Station then confirmed, as the network
			// layer would: at the xtime it transmitted.
			dr, ok := f.s.plan.dataRate(m.DR)
			require.True(t, ok)
			dev, err := parseEUI(m.DevEUI)
			require.NoError(t, err)
			pdu, err := hex.DecodeString(transmitted[dns])
			require.NoError(t, err)
			require.NoError(t, f.s.Send(Downlink{ID: m.DIID, RouterID: router, DevEUI: dev, PHYPayload: pdu,
				Frequency: m.Freq, DataRate: dr, Tmst: uint32(m.XTime)})) //nolint:gosec // low bits
			dn, err := r.Next(ctx, "dnmsg")
			require.NoError(t, err)
			x, err := dn["xtime"].(json.Number).Int64()
			require.NoError(t, err)
			delay, err := dn["RxDelay"].(json.Number).Int64()
			require.NoError(t, err)
			assert.True(t, upXTimes[x], "the dnmsg names an uplink's xtime")
			assert.Equal(t, m.XTime, x+delay*1_000_000, "Basics Station sent it at xtime + RxDelay")
			assert.Equal(t, transmitted[dns], dn["pdu"])
			dns++
		}
		require.NoError(t, r.SendRaw([]byte(l)))
		switch m.MsgType {
		case msgJreq, msgUpdf, msgPropdf:
			fr := nextFrame(t, f.s)
			assert.Equal(t, radio[ups], hex.EncodeToString(fr.PHYPayload), "uplink %d", ups)
			assert.Equal(t, uint32(m.UpInfo.XTime), fr.RxInfo.Tmst) //nolint:gosec // low bits
			upXTimes[m.UpInfo.XTime] = true
			ups++
		case msgTimesync:
			ts, err := r.Next(ctx, msgTimesync)
			require.NoError(t, err)
			assert.NotEmpty(t, ts["gpstime"])
		}
	}
	assert.Equal(t, len(radio), ups)
	assert.Equal(t, len(transmitted), dns)
	require.Eventually(t, func() bool { return testutil.ToFloat64(f.s.m.dntxed) == float64(dns) }, 5*time.Second, 10*time.Millisecond)
	for _, reason := range rejectReasons {
		assert.InDelta(t, 0, testutil.ToFloat64(f.s.m.rejected.WithLabelValues(reason)), 0, reason)
	}
	f.mu.Lock()
	assert.Equal(t, []uint64{1, 2, 3, 4}, f.dntxeds)
	f.mu.Unlock()
}
